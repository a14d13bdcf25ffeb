#pragma once

// Conversions between Endpoint and the socket API's addresses. Internal to engine/net.

#include <sys/socket.h>

#include <optional>

#include "engine/common/endpoint.h"
#include "engine/common/ip_address.h"

namespace ipsec::engine::net {

// Fills `out` with the sockaddr_in or sockaddr_in6 for `endpoint`; returns its length.
socklen_t ToSockaddr(const Endpoint& endpoint, sockaddr_storage& out);
// nullopt for families other than AF_INET and AF_INET6, or a short length.
std::optional<Endpoint> FromSockaddr(const sockaddr_storage& address, socklen_t length);

// 0.0.0.0 or ::, the address a wildcard socket is bound to.
inline bool IsUnspecified(const IpAddress& address) { return address.value() == 0; }
inline IpAddress AnyAddress(IpFamily family) { return IpAddress(family, 0); }

}  // namespace ipsec::engine::net
