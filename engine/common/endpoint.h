#pragma once

#include <cstdint>
#include <string>

#include "engine/common/ip_address.h"

namespace ipsec {

// An IP address and UDP port.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;

  bool operator==(const Endpoint&) const = default;
  auto operator<=>(const Endpoint&) const = default;
  std::string ToString() const {  // "10.0.0.1:500", "[fd00::1]:4500"
    return address.is_v4() ? address.ToString() + ":" + std::to_string(port)
                           : "[" + address.ToString() + "]:" + std::to_string(port);
  }
};

}  // namespace ipsec
