#pragma once

// Filter weights (FAQ 22), as docs/filter-weights.md defines them. The more specific a filter,
// the higher its weight; addresses dominate, then ports, then the protocol. Exemptions sit in a
// higher tier than every rule so they always take precedence (FAQ 24-26).

#include <cstdint>
#include <optional>

#include "engine/common/ip_address.h"
#include "engine/policy/model.h"

namespace ipsec::engine::policy {

inline constexpr uint64_t kRuleTier = 1;
inline constexpr uint64_t kExemptionTier = 2;

// ceil(log2(number of addresses in the range)): 0 for one address, 8 for a /24.
int AddressRangeBits(const IpRange& range);
// Address specificity of one side, 0 (any) to 128 (one address); IPv4 is scaled by 4 so both
// families share the scale: one IPv4 address = 128, an IPv4 /24 = 96, an IPv6 /64 = 64.
int AddressSpecificity(const IpRange& range);
// Port specificity of one side: 16 - ceil(log2(number of ports)); 16 for one port, 0 for any.
int PortSpecificity(const PortRange& ports);

// weight = tier << 32 | A << 8 | P << 1 | R, where A is the sum of both sides' address
// specificity (0-256), P of both sides' port specificity (0-32), R is 1 for a specific protocol.
uint64_t ComposeWeight(uint64_t tier, int address_specificity, int port_specificity,
                       bool specific_protocol);
uint64_t EntryWeight(uint64_t tier, const IpRange& source, const IpRange& destination,
                     std::optional<uint8_t> protocol, const PortRange& source_ports,
                     const PortRange& destination_ports);
// The weight of a filter as configured (a generic filter): "me" counts as one address, "any"
// as 0.
uint64_t GenericWeight(uint64_t tier, const Filter& filter);

}  // namespace ipsec::engine::policy
