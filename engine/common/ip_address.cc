#include "engine/common/ip_address.h"

#include <arpa/inet.h>

#include <charconv>

namespace ipsec {

const char* FamilyName(IpFamily f) { return f == IpFamily::kV4 ? "ipv4" : "ipv6"; }

IpAddress IpAddress::Max(IpFamily f) {
  return IpAddress(f, f == IpFamily::kV4 ? Uint128{0xffffffffu} : ~Uint128{0});
}

IpAddress IpAddress::FromV4Bytes(const uint8_t b[4]) {
  return V4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
}

IpAddress IpAddress::FromV6Bytes(const uint8_t b[16]) {
  Uint128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | b[i];
  return IpAddress(IpFamily::kV6, v);
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  uint8_t buf[16];
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), buf) != 1) return std::nullopt;
    return FromV4Bytes(buf);
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) != 1) return std::nullopt;
  return FromV6Bytes(buf);
}

std::array<uint8_t, 16> IpAddress::ToBytes() const {
  std::array<uint8_t, 16> out{};
  int n = is_v4() ? 4 : 16;
  Uint128 v = value_;
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::string IpAddress::ToString() const {
  auto bytes = ToBytes();
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf)) == nullptr) {
    return "?";
  }
  return buf;
}

bool IpAddress::IsMulticast() const {
  if (is_v4()) return (value_ >> 28) == 0xe;
  return (value_ >> 120) == 0xff;
}

bool IpAddress::IsLimitedBroadcast() const { return is_v4() && value_ == 0xffffffffu; }

Uint128 PrefixMask(IpFamily family, int prefix_len) {
  int bits = FamilyBits(family);
  if (prefix_len <= 0) return 0;
  Uint128 all = family == IpFamily::kV4 ? Uint128{0xffffffffu} : ~Uint128{0};
  if (prefix_len >= bits) return all;
  return (all << (bits - prefix_len)) & all;
}

IpRange IpRange::FromPrefix(const IpAddress& network, int prefix_len) {
  Uint128 mask = PrefixMask(network.family(), prefix_len);
  Uint128 all = IpAddress::Max(network.family()).value();
  Uint128 lo = network.value() & mask;
  return {IpAddress(network.family(), lo), IpAddress(network.family(), lo | (all & ~mask))};
}

std::string IpRange::ToString() const {
  if (first == last) return first.ToString();
  // A prefix when the range is aligned and its size is a power of two.
  Uint128 span = last.value() - first.value();
  if ((span & (span + 1)) == 0 && (first.value() & span) == 0) {
    int host_bits = 0;
    while (host_bits < 128 && ((span >> host_bits) & 1)) ++host_bits;
    return first.ToString() + "/" + std::to_string(FamilyBits(family()) - host_bits);
  }
  return first.ToString() + "-" + last.ToString();
}

std::optional<std::pair<IpAddress, int>> ParsePrefix(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = IpAddress::Parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  std::string_view len_text = text.substr(slash + 1);
  int len = -1;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || ptr != len_text.data() + len_text.size() || len_text.empty()) {
    return std::nullopt;
  }
  if (len < 0 || len > FamilyBits(addr->family())) return std::nullopt;
  if ((addr->value() & ~PrefixMask(addr->family(), len) &
       IpAddress::Max(addr->family()).value()) != 0) {
    return std::nullopt;
  }
  return std::make_pair(*addr, len);
}

}  // namespace ipsec
