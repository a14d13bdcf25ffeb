#include "engine/net/source_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ipsec::engine::net {

Result<IpAddress> SourceAddressFor(const IpAddress& peer) {
  const bool v4 = peer.is_v4();
  int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, std::string("socket: ") + strerror(errno));
  sockaddr_storage ss{};
  socklen_t len;
  auto bytes = peer.ToBytes();
  if (v4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(500);
    std::memcpy(&sin->sin_addr, bytes.data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(500);
    std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    close(fd);
    return MakeError(ErrorCode::kUnavailable,
                     "no route to " + peer.ToString() + ": " + strerror(e));
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  int rc = getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  close(fd);
  if (rc != 0) return MakeError(ErrorCode::kUnavailable, "getsockname failed");
  if (v4) {
    return IpAddress::FromV4Bytes(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr));
  }
  return IpAddress::FromV6Bytes(
      reinterpret_cast<const uint8_t*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr));
}

}  // namespace ipsec::engine::net
