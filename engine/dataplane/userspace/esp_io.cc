#include "engine/dataplane/userspace/esp_io.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "engine/dataplane/userspace/pod_network.h"
#include "engine/esp/ip_packet.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace ipsec::engine::dataplane::userspace {
namespace {

Error SysError(const std::string& what, int error) {
  return MakeError(ErrorCode::kUnavailable, what + ": " + std::strerror(error));
}

int Open(int family, int type, int protocol) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -errno;
  const uint32_t mark = kBypassMark;
  if (::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
    const int e = errno;
    ::close(fd);
    return -e;
  }
  const int size = 4 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  return fd;
}

// The reuseport steering program (see esp_io.h). A = the UDP payload's length; A < 4: member
// 0; A = the first 32-bit word; 0 (the non-ESP marker, RFC 3948 §2.2): member 0; else 1. A load
// past the end aborts the program with 0, which is IKE's member too.
Status AttachSteering(int fd) {
  static sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 1),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0) {
    return SysError("SO_ATTACH_REUSEPORT_CBPF", errno);
  }
  return Status::Ok();
}

Result<int> OpenUdp(int family, uint16_t port, bool gro) {
  int fd = Open(family, SOCK_DGRAM, IPPROTO_UDP);
  if (fd < 0) return SysError("UDP socket", -fd);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    len = sizeof(*a);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd);
    return SysError("bind ESP-in-UDP to the NAT-T port " + std::to_string(port) +
                        " (IKE's socket must have SO_REUSEPORT)",
                    e);
  }
  if (Status s = AttachSteering(fd); !s.ok()) {
    ::close(fd);
    return s.error();
  }
  // UDP GRO (Linux 5.0): a datagram may hold several ESP packets; best effort.
  if (gro) ::setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one));
  return fd;
}

socklen_t ToSockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  const auto bytes = a.ToBytes();
  if (a.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    std::memcpy(&s->sin_addr, bytes.data(), 4);
    return sizeof(*s);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(port);
  std::memcpy(&s->sin6_addr, bytes.data(), 16);
  return sizeof(*s);
}

IpAddress FromSockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    return IpAddress::FromV4Bytes(reinterpret_cast<const uint8_t*>(&s->sin_addr));
  }
  const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
  return IpAddress::FromV6Bytes(s->sin6_addr.s6_addr);
}

// Fills `msg` to send `data` to `to`:`port` from `source` (unspecified: the kernel's choice).
// `dst`, `iov` and `control` (CMSG_SPACE(in6_pktinfo) octets) must outlive the send.
void FillMsg(msghdr& msg, sockaddr_storage& dst, iovec& iov, uint8_t* control,
             const IpAddress& source, const IpAddress& to, uint16_t port, const uint8_t* data,
             size_t length) {
  const socklen_t dst_len = ToSockaddr(to, port, dst);
  iov = {const_cast<uint8_t*>(data), length};
  msg = {};
  msg.msg_name = &dst;
  msg.msg_namelen = dst_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const auto bytes = source.ToBytes();
  const bool unspecified = source.value() == 0;
  if (unspecified || source.family() != to.family()) return;
  std::memset(control, 0, CMSG_SPACE(sizeof(in6_pktinfo)));
  msg.msg_control = control;
  if (source.is_v4()) {
    msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    std::memcpy(&info.ipi_spec_dst, bytes.data(), 4);
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  } else {
    msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    std::memcpy(&info.ipi6_addr, bytes.data(), 16);
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  }
}

// sendmsg with the source address chosen (an unspecified one: the kernel's choice).
bool SendFrom(int fd, const IpAddress& source, const IpAddress& to, uint16_t port,
              const uint8_t* data, size_t length) {
  if (fd < 0) return false;
  sockaddr_storage dst;
  iovec iov;
  msghdr msg;
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo))];
  FillMsg(msg, dst, iov, control, source, to, port, data, length);
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(length);
}

}  // namespace

Result<std::unique_ptr<EspIo>> EspIo::Open(const Options& options, TunDevice& tun) {
  std::unique_ptr<EspIo> io(new EspIo(tun));
  io->raw4_ = userspace::Open(AF_INET, SOCK_RAW, IPPROTO_ESP);
  if (io->raw4_ < 0) return SysError("raw ESP socket (needs CAP_NET_RAW)", -io->raw4_);
  io->rx_.push_back({io->raw4_, Kind::kRaw4});
  io->clear4_ = userspace::Open(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (io->clear4_ < 0) return SysError("raw IPv4 socket", -io->clear4_);
  if (options.ipv6) {
    io->raw6_ = userspace::Open(AF_INET6, SOCK_RAW, IPPROTO_ESP);
    if (io->raw6_ >= 0) {
      const int one = 1;
      ::setsockopt(io->raw6_, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
      io->rx_.push_back({io->raw6_, Kind::kRaw6});
      io->clear6_ = userspace::Open(AF_INET6, SOCK_RAW, IPPROTO_RAW);
    }
  }
  if (options.nat_t_port != 0) {
    auto u4 = OpenUdp(AF_INET, options.nat_t_port, options.udp_gro);
    if (!u4.ok()) return u4.error();
    io->udp4_ = *u4;
    io->rx_.push_back({io->udp4_, Kind::kUdp4});
    // UDP GSO (Linux 4.18): a socket option the kernel knows; else one message per packet.
    const int zero = 0;
    io->udp_gso_ = options.udp_gso &&
                   ::setsockopt(io->udp4_, IPPROTO_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
    if (io->raw6_ >= 0) {
      auto u6 = OpenUdp(AF_INET6, options.nat_t_port, options.udp_gro);
      if (u6.ok()) {
        io->udp6_ = *u6;
        io->rx_.push_back({io->udp6_, Kind::kUdp6});
      }
    }
  }
  io->rx_buffers_.resize(kBatch * kRxBufferSize);
  for (unsigned w = 0; w < kMaxWorkers; ++w) io->tx_.push_back(std::make_unique<TxBatch>());
  io->rx_deliver_.resize(kMaxWorkers);
  return io;
}

EspIo::~EspIo() {
  for (int fd : {raw4_, raw6_, udp4_, udp6_, clear4_, clear6_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::vector<int> EspIo::receive_fds() const {
  std::vector<int> out;
  for (const auto& s : rx_) out.push_back(s.fd);
  return out;
}

size_t EspIo::ReceiveBatch(const Socket& s,
                           void (*cb)(void*, uint8_t*, size_t, size_t, const IpAddress&),
                           void* ctx) {
  static constexpr size_t kControl = 64;  // UDP_GRO's int; IPV6_PKTINFO
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  sockaddr_storage names[kBatch];
  alignas(cmsghdr) uint8_t control[kBatch][kControl];
  std::memset(msgs, 0, sizeof(msgs));
  const bool udp = s.kind == Kind::kUdp4 || s.kind == Kind::kUdp6;
  for (size_t i = 0; i < kBatch; ++i) {
    iovs[i].iov_base = rx_buffers_.data() + i * kRxBufferSize + kHeadroom;
    iovs[i].iov_len = kRxBufferSize - kHeadroom - kTailroom;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &names[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
    if (udp) {
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = kControl;
    }
  }
  int n;
  do {
    n = ::recvmmsg(s.fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
  uint64_t gro_datagrams = 0, gro_segments = 0;
  for (int i = 0; i < n; ++i) {
    uint8_t* buffer = rx_buffers_.data() + i * kRxBufferSize;
    size_t offset = kHeadroom;
    size_t length = msgs[i].msg_len;
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
    IpAddress from = FromSockaddr(names[i]);
    if (s.kind == Kind::kRaw4) {
      // IPv4 raw sockets deliver the IP header: ESP starts after it.
      auto info = esp::ParseIpPacket(ByteSpan(buffer + offset, length));
      if (!info || info->header_length > length) continue;
      from = info->source;
      offset += info->header_length;
      length = std::min(length, info->total_length) - info->header_length;
    } else if (udp) {
      // UDP GRO: the datagram holds ESP packets of `segment` octets (the last may be shorter),
      // each handed over on its own (RFC 3948 §2.1 framing per packet).
      size_t segment = length;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr;
           c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
            c->cmsg_len >= CMSG_LEN(sizeof(int))) {
          int g;
          std::memcpy(&g, CMSG_DATA(c), sizeof(g));
          if (g > 0) segment = static_cast<size_t>(g);
        }
      }
      if (segment < length) {
        ++gro_datagrams;
        gro_segments += (length + segment - 1) / segment;
      }
      for (size_t at = 0; at < length; at += segment) {
        const size_t part = std::min(segment, length - at);
        if (part < esp::kEspHeaderSize || esp::Load32(buffer + offset + at) == 0) continue;
        cb(ctx, buffer, offset + at, part, from);
      }
      continue;
    }
    cb(ctx, buffer, offset, length, from);
  }
  if (gro_datagrams != 0) {
    gro_datagrams_.fetch_add(gro_datagrams, std::memory_order_relaxed);
    gro_segments_.fetch_add(gro_segments, std::memory_order_relaxed);
  }
  return static_cast<size_t>(n);
}

namespace {
// RFC 3948 §2.1: ESP-in-UDP from the NAT-T port the IKE SA uses, to the peer's; else raw.
int EspFd(const SaConfig& sa, int raw4, int raw6, int udp4, int udp6) {
  const bool v4 = sa.remote.address.is_v4();
  return sa.udp_encapsulation ? (v4 ? udp4 : udp6) : (v4 ? raw4 : raw6);
}
}  // namespace

bool EspIo::SendEsp(unsigned worker, const SaConfig& sa, const uint8_t* esp, size_t length) {
  uint8_t* slot = ReserveEsp(worker, sa, length);
  if (slot == nullptr) {
    const int fd = EspFd(sa, raw4_, raw6_, udp4_, udp6_);
    const uint16_t port = sa.udp_encapsulation ? sa.remote.port : 0;
    return SendFrom(fd, sa.local.address, sa.remote.address, port, esp, length);
  }
  std::memcpy(slot, esp, length);
  return CommitEsp(worker, sa, length);
}

uint8_t* EspIo::ReserveEsp(unsigned worker, const SaConfig& sa, size_t max_length) {
  const int fd = EspFd(sa, raw4_, raw6_, udp4_, udp6_);
  TxBatch* b = worker < tx_.size() ? tx_[worker].get() : nullptr;
  if (b == nullptr || max_length > TxBatch::kSlot || fd < 0) return nullptr;
  if (b->count == TxBatch::kSlots || (b->count > 0 && b->fd != fd)) Flush(worker);
  b->fd = fd;
  return b->data.data() + b->count * TxBatch::kSlot;
}

bool EspIo::CommitEsp(unsigned worker, const SaConfig& sa, size_t length) {
  const uint16_t port = sa.udp_encapsulation ? sa.remote.port : 0;
  TxBatch* b = worker < tx_.size() ? tx_[worker].get() : nullptr;
  if (b == nullptr || length > TxBatch::kSlot || b->count == TxBatch::kSlots) return false;
  const size_t i = b->count++;
  uint8_t* slot = b->data.data() + i * TxBatch::kSlot;
  b->iovs[i] = {slot, length};
  // UDP GSO: this packet joins the previous message when it goes to the same peer from the
  // same address and is not longer than that message's segments.
  if (b->open && sa.udp_encapsulation && udp_gso_ && length <= b->segment_size &&
      b->segments[b->messages - 1] < kMaxGsoSegments && b->message_bytes + length <= kMaxGsoBytes &&
      port == b->port && sa.remote.address == b->remote && sa.local.address == b->local) {
    msghdr& m = b->msgs[b->messages - 1].msg_hdr;
    ++m.msg_iovlen;
    b->message_bytes += length;
    if (++b->segments[b->messages - 1] == 2) {
      // The segment size, after the IP_PKTINFO the message may already carry.
      uint8_t* control = b->control[b->messages - 1];
      if (m.msg_control == nullptr) m.msg_controllen = 0;
      m.msg_control = control;
      auto* c = reinterpret_cast<cmsghdr*>(control + m.msg_controllen);
      c->cmsg_level = IPPROTO_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto size = static_cast<uint16_t>(b->segment_size);
      std::memcpy(CMSG_DATA(c), &size, sizeof(size));
      m.msg_controllen += CMSG_SPACE(sizeof(uint16_t));
    }
    if (length < b->segment_size) b->open = false;  // a shorter one ends the message
    return true;
  }
  const size_t m = b->messages++;
  FillMsg(b->msgs[m].msg_hdr, b->names[m], b->iovs[i], b->control[m], sa.local.address,
          sa.remote.address, port, slot, length);
  b->segments[m] = 1;
  b->open = sa.udp_encapsulation && udp_gso_ && GsoAllowed(*b, sa.remote.address, length);
  b->segment_size = length;
  b->message_bytes = length;
  b->local = sa.local.address;
  b->remote = sa.remote.address;
  b->port = port;
  return true;
}

bool EspIo::GsoAllowed(TxBatch& b, const IpAddress& remote, size_t segment) {
  if (b.gso_limits.empty()) return true;
  const auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < b.gso_limits.size(); ++i) {
    TxBatch::GsoLimit& l = b.gso_limits[i];
    if (now >= l.until) {
      l = b.gso_limits.back();
      b.gso_limits.pop_back();
      --i;
      continue;
    }
    if (l.remote == remote) return segment <= l.limit;
  }
  return true;
}

void EspIo::SendOneByOne(TxBatch& b, size_t message) {
  msghdr& m = b.msgs[message].msg_hdr;
  for (size_t k = 0; k < m.msg_iovlen; ++k) {
    msghdr one = m;
    one.msg_iov = m.msg_iov + k;
    one.msg_iovlen = 1;
    // Only the IP_PKTINFO part of the control data (UDP_SEGMENT was appended after it).
    auto* first = m.msg_control ? CMSG_FIRSTHDR(&m) : nullptr;
    if (first != nullptr && first->cmsg_level == IPPROTO_UDP) {
      one.msg_control = nullptr;
      one.msg_controllen = 0;
    } else if (first != nullptr) {
      one.msg_controllen = CMSG_SPACE(first->cmsg_len - CMSG_LEN(0));
    }
    ssize_t n;
    do {
      n = ::sendmsg(b.fd, &one, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) send_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

void EspIo::Flush(unsigned worker) {
  if (worker < rx_deliver_.size() && rx_deliver_[worker]) {
    rx_deliver_[worker]->gro.Flush(*rx_deliver_[worker]);
  }
  TxBatch* b = worker < tx_.size() ? tx_[worker].get() : nullptr;
  if (b == nullptr || b->count == 0) return;
  uint64_t gso_messages = 0, gso_segments = 0;
  size_t sent = 0;
  while (sent < b->messages) {
    const int n = ::sendmmsg(b->fd, b->msgs + sent, static_cast<unsigned>(b->messages - sent),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      if (b->segments[sent] > 1 && (error == EMSGSIZE || error == EINVAL)) {
        // The segment is over the path MTU: Linux's udp_send_skb / udp_v6_send_skb refuse a GSO
        // message when the headers plus its segment size exceed the route's fragment size
        // (the path MTU; EINVAL, EMSGSIZE since 6.x) instead of fragmenting each segment. Such
        // ESP packets must still go when the MTU guard let them (IPv4 without DF, IPv6 inner
        // packets up to 1280 octets): one message each, which the kernel fragments after IPsec
        // (RFC 4301 §7; RFC 8200 §5). This peer's longer packets leave GSO for a second.
        const msghdr& m = b->msgs[sent].msg_hdr;
        const IpAddress remote = FromSockaddr(*static_cast<const sockaddr_storage*>(m.msg_name));
        const size_t segment = m.msg_iov[0].iov_len;
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        bool found = false;
        for (auto& l : b->gso_limits) {
          if (l.remote != remote) continue;
          l = {remote, std::min(l.limit, segment - 1), until};
          found = true;
        }
        if (!found && b->gso_limits.size() < 64) {
          b->gso_limits.push_back({remote, segment - 1, until});
        }
        SendOneByOne(*b, sent);
      } else if (b->segments[sent] > 1 && (error == EIO || error == ENOPROTOOPT)) {
        // The kernel refused UDP GSO (no checksum offload on the route's device, an old
        // kernel): one message per packet from now on.
        udp_gso_ = false;
        SendOneByOne(*b, sent);
      } else {
        // A full socket buffer, an unreachable peer: count the message's packets, go on.
        send_errors_.fetch_add(b->segments[sent], std::memory_order_relaxed);
      }
      ++sent;
      continue;
    }
    for (size_t k = sent; k < sent + static_cast<size_t>(n); ++k) {
      if (b->segments[k] > 1) {
        ++gso_messages;
        gso_segments += b->segments[k];
      }
    }
    sent += static_cast<size_t>(n);
  }
  b->count = 0;
  b->messages = 0;
  b->open = false;
  if (gso_messages != 0) {
    gso_messages_.fetch_add(gso_messages, std::memory_order_relaxed);
    gso_segments_.fetch_add(gso_segments, std::memory_order_relaxed);
  }
}

bool EspIo::SendClear(unsigned worker, const uint8_t* packet, size_t length) {
  (void)worker;
  auto info = esp::ParseIpPacket(ByteSpan(packet, length));
  if (!info) return false;
  const int fd = info->family == IpFamily::kV4 ? clear4_ : clear6_;
  return SendFrom(fd, IpAddress(), info->destination, 0, packet, length);
}

bool EspIo::Deliver(unsigned worker, const uint8_t* packet, size_t length) {
  const int queue = static_cast<int>(worker % tun_.queue_count());
  if (!tun_.vnet_hdr() || worker >= rx_deliver_.size()) {
    return tun_.Write(queue, packet, length) == 0;
  }
  auto& d = rx_deliver_[worker];
  if (!d) d = std::make_unique<RxDeliver>(*this, queue);
  d->gro.Add(packet, length, *d);  // written now or at Flush; write errors counted there
  return true;
}

void EspIo::RxDeliver::Write(const offload::VnetHdr& h, const uint8_t* packet, size_t length) {
  if (io.tun_.Write(queue, h, packet, length) != 0) {
    io.send_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

void EspIo::RxDeliver::WriteV(const offload::VnetHdr& h, const iovec* iov, size_t count,
                              size_t length) {
  (void)length;
  if (io.tun_.WriteV(queue, h, iov, count) != 0) {
    io.send_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

EspIo::OffloadStats EspIo::offload_stats() const {
  OffloadStats s;
  s.gso_messages = gso_messages_.load(std::memory_order_relaxed);
  s.gso_segments = gso_segments_.load(std::memory_order_relaxed);
  s.gro_datagrams = gro_datagrams_.load(std::memory_order_relaxed);
  s.gro_segments = gro_segments_.load(std::memory_order_relaxed);
  for (const auto& d : rx_deliver_) {
    if (d) s.tun_merged += d->gro.merged();
  }
  return s;
}

}  // namespace ipsec::engine::dataplane::userspace
