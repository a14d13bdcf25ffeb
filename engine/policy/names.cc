#include "engine/policy/names.h"

#include <charconv>
#include <utility>

namespace ipsec::engine::policy {
namespace {

template <typename E, size_t N>
const char* Lookup(const std::pair<E, const char*> (&table)[N], E v) {
  for (const auto& [value, name] : table) {
    if (value == v) return name;
  }
  return "?";
}

template <typename E, size_t N>
std::optional<E> ReverseLookup(const std::pair<E, const char*> (&table)[N], std::string_view s) {
  for (const auto& [value, name] : table) {
    if (s == name) return value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::vector<std::string> AllNames(const std::pair<E, const char*> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& entry : table) out.emplace_back(entry.second);
  return out;
}

// Algorithm names follow strongSwan's proposal keywords, so operators can reuse what they know.
constexpr std::pair<EncryptionAlgorithm, const char*> kEncryption[] = {
    {EncryptionAlgorithm::kNull, "null"},
    {EncryptionAlgorithm::kAes128Gcm16, "aes128gcm16"},
    {EncryptionAlgorithm::kAes256Gcm16, "aes256gcm16"},
    {EncryptionAlgorithm::kAes128Cbc, "aes128"},
    {EncryptionAlgorithm::kAes256Cbc, "aes256"},
    {EncryptionAlgorithm::kChaCha20Poly1305, "chacha20poly1305"},
    {EncryptionAlgorithm::kTripleDes, "3des"},
    {EncryptionAlgorithm::kDes, "des"},
};
constexpr std::pair<IntegrityAlgorithm, const char*> kIntegrity[] = {
    {IntegrityAlgorithm::kNone, "none"},
    {IntegrityAlgorithm::kHmacSha256_128, "sha256"},
    {IntegrityAlgorithm::kHmacSha384_192, "sha384"},
    {IntegrityAlgorithm::kHmacSha512_256, "sha512"},
    {IntegrityAlgorithm::kHmacSha1_96, "sha1"},
    {IntegrityAlgorithm::kHmacMd5_96, "md5"},
};
constexpr std::pair<PrfAlgorithm, const char*> kPrf[] = {
    {PrfAlgorithm::kHmacSha256, "prfsha256"}, {PrfAlgorithm::kHmacSha384, "prfsha384"},
    {PrfAlgorithm::kHmacSha512, "prfsha512"}, {PrfAlgorithm::kHmacSha1, "prfsha1"},
    {PrfAlgorithm::kHmacMd5, "prfmd5"},
};
constexpr std::pair<DhGroup, const char*> kDh[] = {
    {DhGroup::kModp1024, "modp1024"}, {DhGroup::kModp2048, "modp2048"},
    {DhGroup::kModp3072, "modp3072"}, {DhGroup::kEcp256, "ecp256"},
    {DhGroup::kEcp384, "ecp384"},     {DhGroup::kEcp521, "ecp521"},
    {DhGroup::kCurve25519, "curve25519"},
};
constexpr std::pair<IpsecProtocol, const char*> kIpsecProto[] = {
    {IpsecProtocol::kEsp, "esp"}, {IpsecProtocol::kAh, "ah"}, {IpsecProtocol::kAhEsp, "ah+esp"}};
constexpr std::pair<ActionType, const char*> kAction[] = {{ActionType::kPermit, "permit"},
                                                          {ActionType::kBlock, "block"},
                                                          {ActionType::kNegotiate, "negotiate"}};
constexpr std::pair<AuthKind, const char*> kAuth[] = {{AuthKind::kPreSharedKey, "psk"},
                                                      {AuthKind::kCertificate, "certificate"},
                                                      {AuthKind::kKerberos, "kerberos"}};
constexpr std::pair<Scope, const char*> kScope[] = {
    {Scope::kCluster, "cluster"}, {Scope::kNamespace, "namespace"}, {Scope::kPod, "pod"}};
constexpr std::pair<AddressKind, const char*> kAddressKind[] = {
    {AddressKind::kAny, "any"},       {AddressKind::kMyAddress, "me"},
    {AddressKind::kSingle, "single"}, {AddressKind::kRange, "range"},
    {AddressKind::kSubnet, "subnet"},
};
constexpr std::pair<uint8_t, const char*> kProtocols[] = {
    {kProtoIcmp, "icmp"}, {kProtoTcp, "tcp"},       {kProtoUdp, "udp"},   {kProtoEsp, "esp"},
    {kProtoAh, "ah"},     {kProtoIcmpV6, "icmpv6"}, {kProtoSctp, "sctp"},
};

}  // namespace

const char* Name(AddressKind v) { return Lookup(kAddressKind, v); }
const char* Name(EncryptionAlgorithm v) { return Lookup(kEncryption, v); }
const char* Name(IntegrityAlgorithm v) { return Lookup(kIntegrity, v); }
const char* Name(PrfAlgorithm v) { return Lookup(kPrf, v); }
const char* Name(DhGroup v) { return Lookup(kDh, v); }
const char* Name(IpsecProtocol v) { return Lookup(kIpsecProto, v); }
const char* Name(ActionType v) { return Lookup(kAction, v); }
const char* Name(AuthKind v) { return Lookup(kAuth, v); }
const char* Name(Scope v) { return Lookup(kScope, v); }

std::optional<EncryptionAlgorithm> ParseEncryption(std::string_view s) {
  return ReverseLookup(kEncryption, s);
}
std::optional<IntegrityAlgorithm> ParseIntegrity(std::string_view s) {
  return ReverseLookup(kIntegrity, s);
}
std::optional<PrfAlgorithm> ParsePrf(std::string_view s) { return ReverseLookup(kPrf, s); }
std::optional<IpsecProtocol> ParseIpsecProtocol(std::string_view s) {
  return ReverseLookup(kIpsecProto, s);
}
std::optional<ActionType> ParseActionType(std::string_view s) {
  return ReverseLookup(kAction, s);
}
std::optional<AuthKind> ParseAuthKind(std::string_view s) { return ReverseLookup(kAuth, s); }
std::optional<Scope> ParseScope(std::string_view s) { return ReverseLookup(kScope, s); }

namespace {
std::optional<unsigned> ParseNumber(std::string_view s) {
  unsigned n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return n;
}
}  // namespace

std::optional<DhGroup> ParseDhGroup(std::string_view s) {
  if (auto g = ReverseLookup(kDh, s)) return g;
  if (auto n = ParseNumber(s)) {
    for (const auto& [value, name] : kDh) {
      if (static_cast<unsigned>(value) == *n) return value;
    }
  }
  return std::nullopt;
}

std::optional<uint8_t> ParseProtocol(std::string_view s) {
  if (auto p = ReverseLookup(kProtocols, s)) return p;
  if (auto n = ParseNumber(s); n && *n <= 255) return static_cast<uint8_t>(*n);
  return std::nullopt;
}

std::string ProtocolName(uint8_t p) {
  for (const auto& [value, name] : kProtocols) {
    if (value == p) return name;
  }
  return std::to_string(p);
}

std::vector<std::string> EncryptionNames() { return AllNames(kEncryption); }
std::vector<std::string> IntegrityNames() { return AllNames(kIntegrity); }
std::vector<std::string> PrfNames() { return AllNames(kPrf); }
std::vector<std::string> DhGroupNames() { return AllNames(kDh); }

}  // namespace ipsec::engine::policy
