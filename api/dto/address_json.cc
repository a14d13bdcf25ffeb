#include "api/dto/address_json.h"

#include <charconv>

#include "engine/policy/names.h"

namespace ipsec::api::dto {
namespace {

using policy::AddressKind;
using policy::AddressSpec;
using policy::PortRange;

constexpr const char* kAddressForms =
    "expected any, any4, any6, me, me4, me6, an address (10.0.0.1, fd00::1), a subnet "
    "(10.0.0.0/24 or 10.0.0.0/255.255.255.0) or a range (10.0.0.5-10.0.0.9)";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only (no sign, no spaces), at most `max`.
std::optional<uint32_t> ParseDecimal(std::string_view s, uint32_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

int PopCount(Uint128 v) {
  int n = 0;
  for (; v != 0; v &= v - 1) ++n;
  return n;
}

std::optional<AddressSpec> Keyword(std::string_view s) {
  if (s == "any") return AddressSpec::Any();
  if (s == "any4") return AddressSpec::Any(IpFamily::kV4);
  if (s == "any6") return AddressSpec::Any(IpFamily::kV6);
  if (s == "me") return AddressSpec::Me();
  if (s == "me4") return AddressSpec::Me(IpFamily::kV4);
  if (s == "me6") return AddressSpec::Me(IpFamily::kV6);
  return std::nullopt;
}

// `what` names the part in the message ("the network (before '/')"); the text itself is never
// repeated (docs/api.md, "Errors").
Result<IpAddress> ParsePart(std::string_view part, const char* what, const std::string& path) {
  auto a = IpAddress::Parse(part);
  if (!a) {
    return InvalidAt(path, std::string(what) + " is not an IPv4 or IPv6 address; " + kAddressForms);
  }
  return *a;
}

// The prefix length after the '/': a number, or a contiguous mask of the network's family.
Result<int> ParsePrefixLength(std::string_view text, const IpAddress& network,
                              const std::string& path) {
  const int bits = FamilyBits(network.family());
  if (text.find_first_of(".:") == std::string_view::npos) {
    auto len = ParseDecimal(text, static_cast<uint32_t>(bits));
    if (!len) {
      return InvalidAt(path, "the prefix length (after '/') must be a number from 0 to " +
                                 std::to_string(bits) + " for " + FamilyName(network.family()));
    }
    return static_cast<int>(*len);
  }
  auto mask = IpAddress::Parse(text);
  if (!mask || mask->family() != network.family()) {
    return InvalidAt(path, std::string("the mask (after '/') is not an ") +
                               FamilyName(network.family()) + " mask");
  }
  Uint128 host = ~mask->value() & IpAddress::Max(network.family()).value();
  if ((host & (host + 1)) != 0) {
    return InvalidAt(path, "mask " + mask->ToString() +
                               " is not contiguous (its one bits must all come first, as in "
                               "255.255.255.0); a subnet needs a contiguous mask");
  }
  return bits - PopCount(host);
}

Result<AddressSpec> ParseSubnet(std::string_view s, size_t slash, const std::string& path) {
  auto network = ParsePart(s.substr(0, slash), "the network (before '/')", path);
  if (!network.ok()) return network.error();
  auto len = ParsePrefixLength(s.substr(slash + 1), *network, path);
  if (!len.ok()) return len.error();
  const IpFamily f = network->family();
  Uint128 host_bits = network->value() & ~PrefixMask(f, *len) & IpAddress::Max(f).value();
  if (host_bits != 0) {
    IpAddress base(f, network->value() & PrefixMask(f, *len));
    // Derived from the parsed address: no text of the request.
    return InvalidAt(path, "the subnet has host bits set; the subnet is " + base.ToString() + "/" +
                               std::to_string(*len) + " (write that), or give " +
                               network->ToString() + " alone for one address");
  }
  return AddressSpec::Subnet(*network, *len);
}

Result<AddressSpec> ParseRange(std::string_view s, size_t dash, const std::string& path) {
  auto first = ParsePart(Trim(s.substr(0, dash)), "the first address of the range", path);
  if (!first.ok()) return first.error();
  auto last = ParsePart(Trim(s.substr(dash + 1)), "the last address of the range", path);
  if (!last.ok()) return last.error();
  if (first->family() != last->family()) {
    return InvalidAt(path, "the range mixes IPv4 and IPv6; both ends must be of one family");
  }
  if (first->value() > last->value()) {
    return InvalidAt(path,
                     "the range is reversed; the first address must not be greater than "
                     "the last (write " +
                         last->ToString() + "-" + first->ToString() + ")");
  }
  return AddressSpec::Range(*first, *last);
}

Result<PortRange> ParsePortText(std::string_view s, const std::string& path) {
  if (s == "any") return PortRange{};
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    if (auto p = ParseDecimal(s, 65535)) return PortRange::Single(static_cast<uint16_t>(*p));
  } else {
    auto first = ParseDecimal(Trim(s.substr(0, dash)), 65535);
    auto last = ParseDecimal(Trim(s.substr(dash + 1)), 65535);
    if (first && last) {
      if (*first > *last) {
        return InvalidAt(path,
                         "the port range is reversed; the first port must not be greater "
                         "than the last (write " +
                             std::to_string(*last) + "-" + std::to_string(*first) + ")");
      }
      return PortRange{static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)};
    }
  }
  return InvalidAt(path,
                   "the value is not a port; expected \"any\", a port number 0-65535 or a "
                   "range \"first-last\"");
}

}  // namespace

Result<AddressSpec> ParseAddressSpec(std::string_view text, const std::string& path) {
  std::string_view s = Trim(text);
  if (s.empty()) return InvalidAt(path, std::string("the address is empty; ") + kAddressForms);
  if (auto k = Keyword(s)) return *k;
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    return ParseSubnet(s, slash, path);
  }
  if (size_t dash = s.find('-'); dash != std::string_view::npos) {
    return ParseRange(s, dash, path);
  }
  auto a = IpAddress::Parse(s);
  if (!a) {
    return InvalidAt(path, std::string("the value is not an address; ") + kAddressForms);
  }
  return AddressSpec::Single(*a);
}

std::string AddressSpecToString(const AddressSpec& a) {
  auto suffix = [&]() -> std::string {
    if (!a.family) return "";
    return *a.family == IpFamily::kV4 ? "4" : "6";
  };
  switch (a.kind) {
    case AddressKind::kAny:
      return "any" + suffix();
    case AddressKind::kMyAddress:
      return "me" + suffix();
    case AddressKind::kSingle:
      return a.range.first.ToString();
    case AddressKind::kSubnet:
      if (a.prefix_len < 0) return a.range.ToString();
      return a.range.first.ToString() + "/" + std::to_string(a.prefix_len);
    case AddressKind::kRange:
      return a.range.first.ToString() + "-" + a.range.last.ToString();
  }
  return a.range.ToString();
}

Result<IpAddress> ParseAddress(std::string_view text, const std::string& path) {
  auto a = IpAddress::Parse(Trim(text));
  if (!a) {
    return InvalidAt(path,
                     "the value is not an address; expected one IPv4 or IPv6 address such as "
                     "10.0.0.1 or fd00::1");
  }
  return *a;
}

Result<PortRange> PortsFromJson(const Json& j, const std::string& path) {
  if (j.is_number()) {
    auto p = ReadUnsigned(j, path, 65535);
    if (!p.ok()) return p.error();
    return PortRange::Single(static_cast<uint16_t>(*p));
  }
  if (!j.is_string()) return WrongType(path, "\"any\", a port number or \"first-last\"", j);
  return ParsePortText(Trim(j.get_ref<const std::string&>()), path);
}

Json PortsToJson(const PortRange& p) {
  if (p.IsAny()) return "any";
  if (p.first == p.last) return p.first;
  return std::to_string(p.first) + "-" + std::to_string(p.last);
}

std::string PortsToString(const PortRange& p) {
  if (p.IsAny()) return "any";
  if (p.first == p.last) return std::to_string(p.first);
  return std::to_string(p.first) + "-" + std::to_string(p.last);
}

Result<uint16_t> PortFromJson(const Json& j, const std::string& path) {
  if (j.is_number()) {
    auto p = ReadUnsigned(j, path, 65535);
    if (!p.ok()) return p.error();
    return static_cast<uint16_t>(*p);
  }
  if (j.is_string()) {
    if (auto p = ParseDecimal(Trim(j.get_ref<const std::string&>()), 65535)) {
      return static_cast<uint16_t>(*p);
    }
    return InvalidAt(path, "the value is not a port number (0-65535)");
  }
  return WrongType(path, "a port number", j);
}

Result<std::optional<uint8_t>> ProtocolFromJson(const Json& j, const std::string& path) {
  if (j.is_number()) {
    auto p = ReadUnsigned(j, path, 255);
    if (!p.ok()) return p.error();
    return std::optional<uint8_t>(static_cast<uint8_t>(*p));
  }
  if (!j.is_string()) return WrongType(path, "a protocol name or number", j);
  std::string_view s = Trim(j.get_ref<const std::string&>());
  if (s == "any") return std::optional<uint8_t>();
  if (auto p = policy::ParseProtocol(s)) return std::optional<uint8_t>(*p);
  return InvalidAt(path,
                   "unknown protocol; expected any, tcp, udp, icmp, icmpv6, esp, ah, sctp or a "
                   "protocol number 0-255");
}

Json ProtocolToJson(std::optional<uint8_t> protocol) {
  if (!protocol) return "any";
  std::string name = policy::ProtocolName(*protocol);
  if (name == std::to_string(*protocol)) return *protocol;
  return name;
}

}  // namespace ipsec::api::dto
