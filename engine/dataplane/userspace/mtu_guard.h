#pragma once

// MtuGuard: whether an inner packet still fits the path after ESP, and what to do when it does
// not (RFC 4301 §8: path MTU and DF processing for IPsec).
//
// The path MTU toward a peer (the SA's outer addresses) comes from a PathMtuSource. In the
// daemon it is KernelPathMtu: the kernel's route toward the peer as our ESP sockets see it
// (bypass mark, pod_network.h), read with a connected UDP socket's IP_MTU / IPV6_MTU. That is the
// link MTU, any route `mtu` metric, and the path MTU the kernel learned from ICMP errors about our
// ESP packets (IPv4 raw and UDP sockets, IPv6 UDP sockets record "fragmentation needed" / "packet
// too big" for their destination; for IPv6 raw ESP KernelPathMtu learns it itself), so a smaller
// link further on is learned as well. Cached per worker and peer,
// read again after Options::refresh.
//
// The ESP packet's size is exact for the SA: outer IPv4/IPv6 header (tunnel; in transport mode
// the kernel writes one header of the same family), UDP 8 when encapsulated (RFC 3948), ESP
// header, IV, padding to the cipher block, trailer, ICV (esp::OutboundSa::ProtectedLength).
// An AH+ESP bundle (FAQ 46) adds its AH header after the outer header (`extra`: the AH SA's
// header size for the outer family, esp::AhOutboundSa::header_size), so the same arithmetic
// covers ESP + AH together.
// A packet that does not fit:
//   IPv4 with DF        dropped (too_big); ICMP "fragmentation needed" (RFC 792, RFC 1191 §4)
//                       with the largest inner packet that fits as next-hop MTU;
//   IPv4 without DF     sent: the outer ESP packet is fragmented by the kernel after IPsec
//                       (RFC 4301 §7: fragmentation after IPsec processing; our sockets leave
//                       DF off for packets over the path MTU), the peer reassembles it;
//   IPv6                dropped; ICMPv6 "packet too big" (RFC 4443 §3.2) with the largest inner
//                       packet that fits, when that is >= 1280. When not even 1280 octets fit,
//                       packets up to 1280 are sent (the outer packet is fragmented by us, RFC
//                       8200 §5: a tunnel must carry 1280) and larger ones get "packet too big"
//                       with 1280.
// ICMP errors are rate-limited per worker (token bucket, RFC 4443 §2.4(f)) and never sent about
// an ICMP error, a non-first fragment or a multicast/broadcast source (icmp_error.h). Their source
// address is the inner packet's destination (the pod's TUN has no address; the pod's own address
// would be a martian source on the way in).
//
// Threads: Check on worker `worker` only uses that worker's state (kWorkers slots); the source
// is called from the workers (KernelPathMtu keeps one socket per worker).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"
#include "engine/dataplane/backend.h"
#include "engine/dataplane/userspace/icmp_error.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/outbound_sa.h"

namespace ipsec::engine::dataplane::userspace {

class PathMtuSource {
 public:
  virtual ~PathMtuSource() = default;
  // The MTU of the path from `local` to `remote` (outer addresses), <= 0 when unknown.
  virtual int PathMtu(unsigned worker, const IpAddress& local, const IpAddress& remote) = 0;
};

// The kernel's route MTU toward `remote` with the bypass mark (see above). IPv6 raw sockets do
// not record "packet too big" for their destination unless they ask for errors (IPV6_RECVERR;
// Linux's rawv6_err returns before ip6_sk_update_pmtu), so for raw ESP over IPv6 the path MTU
// is also learned here: a raw ICMPv6 socket filtered to "packet too big", drained on each
// refresh; a message quoting one of our ESP packets (next header 50) lowers the MTU toward its
// destination for kLearnedLifetime (the kernel's net.ipv6.route.mtu_expires default).
class KernelPathMtu final : public PathMtuSource {
 public:
  static constexpr std::chrono::seconds kLearnedLifetime{600};
  KernelPathMtu();
  ~KernelPathMtu() override;
  int PathMtu(unsigned worker, const IpAddress& local, const IpAddress& remote) override;

 private:
  void DrainLocked(std::chrono::steady_clock::time_point now);
  std::mutex mu_;  // refreshes are rare (per peer and second, big packets only)
  int icmp6_fd_ = -1;
  struct Learned {
    int mtu;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<IpAddress, Learned> learned_;  // guarded by mu_
};

// An ICMPv6 "packet too big" as a raw ICMPv6 socket delivers it (from the ICMPv6 header on):
// when it quotes an ESP packet (RFC 4443 §3.2: the invoking packet follows the MTU), the quoted
// packet's destination and the MTU (at least 1280). Pure.
struct EspTooBig {
  IpAddress destination;
  int mtu = 0;
};
std::optional<EspTooBig> ParseEspPacketTooBig(ByteSpan icmpv6);

class MtuGuard {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr unsigned kWorkers = 8;  // >= userspace::kMaxWorkers (pipeline.cc checks)
  struct Options {
    Clock::duration refresh = std::chrono::seconds(1);
    double icmp_per_second = 20;
    double icmp_burst = 10;
    Clock::time_point (*now)() = &Clock::now;  // tests: a fake clock
  };

  explicit MtuGuard(std::unique_ptr<PathMtuSource> source) : MtuGuard(std::move(source), {}) {}
  MtuGuard(std::unique_ptr<PathMtuSource> source, Options options);

  struct Verdict {
    bool drop = false;  // too big: count it (too_big) and do not send it
    ByteSpan icmp;      // when not empty: the ICMP error to write to the TUN (worker's buffer,
                        // valid until the worker's next Check)
  };
  // `packet` (`length` octets, parsed as `info`) is about to be protected with `esp` for `sa`.
  // `extra`: octets added besides the outer header, UDP and ESP (a bundle's AH header).
  Verdict Check(unsigned worker, const SaConfig& sa, const esp::OutboundSa& esp,
                const uint8_t* packet, size_t length, const esp::IpPacketInfo& info,
                size_t extra = 0);

  // The ESP packet's length on the wire (outer IP header, UDP and `extra` included) for
  // `length` octets of inner packet whose IP header is `inner_header` octets.
  static size_t OuterLength(const SaConfig& sa, const esp::OutboundSa& esp, size_t length,
                            size_t inner_header, size_t extra = 0);
  // The largest inner packet whose ESP packet (plus `extra`) fits `path_mtu` (0: none).
  static size_t MaxInnerLength(const SaConfig& sa, const esp::OutboundSa& esp, size_t path_mtu,
                               size_t inner_header, size_t extra = 0);

  uint64_t icmp_sent() const;
  uint64_t icmp_suppressed() const;  // rate limit or not allowed (RFC 1122 §3.2.2)

 private:
  struct Key {
    IpAddress local, remote;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      const Uint128 v = k.remote.value() * 0x9E3779B97F4A7C15ull ^ k.local.value();
      return static_cast<size_t>(v ^ (v >> 64));
    }
  };
  struct Entry {
    int mtu = 0;
    Clock::time_point expires{};
  };
  struct alignas(64) Worker {
    Worker(double rate, double burst) : bucket(rate, burst) {}
    std::unordered_map<Key, Entry, KeyHash> cache;
    TokenBucket bucket;
    uint8_t icmp[kMaxIcmpErrorSize] = {};
    std::atomic<uint64_t> sent{0}, suppressed{0};
  };
  int PathMtuFor(Worker& w, unsigned worker, const SaConfig& sa, Clock::time_point now);

  std::unique_ptr<PathMtuSource> source_;
  Options options_;
  std::unique_ptr<Worker> workers_[kWorkers];
};

}  // namespace ipsec::engine::dataplane::userspace
