#include "engine/net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace ipsec::engine::net {

socklen_t ToSockaddr(const Endpoint& endpoint, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof(out));
  const auto bytes = endpoint.address.ToBytes();
  if (endpoint.address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(endpoint.port);
    std::memcpy(&sin->sin_addr, bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(endpoint.port);
  std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<Endpoint> FromSockaddr(const sockaddr_storage& address, socklen_t length) {
  if (address.ss_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&address);
    return Endpoint{IpAddress::FromV4Bytes(reinterpret_cast<const uint8_t*>(&sin->sin_addr)),
                    ntohs(sin->sin_port)};
  }
  if (address.ss_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&address);
    return Endpoint{IpAddress::FromV6Bytes(sin6->sin6_addr.s6_addr), ntohs(sin6->sin6_port)};
  }
  return std::nullopt;
}

}  // namespace ipsec::engine::net
