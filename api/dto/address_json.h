#pragma once

// The text forms of a filter's addresses, ports and protocol (docs/api.md, "Shapes"):
//   address   any, any4, any6, me, me4, me6, 10.0.0.1, fd00::1, 10.0.0.0/24,
//             10.0.0.0/255.255.255.0, 10.0.0.5-10.0.0.9
//   ports     "any", a number (or its text), "first-last"
//   protocol  "any", a name (tcp, udp, icmp, icmpv6, esp, ah, sctp), or 0-255 (number or text)
// Parse errors carry the given JSON pointer and never repeat the text (docs/api.md, "Errors"):
// they say which part is wrong and what was expected.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/dto/json_reader.h"
#include "engine/common/ip_address.h"
#include "engine/common/result.h"
#include "engine/policy/model.h"

namespace ipsec::api::dto {

namespace policy = ipsec::engine::policy;

Result<policy::AddressSpec> ParseAddressSpec(std::string_view text, const std::string& path);
// The canonical text: a subnet given by mask comes back as a prefix.
std::string AddressSpecToString(const policy::AddressSpec& a);

// One address (a tunnel endpoint, a packet's address).
Result<IpAddress> ParseAddress(std::string_view text, const std::string& path);

Result<policy::PortRange> PortsFromJson(const Json& j, const std::string& path);
// "any", a number for one port, "first-last" for a range (the policy shape).
Json PortsToJson(const policy::PortRange& p);
// "any", "443", "1000-2000" (the filter table shape).
std::string PortsToString(const policy::PortRange& p);
// One port, number or text: the match request's ports.
Result<uint16_t> PortFromJson(const Json& j, const std::string& path);

// nullopt: any protocol.
Result<std::optional<uint8_t>> ProtocolFromJson(const Json& j, const std::string& path);
// "any", the protocol's name, or its number for protocols without a name.
Json ProtocolToJson(std::optional<uint8_t> protocol);

}  // namespace ipsec::api::dto
