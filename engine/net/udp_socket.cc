#include "engine/net/udp_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "engine/net/socket_address.h"

namespace ipsec::engine::net {

namespace {

constexpr size_t kMaxParts = 4;
// Room for one in_pktinfo or in6_pktinfo, and the SO_RXQ_OVFL drop count.
constexpr size_t kControlSize =
    CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(uint32_t));

Error SocketError(const char* what, const Endpoint& local, int error) {
  return MakeError(ErrorCode::kUnavailable,
                   std::string(what) + " " + local.ToString() + ": " + std::strerror(error));
}

// Opens, configures and binds a raw descriptor; -errno on failure.
int OpenBound(const Endpoint& local, int receive_buffer_bytes, bool reuse_port, uint32_t mark,
              std::string* failed_step) {
  const int family = local.address.is_v4() ? AF_INET : AF_INET6;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    *failed_step = "socket";
    return -errno;
  }
  const int one = 1;
  // Best effort: without SO_RXQ_OVFL drops go uncounted; a smaller buffer still works.
  ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  if (receive_buffer_bytes > 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer_bytes, sizeof(int)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(int));
  }
  int rc = reuse_port ? ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) : 0;
  if (rc == 0 && mark != 0) rc = ::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
  if (rc != 0) {
  } else if (family == AF_INET) {
    rc = ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  } else {
    rc = ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (rc == 0) rc = ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  }
  if (rc != 0) {
    *failed_step = "setsockopt";
  } else {
    sockaddr_storage address;
    const socklen_t length = ToSockaddr(local, address);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), length);
    if (rc != 0) *failed_step = "bind";
  }
  if (rc != 0) {
    const int error = errno;
    ::close(fd);
    return -error;
  }
  return fd;
}

}  // namespace

UdpSocket::UdpSocket(boost::asio::ip::udp::socket socket, const Endpoint& local)
    : socket_(std::move(socket)), local_(local) {}

Result<std::unique_ptr<UdpSocket>> UdpSocket::Bind(boost::asio::io_context& context,
                                                   const Endpoint& local, int receive_buffer_bytes,
                                                   bool reuse_port, uint32_t mark) {
  std::string step;
  const int fd = OpenBound(local, receive_buffer_bytes, reuse_port, mark, &step);
  if (fd < 0) return SocketError(step.c_str(), local, -fd);
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  std::optional<Endpoint> actual;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) == 0) {
    actual = FromSockaddr(bound, bound_length);
  }
  if (!actual) {
    const int error = errno;
    ::close(fd);
    return SocketError("getsockname", local, error);
  }
  boost::asio::ip::udp::socket socket(context);
  boost::system::error_code ec;
  socket.assign(local.address.is_v4() ? boost::asio::ip::udp::v4() : boost::asio::ip::udp::v6(), fd,
                ec);
  if (ec) {
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable, "assign " + local.ToString() + ": " + ec.message());
  }
  return std::unique_ptr<UdpSocket>(new UdpSocket(std::move(socket), *actual));
}

bool UdpSocket::is_wildcard() const { return IsUnspecified(local_.address); }

int UdpSocket::Receive(MutableByteSpan buffer, Received& out) {
  sockaddr_storage from{};
  alignas(cmsghdr) uint8_t control[kControlSize];
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EWOULDBLOCK ? EAGAIN : errno;
  std::optional<Endpoint> remote = FromSockaddr(from, msg.msg_namelen);
  if (!remote) return EAFNOSUPPORT;
  out.remote = *remote;
  out.local = local_;
  out.size = std::min(static_cast<size_t>(n), buffer.size());
  out.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  out.kernel_drops = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      out.local.address = IpAddress::FromV4Bytes(reinterpret_cast<const uint8_t*>(&info.ipi_addr));
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      out.local.address = IpAddress::FromV6Bytes(info.ipi6_addr.s6_addr);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      uint32_t drops;  // the socket's running total when this datagram was queued
      std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
      out.kernel_drops = drops - drops_seen_;  // modulo 2^32, like the kernel's counter
      drops_seen_ = drops;
    }
  }
  return 0;
}

int UdpSocket::Send(const IpAddress& source, const Endpoint& remote,
                    std::span<const ByteSpan> parts) {
  if (remote.address.family() != local_.address.family()) return EAFNOSUPPORT;
  if (parts.size() > kMaxParts) return EINVAL;
  sockaddr_storage to;
  const socklen_t to_length = ToSockaddr(remote, to);
  iovec iov[kMaxParts];
  for (size_t i = 0; i < parts.size(); ++i) {
    iov[i].iov_base = const_cast<uint8_t*>(parts[i].data());
    iov[i].iov_len = parts[i].size();
  }
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = to_length;
  msg.msg_iov = iov;
  msg.msg_iovlen = parts.size();
  alignas(cmsghdr) uint8_t control[kControlSize] = {};
  if (is_wildcard() && !IsUnspecified(source)) {
    const auto bytes = source.ToBytes();
    msg.msg_control = control;
    cmsghdr* c = nullptr;
    if (source.is_v4()) {
      msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, bytes.data(), 4);  // the source; interface: routing's
      std::memcpy(CMSG_DATA(c), &info, sizeof(info));
    } else {
      msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, bytes.data(), 16);
      std::memcpy(CMSG_DATA(c), &info, sizeof(info));
    }
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

void UdpSocket::WaitReadable(std::function<void(bool readable)> on_ready) {
  socket_.async_wait(
      boost::asio::ip::udp::socket::wait_read,
      [on_ready = std::move(on_ready)](const boost::system::error_code& ec) { on_ready(!ec); });
}

void UdpSocket::Close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace ipsec::engine::net
