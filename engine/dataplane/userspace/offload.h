#pragma once

// offload: the TUN's virtio-net offloads in user space (pure functions, no I/O).
//
// With IFF_VNET_HDR every TUN read and write carries a 10-octet struct virtio_net_hdr
// (linux/virtio_net.h, legacy layout, host byte order) before the IP packet. With TUNSETOFFLOAD
// TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 (| TUN_F_USO4 | TUN_F_USO6) the kernel hands us
//   * "super-packets" of up to 64 KB (gso_type TCPV4/TCPV6/UDP_L4, gso_size the segment size):
//     one IP + TCP/UDP header, then the payload of many segments. SplitPlan/WriteSegment cut
//     them into ordinary packets as the kernel's own GSO would (RFC 9293 §3.1 header fields,
//     RFC 791 / RFC 8200 lengths, fresh checksums);
//   * packets with a partial checksum (flags NEEDS_CSUM: the field holds the pseudo-header
//     sum; the sum from csum_start on must be completed): completed in place by SplitPlan.
// Inbound, TcpCoalescer merges the decrypted TCP segments of one flow into one super-packet
// (gso_type TCPV4/TCPV6, NEEDS_CSUM: the kernel trusts the checksum; each merged segment's
// checksum was verified here first) so one TUN write carries up to 64 KB (GRO).
//
// Bad input (a malformed header, gso_size 0, a segment that cannot fit, an unknown gso_type)
// gives nullopt: the caller counts a drop. Never reads or writes outside the given lengths.

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace ipsec::engine::dataplane::userspace::offload {

inline constexpr size_t kVnetHdrSize = 10;  // sizeof(struct virtio_net_hdr)
inline constexpr uint8_t kFlagNeedsCsum = 1;
inline constexpr uint8_t kFlagDataValid = 2;
inline constexpr uint8_t kGsoNone = 0;
inline constexpr uint8_t kGsoTcpv4 = 1;
inline constexpr uint8_t kGsoUdp = 3;  // UFO: never requested, refused
inline constexpr uint8_t kGsoTcpv6 = 4;
inline constexpr uint8_t kGsoUdpL4 = 5;  // USO (Linux 6.2)
inline constexpr uint8_t kGsoEcn = 0x80;
inline constexpr size_t kMaxIpPacket = 65535;

struct VnetHdr {
  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};
VnetHdr DecodeVnetHdr(const uint8_t* p);  // p: kVnetHdrSize octets
void EncodeVnetHdr(const VnetHdr& h, uint8_t* p);

// The Internet checksum's one's-complement sum (RFC 1071), folded to 16 bits, not complemented,
// continuing `initial`; as a big-endian value. Fast (64-bit accumulation of 32-bit loads).
uint16_t Sum(const uint8_t* data, size_t length, uint16_t initial = 0);
// The TCP/UDP pseudo-header's sum (RFC 9293 §3.1, RFC 8200 §8.1) for the IP header at `ip`.
uint16_t PseudoHeaderSum(const uint8_t* ip, bool v4, uint8_t protocol, size_t l4_length);

// How to cut one packet read from the TUN.
struct SplitPlan {
  bool gso = false;  // false: the packet as it is (checksum completed); true: WriteSegment each
  bool v4 = true;
  uint8_t protocol = 0;      // 6 or 17 when segments > 1
  size_t ip_header = 0;      // octets
  size_t header_length = 0;  // IP + TCP/UDP header: copied into every segment
  size_t gso_size = 0;       // payload octets per segment (the last may be shorter)
  size_t payload = 0;        // total payload octets after header_length
  size_t segments = 1;
  size_t max_segment = 0;  // the largest segment's length: header_length + gso_size
};

// Validates `packet` (`length` octets, the IP packet after the vnet header) against `h`. A
// non-GSO packet with NEEDS_CSUM has its checksum completed in place. nullopt: malformed.
std::optional<SplitPlan> PlanSplit(const VnetHdr& h, uint8_t* packet, size_t length);
// Writes segment `index` (< plan.segments) of `packet` to `out` (room for plan.max_segment
// octets): headers adjusted (IPv4 total length, id + index and header checksum / IPv6 payload
// length; TCP sequence number, FIN and PSH only on the last, CWR only on the first; UDP length),
// TCP/UDP checksum computed in full. Returns its length.
size_t WriteSegment(const SplitPlan& plan, const uint8_t* packet, size_t index, uint8_t* out);
// The largest plan.header_length: IPv4 with options (60) + TCP with options (60).
inline constexpr size_t kMaxSegmentHeader = 120;
// As WriteSegment without the payload: writes only the segment's plan.header_length header
// octets to `out` (room for kMaxSegmentHeader), checksum included (computed over the payload
// where it lies in `packet`). The payload is packet[plan.header_length + index *
// plan.gso_size, + returned length - plan.header_length). Returns the segment's length.
size_t WriteSegmentHeader(const SplitPlan& plan, const uint8_t* packet, size_t index, uint8_t* out);

// GRO for TUN writes: merges consecutive TCP segments of one flow; everything else passes
// through unchanged with a zero vnet header. Merge rules: IPv4 without options and not a
// fragment, or IPv6 with TCP as the next header; payload > 0; flags only ACK, PSH, ECE and
// equal to the first segment's (PSH aside, which closes the super-packet); the same addresses,
// ports, ack number, TCP options, TOS/TTL/DF (IPv4) or version/class/flow label/hop limit
// (IPv6); sequence number = the previous end; every segment as long as the first, the last may
// be shorter (which closes it); a valid checksum; at most kMaxIpPacket octets and
// kMaxSegments segments in all.
// No copy of the payloads (issue 4): a super-packet is written as its (copied, fixed-up) header
// and the segments' payloads where they lie (Sink::WriteV, one writev on the TUN).
class TcpCoalescer {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void Write(const VnetHdr& h, const uint8_t* packet, size_t length) = 0;
    // One packet of `length` octets in `count` pieces. By default gathered and passed to Write.
    virtual void WriteV(const VnetHdr& h, const iovec* iov, size_t count, size_t length);
  };
  static constexpr size_t kFlows = 8;  // super-packets open at once (flows interleave)
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxHeader = 128;  // IPv6 (40) + TCP with options (60), with room

  TcpCoalescer();
  // Takes `packet`, BORROWED: when kept it must stay alive and unchanged until Flush (the
  // data path flushes at the end of each receive batch, whose buffers hold the packets). May
  // write earlier packets to `sink` first.
  void Add(const uint8_t* packet, size_t length, Sink& sink);
  // Writes every open super-packet (end of a receive batch).
  void Flush(Sink& sink);

  // Segments appended to an earlier one (readable from any thread).
  uint64_t merged() const { return merged_.load(std::memory_order_relaxed); }

 private:
  struct Flow {
    std::array<uint8_t, kMaxHeader> hdr;      // the first segment's IP + TCP header
    std::array<iovec, kMaxSegments> payload;  // each segment's payload, borrowed
    size_t length = 0;                        // of the IP packet so far; 0: the slot is free
    bool v4 = true;
    size_t ip_header = 0, tcp_header = 0, gso_size = 0, count = 0;
    uint32_t next_seq = 0;
    bool closed = false;
  };
  void Emit(Flow& f, Sink& sink);
  void Start(Flow& f, const uint8_t* packet, size_t length, bool v4, size_t ip_header,
             size_t tcp_header);
  std::array<Flow, kFlows> flows_;
  size_t next_victim_ = 0;
  std::atomic<uint64_t> merged_{0};  // one writer (the owner thread)
};

}  // namespace ipsec::engine::dataplane::userspace::offload
