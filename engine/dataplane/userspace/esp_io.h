#pragma once

// EspIo: the data path's sockets, and PacketIo over them and the TUN.
//
//   raw ESP      SOCK_RAW IPPROTO_ESP (IPv4 and IPv6): every IP protocol 50 packet of the pod
//                (the kernel has no ESP of its own here, LAB-NOTES.md), and raw ESP out.
//   ESP-in-UDP   SOCK_DGRAM on the NAT-T port, joined to the SO_REUSEPORT group whose first
//                member is IKE's socket (engine/net/udp_socket.h). A classic BPF program
//                (SO_ATTACH_REUSEPORT_CBPF; for UDP it sees the payload at offset 0) sends
//                datagrams that start with the non-ESP marker, NAT keepalives (1 octet) and
//                anything shorter than 4 octets to member 0 (IKE), ESP (a non-zero SPI,
//                RFC 3948 §2.1) to member 1 (us). IKE's thread never sees ESP.
//   clear        SOCK_RAW IPPROTO_RAW (header included): permitted packets that reached the
//                TUN, sent on with the bypass mark so routing does not bring them back.
// Every socket carries SO_MARK kBypassMark (pod_network.h: such packets skip the TUN's table).
//
// Receive: recvmmsg batches; the ESP-in-UDP sockets have UDP_GRO (a datagram may hold several
// ESP packets of the cmsg's segment size, the last may be shorter: split here). Send: ESP
// sendmmsg batches per worker (Flush), else sendmsg; with the SA's local address as the source
// (IP_PKTINFO / IPV6_PKTINFO). ESP-in-UDP uses UDP GSO (UDP_SEGMENT cmsg): consecutive packets
// of one batch to the same peer with the same length (the last may be shorter), at most 64 and
// 64 KB, go as one message; the kernel cuts them. A message refused with EMSGSIZE/EINVAL (a
// segment over the path MTU) is sent one packet per message instead, which the kernel may
// fragment (RFC 4301 §7), and that peer's longer packets skip GSO for 1 s; EIO/ENOPROTOOPT
// switch GSO off.
// Deliver (ESP -> TUN), with the TUN's offloads: offload::TcpCoalescer per worker merges TCP
// segments of a flow into one super-packet written at Flush (GRO), one writev of its header and
// the segments' payloads where they lie (no copy: a TCP packet handed to Deliver must stay
// alive and unchanged until Flush of that worker, as the receive batch's buffers do); else one
// write per packet.
// Threads: Receive* on one thread per socket; sends and Deliver from any, per worker index.

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "engine/common/result.h"
#include "engine/dataplane/userspace/offload.h"
#include "engine/dataplane/userspace/pipeline.h"
#include "engine/dataplane/userspace/tun_device.h"

namespace ipsec::engine::dataplane::userspace {

class EspIo final : public PacketIo {
 public:
  struct Options {
    uint16_t nat_t_port = 0;  // 0: no ESP-in-UDP socket (no IKE NAT-T socket to join)
    bool ipv6 = true;         // also the IPv6 sockets (when the kernel has IPv6)
    bool udp_gso = true;      // UDP_SEGMENT for ESP-in-UDP out (when the kernel has it)
    bool udp_gro = true;      // UDP_GRO on the ESP-in-UDP sockets
  };
  // Not owned: `tun` outlives this object.
  static Result<std::unique_ptr<EspIo>> Open(const Options& options, TunDevice& tun);
  ~EspIo() override;

  // The receive descriptors, for poll.
  std::vector<int> receive_fds() const;

  // Reads every waiting packet of `fd` (at most `batch` per call) and hands each to `inbound`
  // as (buffer, offset of the ESP packet, its length, outer source). Returns the count of
  // datagrams read (a UDP GRO datagram is handed over as its segments).
  template <typename F>
  size_t Receive(int fd, F&& inbound);

  // Batched per worker (sendmmsg at Flush, or when the batch is full or changes socket).
  bool SendEsp(unsigned worker, const SaConfig& sa, const uint8_t* esp, size_t length) override;
  // The worker's next send-batch slot (flushing a full batch, or one for another socket,
  // first); null when `max_length` exceeds a slot. CommitEsp adds it to the batch as SendEsp
  // would (UDP GSO grouping included).
  uint8_t* ReserveEsp(unsigned worker, const SaConfig& sa, size_t max_length) override;
  bool CommitEsp(unsigned worker, const SaConfig& sa, size_t length) override;
  // Sends the worker's ESP batch and writes its coalesced TUN packets.
  void Flush(unsigned worker) override;
  uint64_t send_errors() const { return send_errors_.load(std::memory_order_relaxed); }
  bool SendClear(unsigned worker, const uint8_t* packet, size_t length) override;
  bool Deliver(unsigned worker, const uint8_t* packet, size_t length) override;

  static constexpr size_t kBatch = 32;
  static constexpr size_t kRxBufferSize = kHeadroom + 65536 + kTailroom;
  static constexpr size_t kMaxGsoSegments = 64;
  static constexpr size_t kMaxGsoBytes = 65000;  // one UDP datagram's payload, with margin

  struct OffloadStats {
    uint64_t gso_messages = 0;   // UDP GSO messages sent (each >= 2 ESP packets)
    uint64_t gso_segments = 0;   // ESP packets in them
    uint64_t gro_datagrams = 0;  // UDP GRO datagrams received holding >= 2 ESP packets
    uint64_t gro_segments = 0;
    uint64_t tun_merged = 0;  // inner TCP segments merged into an earlier one (TUN GRO)
  };
  OffloadStats offload_stats() const;

 private:
  enum class Kind { kRaw4, kRaw6, kUdp4, kUdp6 };
  struct Socket {
    int fd = -1;
    Kind kind = Kind::kRaw4;
  };
  EspIo(TunDevice& tun) : tun_(tun) {}
  size_t ReceiveBatch(const Socket& s,
                      void (*cb)(void*, uint8_t*, size_t, size_t, const IpAddress&), void* ctx);

  TunDevice& tun_;
  std::atomic<bool> udp_gso_{true};  // cleared when the kernel refuses UDP_SEGMENT
  std::vector<Socket> rx_;
  int raw4_ = -1, raw6_ = -1, udp4_ = -1, udp6_ = -1, clear4_ = -1, clear6_ = -1;
  // RX thread only: the batch buffers.
  std::vector<uint8_t> rx_buffers_;
  struct TxBatch {
    static constexpr size_t kSlots = 128;
    static constexpr size_t kSlot = 2048;  // a TUN-MTU packet with ESP's overhead fits
    static constexpr size_t kControl =
        CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t));
    std::vector<uint8_t> data = std::vector<uint8_t>(kSlots * kSlot);
    mmsghdr msgs[kSlots];
    iovec iovs[kSlots];  // one per slot; a GSO message spans consecutive ones
    sockaddr_storage names[kSlots];
    alignas(cmsghdr) uint8_t control[kSlots][kControl];
    size_t segments[kSlots];  // per message
    int fd = -1;
    size_t count = 0;     // slots used
    size_t messages = 0;  // messages built
    // The last message, while more packets may join it (UDP GSO).
    bool open = false;
    size_t segment_size = 0, message_bytes = 0;
    IpAddress local, remote;
    uint16_t port = 0;
    // Peers toward which UDP GSO was refused for segments over `limit` octets (the path MTU
    // is smaller: see Flush); their longer packets go as messages of their own until `until`,
    // then GSO is tried again (the path MTU may have grown). Usually empty.
    struct GsoLimit {
      IpAddress remote;
      size_t limit = 0;
      std::chrono::steady_clock::time_point until;
    };
    std::vector<GsoLimit> gso_limits;
  };
  // Deliver's state per worker (created on first use).
  struct RxDeliver final : offload::TcpCoalescer::Sink {
    RxDeliver(EspIo& io, int queue) : io(io), queue(queue) {}
    void Write(const offload::VnetHdr& h, const uint8_t* packet, size_t length) override;
    void WriteV(const offload::VnetHdr& h, const iovec* iov, size_t count, size_t length) override;
    EspIo& io;
    int queue;
    offload::TcpCoalescer gro;
  };
  void SendOneByOne(TxBatch& b, size_t message);
  static bool GsoAllowed(TxBatch& b, const IpAddress& remote, size_t segment);
  std::vector<std::unique_ptr<TxBatch>> tx_;  // per worker index; each used by its thread only
  std::vector<std::unique_ptr<RxDeliver>> rx_deliver_;  // per worker index, likewise
  std::atomic<uint64_t> gso_messages_{0}, gso_segments_{0}, gro_datagrams_{0}, gro_segments_{0};
  std::atomic<uint64_t> send_errors_{0};
};

template <typename F>
size_t EspIo::Receive(int fd, F&& inbound) {
  for (const Socket& s : rx_) {
    if (s.fd != fd) continue;
    return ReceiveBatch(
        s,
        [](void* ctx, uint8_t* buffer, size_t offset, size_t length, const IpAddress& from) {
          (*static_cast<std::remove_reference_t<F>*>(ctx))(buffer, offset, length, from);
        },
        &inbound);
  }
  return 0;
}

}  // namespace ipsec::engine::dataplane::userspace
