#include "engine/dataplane/userspace/mtu_guard.h"

#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/dataplane/userspace/pod_network.h"
#include "engine/esp/esp_wire.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

// A packet whose ESP packet is at most this long is never checked: every IPv6 link carries
// 1280 octets (RFC 8200 §5), and an IPv4 path below that is left to the kernel's fragmentation
// of the outer packet (RFC 4301 §7). Keeps small packets off the cache.
constexpr size_t kAlwaysFits = kIpv6MinMtu;
constexpr size_t kMaxCacheEntries = 4096;  // per worker; cleared when full

size_t OuterHeader(const SaConfig& sa) {
  return (sa.remote.address.is_v4() ? esp::kIpv4HeaderSize : esp::kIpv6HeaderSize) +
         (sa.udp_encapsulation ? esp::kUdpEncapHeaderSize : 0);
}

int RouteMtu(const IpAddress& remote);

}  // namespace

std::optional<EspTooBig> ParseEspPacketTooBig(ByteSpan m) {
  // RFC 4443 §3.2: type 2, code 0, checksum, MTU, then the invoking packet (RFC 8200 §3 header).
  constexpr size_t kQuoted = 8;
  if (m.size() < kQuoted + esp::kIpv6HeaderSize || m[0] != kIcmpv6PacketTooBig) return {};
  const uint8_t* ip = m.data() + kQuoted;
  if ((ip[0] >> 4) != 6 || ip[6] != esp::kNextHeaderEsp) return {};
  EspTooBig t;
  t.destination = IpAddress::FromV6Bytes(ip + 24);
  t.mtu = static_cast<int>(std::max<uint32_t>(esp::Load32(m.data() + 4), kIpv6MinMtu));
  return t;
}

KernelPathMtu::KernelPathMtu() {
  icmp6_fd_ = ::socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (icmp6_fd_ < 0) return;  // no IPv6 or no CAP_NET_RAW: the route MTU alone
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
  ::setsockopt(icmp6_fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
}

KernelPathMtu::~KernelPathMtu() {
  if (icmp6_fd_ >= 0) ::close(icmp6_fd_);
}

void KernelPathMtu::DrainLocked(std::chrono::steady_clock::time_point now) {
  if (icmp6_fd_ < 0) return;
  uint8_t buffer[kIpv6MinMtu];
  for (int i = 0; i < 256; ++i) {
    const ssize_t n = ::recv(icmp6_fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n <= 0) break;
    auto t = ParseEspPacketTooBig(ByteSpan(buffer, static_cast<size_t>(n)));
    if (!t) continue;
    if (learned_.size() >= 4096) learned_.clear();
    learned_[t->destination] = {t->mtu, now + kLearnedLifetime};
  }
}

int KernelPathMtu::PathMtu(unsigned worker, const IpAddress& local, const IpAddress& remote) {
  (void)worker;
  (void)local;  // the route is by destination and mark, as our unbound ESP sockets get it
  int learned = 0;
  if (!remote.is_v4()) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    DrainLocked(now);
    auto it = learned_.find(remote);
    if (it != learned_.end()) {
      if (now < it->second.expires) {
        learned = it->second.mtu;
      } else {
        learned_.erase(it);
      }
    }
  }
  const int route = RouteMtu(remote);
  if (learned > 0 && (route <= 0 || learned < route)) return learned;
  return route;
}

namespace {

int RouteMtu(const IpAddress& remote) {
  // The route our unbound ESP sockets get: by destination and mark.
  const bool v4 = remote.is_v4();
  const int fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return 0;
  // The route our ESP takes: the bypass mark skips the TUN's table (pod_network.h).
  const uint32_t mark = kBypassMark;
  ::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
  const auto bytes = remote.ToBytes();
  sockaddr_storage ss{};
  socklen_t len;
  if (v4) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(4500);
    std::memcpy(&a->sin_addr, bytes.data(), 4);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(4500);
    std::memcpy(&a->sin6_addr, bytes.data(), 16);
    len = sizeof(*a);
  }
  int mtu = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    socklen_t n = sizeof(mtu);
    if (::getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU : IPV6_MTU, &mtu, &n) != 0) {
      mtu = 0;
    }
  }
  ::close(fd);
  return mtu;
}

}  // namespace

MtuGuard::MtuGuard(std::unique_ptr<PathMtuSource> source, Options options)
    : source_(std::move(source)), options_(options) {
  for (auto& w : workers_) {
    w = std::make_unique<Worker>(options_.icmp_per_second, options_.icmp_burst);
  }
}

size_t MtuGuard::OuterLength(const SaConfig& sa, const esp::OutboundSa& esp, size_t length,
                             size_t inner_header, size_t extra) {
  if (sa.mode == SaMode::kTransport) {
    // RFC 4303 §3.1.1: ESP follows the IP header; the kernel writes a fresh outer header.
    return OuterHeader(sa) + extra + esp.ProtectedLength(length - inner_header);
  }
  return OuterHeader(sa) + extra + esp.ProtectedLength(length);
}

size_t MtuGuard::MaxInnerLength(const SaConfig& sa, const esp::OutboundSa& esp, size_t path_mtu,
                                size_t inner_header, size_t extra) {
  const size_t outer = OuterHeader(sa) + extra;
  if (path_mtu <= outer) return 0;
  const size_t payload = esp.MaxPayloadFor(path_mtu - outer);
  if (payload == 0) return 0;
  return sa.mode == SaMode::kTransport ? payload + inner_header : payload;
}

int MtuGuard::PathMtuFor(Worker& w, unsigned worker, const SaConfig& sa, Clock::time_point now) {
  const Key key{sa.local.address, sa.remote.address};
  auto it = w.cache.find(key);
  if (it != w.cache.end() && now < it->second.expires) return it->second.mtu;
  if (it == w.cache.end()) {
    if (w.cache.size() >= kMaxCacheEntries) w.cache.clear();
    it = w.cache.emplace(key, Entry{}).first;
  }
  it->second.mtu = source_ ? source_->PathMtu(worker, sa.local.address, sa.remote.address) : 0;
  it->second.expires = now + options_.refresh;
  return it->second.mtu;
}

MtuGuard::Verdict MtuGuard::Check(unsigned worker, const SaConfig& sa, const esp::OutboundSa& esp,
                                  const uint8_t* packet, size_t length,
                                  const esp::IpPacketInfo& info, size_t extra) {
  Verdict v;
  const size_t inner_header = info.header_length;  // transport mode protects what follows it
  if (length < inner_header) return v;
  const size_t outer_length = OuterLength(sa, esp, length, inner_header, extra);
  if (outer_length <= kAlwaysFits) return v;
  Worker& w = *workers_[worker % kWorkers];
  const Clock::time_point now = options_.now();
  const int mtu = PathMtuFor(w, worker, sa, now);
  if (mtu <= 0 || outer_length <= static_cast<size_t>(mtu)) return v;  // fits, or unknown
  const size_t max_inner = MaxInnerLength(sa, esp, static_cast<size_t>(mtu), inner_header, extra);
  size_t report = max_inner;
  if (info.family == IpFamily::kV4) {
    // RFC 791: DF clear -> may be fragmented: the outer packet is, after ESP (RFC 4301 §7).
    if ((esp::Load16(packet + 6) & 0x4000) == 0) return v;
  } else if (max_inner < kIpv6MinMtu) {
    // RFC 8200 §5: 1280 octets must get through; the outer packet is fragmented for them.
    if (length <= kIpv6MinMtu) return v;
    report = kIpv6MinMtu;
  }
  v.drop = true;
  const ByteSpan original(packet, length);
  if (!MayReplyWithIcmpError(original) || !w.bucket.Take(now)) {
    w.suppressed.fetch_add(1, std::memory_order_relaxed);
    return v;
  }
  const size_t n =
      info.family == IpFamily::kV4
          ? BuildIcmpv4FragNeeded(original, static_cast<uint16_t>(std::min<size_t>(report, 0xFFFF)),
                                  info.destination, w.icmp, sizeof(w.icmp))
          : BuildIcmpv6PacketTooBig(original, static_cast<uint32_t>(report), info.destination,
                                    w.icmp, sizeof(w.icmp));
  if (n == 0) {
    w.suppressed.fetch_add(1, std::memory_order_relaxed);
    return v;
  }
  w.sent.fetch_add(1, std::memory_order_relaxed);
  v.icmp = ByteSpan(w.icmp, n);
  return v;
}

uint64_t MtuGuard::icmp_sent() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->sent.load(std::memory_order_relaxed);
  return n;
}

uint64_t MtuGuard::icmp_suppressed() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->suppressed.load(std::memory_order_relaxed);
  return n;
}

}  // namespace ipsec::engine::dataplane::userspace
