#pragma once

#include "engine/common/ip_address.h"
#include "engine/common/result.h"

namespace ipsec::engine::net {

// The address the kernel would send from to reach `peer` (a route lookup: connect() of a UDP
// socket, no packet sent). IKE needs it for NAT detection (RFC 7296 §2.23) when it listens on
// the wildcard address.
Result<IpAddress> SourceAddressFor(const IpAddress& peer);

}  // namespace ipsec::engine::net
