#include "engine/dataplane/userspace/ah_io.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "engine/dataplane/userspace/pod_network.h"
#include "engine/esp/esp_wire.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/udp_encap.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

int OpenRaw(int family) {
  int fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_AH);
  if (fd < 0) return -errno;
  const uint32_t mark = kBypassMark;
  const int size = 4 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
    const int e = errno;
    ::close(fd);
    return -e;
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (family == AF_INET6) {
    const int one = 1;
    // RFC 3542 §6: the destination address, and whether extension headers preceded AH.
    for (int option : {IPV6_RECVPKTINFO, IPV6_RECVHOPOPTS, IPV6_RECVRTHDR, IPV6_RECVDSTOPTS}) {
      if (::setsockopt(fd, IPPROTO_IPV6, option, &one, sizeof(one)) != 0) {
        const int e = errno;
        ::close(fd);
        return -e;
      }
    }
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<AhSockets>> AhSockets::Open(bool ipv6) {
  std::unique_ptr<AhSockets> s(new AhSockets());
  s->fd4_ = OpenRaw(AF_INET);
  if (s->fd4_ < 0) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string("raw AH socket (needs CAP_NET_RAW): ") + std::strerror(-s->fd4_));
  }
  if (ipv6) {
    s->fd6_ = OpenRaw(AF_INET6);  // no IPv6 in this namespace: IPv4 only
    if (s->fd6_ < 0) s->fd6_ = -1;
  }
  return s;
}

AhSockets::~AhSockets() {
  for (int fd : {fd4_, fd6_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::vector<int> AhSockets::receive_fds() const {
  std::vector<int> out{fd4_};
  if (fd6_ >= 0) out.push_back(fd6_);
  return out;
}

size_t AhSockets::ReceiveBatch(int fd, void (*cb)(void*, uint8_t*, size_t, size_t), void* ctx) {
  if (!Owns(fd)) return 0;
  const bool v6 = fd == fd6_;
  // IPv6: room for the rebuilt base header in front of the data.
  const size_t data_at = kHeadroom;
  size_t n = 0;
  for (; n < kBatch; ++n) {
    uint8_t* buffer = buffer_.data();
    iovec iov{buffer + data_at, kRxBufferSize - data_at - kTailroom};
    sockaddr_in6 from{};
    alignas(cmsghdr) uint8_t control[512];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t got;
    do {
      got = ::recvmsg(fd, &msg, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    if (got < 0) break;
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) continue;
    const size_t length = static_cast<size_t>(got);
    if (!v6) {
      // IPv4 raw sockets deliver the IP header as it arrived (raw(7)).
      cb(ctx, buffer, data_at, length);
      continue;
    }
    const in6_pktinfo* info = nullptr;
    bool extension_headers = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_PKTINFO) {
        info = reinterpret_cast<const in6_pktinfo*>(CMSG_DATA(c));
      } else if (c->cmsg_type == IPV6_HOPOPTS || c->cmsg_type == IPV6_RTHDR ||
                 c->cmsg_type == IPV6_DSTOPTS) {
        extension_headers = true;
      }
    }
    if (info == nullptr || extension_headers || length > 0xFFFF || from.sin6_family != AF_INET6) {
      cb(ctx, buffer, data_at, 0);  // counted as malformed: cannot be verified
      continue;
    }
    // RFC 4302 §3.3.3: the ICV covers the IPv6 header; rebuild it (see ah_io.h).
    uint8_t* header = buffer + data_at - esp::kIpv6HeaderSize;
    const IpAddress source = IpAddress::FromV6Bytes(from.sin6_addr.s6_addr);
    const IpAddress destination = IpAddress::FromV6Bytes(info->ipi6_addr.s6_addr);
    if (!esp::WriteIpv6Header(header, source, destination, esp::kNextHeaderAh, length)) {
      cb(ctx, buffer, data_at, 0);
      continue;
    }
    header[7] = 0;  // hop limit: mutable, zeroed for the ICV
    cb(ctx, buffer, data_at - esp::kIpv6HeaderSize, length + esp::kIpv6HeaderSize);
  }
  return n;
}

}  // namespace ipsec::engine::dataplane::userspace
