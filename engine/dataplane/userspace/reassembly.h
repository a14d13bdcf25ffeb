#pragma once

// Reassembly of the IP fragments the pod's kernel sends into the TUN, before they are
// classified and protected.
//
// Why: the pod's kernel fragments a datagram larger than the TUN's MTU (a big UDP datagram or
// ping) before we see it. Transport-mode ESP and AH apply only to whole datagrams (RFC 4303
// §3.1.1, RFC 4302 §3.1.1: "not to IP fragments"); a bump-in-the-stack implementation such as
// ours "may require ... extra IP reassembly/fragmentation" (RFC 4303 §3.1.1) to be transparent.
// Non-initial fragments also carry no ports, so a filter with ports (a DNS exemption) could
// classify a datagram's fragments differently (RFC 4301 §7). So every fragment is reassembled
// first; the whole datagram is classified once and protected once, and the kernel fragments
// the outer ESP packet after IPsec processing (RFC 4301 §7, RFC 8200 §5).
//
// Rules: IPv4 per RFC 791 §3.2 (key: source, destination, protocol, identification); IPv6 per
// RFC 8200 §4.5 (key: source, destination, identification; the unfragmentable part is taken
// from the first fragment). Overlapping fragments discard the whole datagram (RFC 5722 for
// IPv6; likewise for IPv4, RFC 1858's overlap attacks); an exact duplicate is ignored. A
// datagram not complete within `timeout` is discarded (RFC 791 suggests 15 s). Bounded: at
// most `max_datagrams` in progress and `max_bytes` held; a fragment that would exceed either
// first evicts the oldest datagram.
//
// Thread-safe (a mutex): fragments are rare and a datagram's fragments may arrive on any TX
// worker.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"
#include "engine/esp/ip_packet.h"

namespace ipsec::engine::dataplane::userspace {

class Reassembler {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    size_t max_datagrams = 64;
    size_t max_bytes = size_t{4} << 20;
    Clock::duration timeout = std::chrono::seconds(15);
  };
  Reassembler() : Reassembler(Limits{}) {}
  explicit Reassembler(Limits limits) : limits_(limits) {}

  struct Outcome {
    size_t length = 0;  // > 0: the whole datagram was written to `out`
    // Fragments dropped by this call: the fragment itself when malformed, plus every
    // fragment of datagrams discarded (overlap, timeout, eviction, too large for `out`).
    size_t dropped = 0;
    // With a datagram: its largest fragment (total length), the size the pod's kernel cut to,
    // for sockets that send whole IP packets and cannot fragment them (ForEachFragment).
    size_t max_fragment = 0;
  };
  // `packet` is one fragment (info.is_fragment) as ParseIpPacket saw it. When it completes a
  // datagram, writes the datagram (a valid IPv4 header with MF/offset cleared and a new
  // checksum, or IPv6 without the fragment header) to `out` and returns its length.
  Outcome Add(ByteSpan packet, const esp::IpPacketInfo& info, Clock::time_point now, uint8_t* out,
              size_t capacity);

  size_t in_progress() const;

 private:
  struct Key {
    IpAddress source, destination;
    uint32_t id = 0;
    uint8_t protocol = 0;  // IPv4 only (RFC 791); 0 for IPv6
    bool operator==(const Key&) const = default;
  };
  struct Range {
    size_t begin = 0, end = 0;  // octets of the fragmentable part
  };
  struct Datagram {
    Key key;
    Clock::time_point deadline;
    std::vector<uint8_t> header;  // IPv4 header / IPv6 unfragmentable part (first fragment)
    size_t next_header_at = 0;    // IPv6: where the unfragmentable part's last Next Header is
    uint8_t next_header = 0;      // IPv6: the fragment header's Next Header (first fragment)
    std::vector<uint8_t> data;    // the fragmentable part, as far as known
    std::vector<Range> ranges;    // received, sorted, disjoint
    size_t total = 0;             // fragmentable length once the last fragment came (0: not yet)
    size_t fragments = 0;
    size_t max_fragment = 0;
  };
  struct Fragment {
    Key key;
    size_t offset = 0;          // in octets
    bool more = false;          // MF / M flag
    size_t header_length = 0;   // IPv4 header, or IPv6 up to and including the fragment header
    size_t unfragmentable = 0;  // IPv6: octets before the fragment header
    size_t next_header_at = 0;  // IPv6: the Next Header field that names the fragment header
    uint8_t next_header = 0;    // IPv6: the fragment header's Next Header
  };
  static bool Parse(ByteSpan packet, const esp::IpPacketInfo& info, Fragment& f);
  size_t Discard(std::list<Datagram>::iterator it);  // returns its fragment count
  size_t Expire(Clock::time_point now);
  size_t Write(const Datagram& d, uint8_t* out, size_t capacity) const;

  const Limits limits_;
  mutable std::mutex mu_;
  std::list<Datagram> datagrams_;  // oldest first
  size_t bytes_ = 0;
};

// Cuts the whole IP packet `packet` (IPv4, or IPv6 with no fragment header) into fragments of
// at most `max_size` octets and hands each to `sink` (RFC 791 §3.2: the header copied, MF and
// the offset set, options not copied after the first (only those with the copied flag would
// be; we keep none in later fragments); RFC 8200 §4.5: the unfragmentable part (hop-by-hop,
// routing) copied, a fragment header with `ipv6_id`). For header-included raw sockets, which
// do not fragment: our AH packets and datagrams sent on in clear after reassembly (RFC 4301
// §7, fragmentation after IPsec processing). A packet that fits is handed over as it is.
// false when it cannot be cut (IPv4 DF set, headers leave no room for 8 octets of payload) or
// `sink` refused a fragment.
bool ForEachFragment(const uint8_t* packet, size_t length, size_t max_size, uint32_t ipv6_id,
                     const std::function<bool(const uint8_t*, size_t)>& sink);

}  // namespace ipsec::engine::dataplane::userspace
