#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ipsec {

__extension__ typedef unsigned __int128 Uint128;

enum class IpFamily : uint8_t { kV4 = 4, kV6 = 6 };

inline int FamilyBits(IpFamily f) { return f == IpFamily::kV4 ? 32 : 128; }
const char* FamilyName(IpFamily f);  // "ipv4" / "ipv6"

// An IPv4 or IPv6 address as a number (IPv4 in the low 32 bits), so ranges and prefixes are
// plain integer arithmetic. Ordered by family, then value.
class IpAddress {
 public:
  IpAddress() = default;
  IpAddress(IpFamily family, Uint128 value) : value_(value), family_(family) {}

  static IpAddress V4(uint32_t host_order) { return IpAddress(IpFamily::kV4, host_order); }
  static IpAddress FromV4Bytes(const uint8_t bytes[4]);
  static IpAddress FromV6Bytes(const uint8_t bytes[16]);
  // Parses dotted-quad IPv4 or RFC 4291/5952 IPv6 text; nullopt on anything else.
  static std::optional<IpAddress> Parse(std::string_view text);
  // The lowest and highest address of a family.
  static IpAddress Min(IpFamily f) { return IpAddress(f, 0); }
  static IpAddress Max(IpFamily f);

  IpFamily family() const { return family_; }
  bool is_v4() const { return family_ == IpFamily::kV4; }
  Uint128 value() const { return value_; }
  // Network-order bytes: 4 for IPv4, 16 for IPv6.
  std::array<uint8_t, 16> ToBytes() const;
  std::string ToString() const;  // RFC 5952 canonical form for IPv6

  bool IsMulticast() const;          // 224.0.0.0/4, ff00::/8
  bool IsLimitedBroadcast() const;   // 255.255.255.255

  auto operator<=>(const IpAddress& other) const {
    if (family_ != other.family_) return family_ <=> other.family_;
    return value_ <=> other.value_;
  }
  bool operator==(const IpAddress& other) const = default;

 private:
  Uint128 value_ = 0;
  IpFamily family_ = IpFamily::kV4;
};

// The mask with the top `prefix_len` bits of the family set.
Uint128 PrefixMask(IpFamily family, int prefix_len);

// An inclusive range [first, last] within one family.
struct IpRange {
  IpAddress first;
  IpAddress last;

  IpFamily family() const { return first.family(); }
  bool Contains(const IpAddress& a) const {
    return a.family() == first.family() && a.value() >= first.value() && a.value() <= last.value();
  }
  bool Overlaps(const IpRange& o) const {
    return family() == o.family() && first.value() <= o.last.value() &&
           o.first.value() <= last.value();
  }
  bool ContainedIn(const IpRange& o) const {
    return family() == o.family() && first.value() >= o.first.value() &&
           last.value() <= o.last.value();
  }
  static IpRange Full(IpFamily f) { return {IpAddress::Min(f), IpAddress::Max(f)}; }
  static IpRange Single(const IpAddress& a) { return {a, a}; }
  static IpRange FromPrefix(const IpAddress& network, int prefix_len);
  bool operator==(const IpRange& o) const = default;
  std::string ToString() const;  // "a", "a/len" when it is a prefix, else "a-b"
};

// Parses "a.b.c.d/len" or "x::/len"; the host bits must be zero.
std::optional<std::pair<IpAddress, int>> ParsePrefix(std::string_view text);

}  // namespace ipsec
