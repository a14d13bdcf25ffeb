#include "engine/dataplane/userspace/esp_io.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
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

Result<int> OpenUdp(int family, uint16_t port) {
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
    auto u4 = OpenUdp(AF_INET, options.nat_t_port);
    if (!u4.ok()) return u4.error();
    io->udp4_ = *u4;
    io->rx_.push_back({io->udp4_, Kind::kUdp4});
    if (io->raw6_ >= 0) {
      auto u6 = OpenUdp(AF_INET6, options.nat_t_port);
      if (u6.ok()) {
        io->udp6_ = *u6;
        io->rx_.push_back({io->udp6_, Kind::kUdp6});
      }
    }
  }
  io->rx_buffers_.resize(kBatch * kRxBufferSize);
  for (unsigned w = 0; w < kMaxWorkers; ++w) io->tx_.push_back(std::make_unique<TxBatch>());
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
  mmsghdr msgs[kBatch];
  iovec iovs[kBatch];
  sockaddr_storage names[kBatch];
  std::memset(msgs, 0, sizeof(msgs));
  for (size_t i = 0; i < kBatch; ++i) {
    iovs[i].iov_base = rx_buffers_.data() + i * kRxBufferSize + kHeadroom;
    iovs[i].iov_len = kRxBufferSize - kHeadroom - kTailroom;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &names[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
  }
  int n;
  do {
    n = ::recvmmsg(s.fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
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
    } else if (s.kind == Kind::kUdp4 || s.kind == Kind::kUdp6) {
      if (length < esp::kEspHeaderSize || esp::Load32(buffer + offset) == 0) continue;
    }
    cb(ctx, buffer, offset, length, from);
  }
  return static_cast<size_t>(n);
}

bool EspIo::SendEsp(unsigned worker, const SaConfig& sa, const uint8_t* esp, size_t length) {
  const bool v4 = sa.remote.address.is_v4();
  // RFC 3948 §2.1: ESP-in-UDP from the NAT-T port the IKE SA uses, to the peer's; else raw.
  const int fd = sa.udp_encapsulation ? (v4 ? udp4_ : udp6_) : (v4 ? raw4_ : raw6_);
  const uint16_t port = sa.udp_encapsulation ? sa.remote.port : 0;
  TxBatch* b = worker < tx_.size() ? tx_[worker].get() : nullptr;
  if (b == nullptr || length > TxBatch::kSlot || fd < 0) {
    return SendFrom(fd, sa.local.address, sa.remote.address, port, esp, length);
  }
  if (b->count == kBatch || (b->count > 0 && b->fd != fd)) Flush(worker);
  const size_t i = b->count++;
  b->fd = fd;
  uint8_t* slot = b->data.data() + i * TxBatch::kSlot;
  std::memcpy(slot, esp, length);
  FillMsg(b->msgs[i].msg_hdr, b->names[i], b->iovs[i], b->control[i], sa.local.address,
          sa.remote.address, port, slot, length);
  return true;
}

void EspIo::Flush(unsigned worker) {
  TxBatch* b = worker < tx_.size() ? tx_[worker].get() : nullptr;
  if (b == nullptr || b->count == 0) return;
  size_t sent = 0;
  while (sent < b->count) {
    const int n = ::sendmmsg(b->fd, b->msgs + sent, static_cast<unsigned>(b->count - sent),
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The first unsent one failed (a full socket buffer, an unreachable peer): count it and
      // go on with the rest.
      send_errors_.fetch_add(1, std::memory_order_relaxed);
      ++sent;
      continue;
    }
    sent += static_cast<size_t>(n);
  }
  b->count = 0;
}

bool EspIo::SendClear(unsigned worker, const uint8_t* packet, size_t length) {
  (void)worker;
  auto info = esp::ParseIpPacket(ByteSpan(packet, length));
  if (!info) return false;
  const int fd = info->family == IpFamily::kV4 ? clear4_ : clear6_;
  return SendFrom(fd, IpAddress(), info->destination, 0, packet, length);
}

bool EspIo::Deliver(unsigned worker, const uint8_t* packet, size_t length) {
  return tun_.Write(static_cast<int>(worker % tun_.queue_count()), packet, length) == 0;
}

}  // namespace ipsec::engine::dataplane::userspace
