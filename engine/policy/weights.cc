#include "engine/policy/weights.h"

#include <bit>

namespace ipsec::engine::policy {
namespace {

// Number of significant bits of v: ceil(log2(v + 1)).
int BitLength(Uint128 v) {
  const uint64_t high = static_cast<uint64_t>(v >> 64);
  if (high != 0) return 128 - std::countl_zero(high);
  return 64 - std::countl_zero(static_cast<uint64_t>(v));
}

int SideSpecificity(const AddressSpec& side) {
  switch (side.kind) {
    case AddressKind::kAny:
      return 0;
    case AddressKind::kMyAddress:
      return 128;  // expands to single addresses
    default:
      return AddressSpecificity(side.range);
  }
}

}  // namespace

// The range holds (last - first + 1) addresses, and ceil(log2(n)) == BitLength(n - 1).
int AddressRangeBits(const IpRange& range) {
  return BitLength(range.last.value() - range.first.value());
}

int AddressSpecificity(const IpRange& range) {
  const int bits = FamilyBits(range.family());
  const int scale = 128 / bits;
  return (bits - AddressRangeBits(range)) * scale;
}

int PortSpecificity(const PortRange& ports) {
  return 16 - BitLength(Uint128{static_cast<uint16_t>(ports.last - ports.first)});
}

uint64_t ComposeWeight(uint64_t tier, int address_specificity, int port_specificity,
                       bool specific_protocol) {
  return (tier << 32) | (static_cast<uint64_t>(address_specificity) << 8) |
         (static_cast<uint64_t>(port_specificity) << 1) | (specific_protocol ? 1 : 0);
}

uint64_t EntryWeight(uint64_t tier, const IpRange& source, const IpRange& destination,
                     std::optional<uint8_t> protocol, const PortRange& source_ports,
                     const PortRange& destination_ports) {
  return ComposeWeight(tier, AddressSpecificity(source) + AddressSpecificity(destination),
                       PortSpecificity(source_ports) + PortSpecificity(destination_ports),
                       protocol.has_value());
}

uint64_t GenericWeight(uint64_t tier, const Filter& filter) {
  return ComposeWeight(tier, SideSpecificity(filter.source) + SideSpecificity(filter.destination),
                       PortSpecificity(filter.source_ports) +
                           PortSpecificity(filter.destination_ports),
                       filter.protocol.has_value());
}

}  // namespace ipsec::engine::policy
