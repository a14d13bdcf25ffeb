#include "engine/ike/identity.h"

#include "engine/crypto/dn.h"

namespace ipsec::engine::ike {

using codec::IdType;

Identity Identity::FromAddress(const IpAddress& a) {
  auto bytes = a.ToBytes();
  size_t n = a.is_v4() ? 4 : 16;
  return Identity{a.is_v4() ? IdType::kIpv4Addr : IdType::kIpv6Addr,
                  Bytes(bytes.begin(), bytes.begin() + n)};
}

Identity Identity::Fqdn(std::string_view name) {
  return Identity{IdType::kFqdn, Bytes(name.begin(), name.end())};
}

Identity Identity::Email(std::string_view address) {
  return Identity{IdType::kRfc822Addr, Bytes(address.begin(), address.end())};
}

Identity Identity::DerDn(ByteSpan der) { return Identity{IdType::kDerAsn1Dn, Bytes(der.begin(), der.end())}; }

Result<Identity> Identity::Parse(std::string_view text) {
  if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty identity");
  if (auto a = IpAddress::Parse(text)) return FromAddress(*a);
  if (text.front() == '@') return Fqdn(text.substr(1));
  if (text.find('=') != std::string_view::npos) {  // a DN (RFC 7296 §3.5 ID_DER_ASN1_DN)
    auto der = crypto::DnFromString(text);
    if (!der.ok()) return der.error();
    return DerDn(*der);
  }
  if (text.find('@') != std::string_view::npos) return Email(text);
  return Fqdn(text);
}

std::string Identity::ToString() const {
  switch (type) {
    case IdType::kIpv4Addr:
      if (data.size() == 4) return IpAddress::FromV4Bytes(data.data()).ToString();
      break;
    case IdType::kIpv6Addr:
      if (data.size() == 16) return IpAddress::FromV6Bytes(data.data()).ToString();
      break;
    case IdType::kFqdn:
    case IdType::kRfc822Addr: {
      std::string s;
      for (uint8_t c : data) s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
      return s;
    }
    case IdType::kDerAsn1Dn:
      if (auto dn = crypto::DnToString(data); dn.ok()) return *dn;
      break;
    default:
      break;
  }
  return "id" + std::to_string(static_cast<int>(type)) + ":" + ToHex(data);
}

}  // namespace ipsec::engine::ike
