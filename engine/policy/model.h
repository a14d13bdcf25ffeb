#pragma once

// The policy model of the FAQ (../shared/DESIGN.md, concept map): a Policy holds key-exchange
// settings, filter lists, filter actions and rules; a Rule ties one filter list to one filter
// action with authentication methods, a tunnel endpoint and a connection type. Plain values:
// no I/O, no JSON. Validation lives in validate.h, compilation to the filter table in
// compiler.h.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/ip_address.h"
#include "engine/common/secret_bytes.h"

namespace ipsec::engine::policy {

// ---- IP filters (FAQ 13) ---------------------------------------------------------------

enum class AddressKind {
  kAny,        // any address (of `family`, or of both families)
  kMyAddress,  // "my IP address": every address of the pod's interfaces
  kSingle,     // one address
  kRange,      // an inclusive range first-last
  kSubnet,     // a subnet given by prefix length or mask
};

struct AddressSpec {
  AddressKind kind = AddressKind::kAny;
  IpRange range;        // kSingle, kRange, kSubnet: the addresses covered
  int prefix_len = -1;  // kSubnet only
  // kAny and kMyAddress: restrict to one family; nullopt means both families.
  std::optional<IpFamily> family;

  static AddressSpec Any(std::optional<IpFamily> f = std::nullopt) {
    return AddressSpec{AddressKind::kAny, {}, -1, f};
  }
  static AddressSpec Me(std::optional<IpFamily> f = std::nullopt) {
    return AddressSpec{AddressKind::kMyAddress, {}, -1, f};
  }
  static AddressSpec Single(const IpAddress& a) {
    return AddressSpec{AddressKind::kSingle, IpRange::Single(a), -1, a.family()};
  }
  static AddressSpec Subnet(const IpAddress& network, int len) {
    return AddressSpec{AddressKind::kSubnet, IpRange::FromPrefix(network, len), len,
                       network.family()};
  }
  static AddressSpec Range(const IpAddress& first, const IpAddress& last) {
    return AddressSpec{AddressKind::kRange, IpRange{first, last}, -1, first.family()};
  }
  bool operator==(const AddressSpec&) const = default;
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 65535;

  bool IsAny() const { return first == 0 && last == 65535; }
  bool Contains(uint16_t p) const { return p >= first && p <= last; }
  static PortRange Single(uint16_t p) { return {p, p}; }
  bool operator==(const PortRange&) const = default;
};

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoAh = 51;
inline constexpr uint8_t kProtoIcmpV6 = 58;
inline constexpr uint8_t kProtoSctp = 132;

// Ports are meaningful only for these protocols.
inline bool ProtocolHasPorts(uint8_t p) {
  return p == kProtoTcp || p == kProtoUdp || p == kProtoSctp;
}

struct Filter {
  std::string description;
  AddressSpec source;
  AddressSpec destination;
  std::optional<uint8_t> protocol;  // nullopt: any protocol
  PortRange source_ports;
  PortRange destination_ports;
  // Mirrored: the filter also matches the reverse direction (FAQ 13, 22).
  bool mirrored = true;
  bool operator==(const Filter&) const = default;
};

struct FilterList {
  std::string name;
  std::string description;
  std::vector<Filter> filters;
  bool operator==(const FilterList&) const = default;
};

// ---- Algorithms ----------------------------------------------------------------------

enum class EncryptionAlgorithm {
  kNull,  // ESP-null: integrity only (FAQ 45); ESP only
  kAes128Gcm16,
  kAes256Gcm16,
  kAes128Cbc,
  kAes256Cbc,
  kChaCha20Poly1305,
  kTripleDes,  // legacy (FAQ 31)
  kDes,        // legacy (FAQ 31)
};

enum class IntegrityAlgorithm {
  kNone,  // only with an AEAD cipher
  kHmacSha256_128,
  kHmacSha384_192,
  kHmacSha512_256,
  kHmacSha1_96,  // legacy (FAQ 32)
  kHmacMd5_96,   // legacy (FAQ 32)
};

enum class PrfAlgorithm { kHmacSha256, kHmacSha384, kHmacSha512, kHmacSha1, kHmacMd5 };

// Diffie-Hellman groups by their IANA number (RFC 7296 §3.3.2, RFC 8031).
enum class DhGroup : uint16_t {
  kModp1024 = 2,  // legacy
  kModp2048 = 14,
  kModp3072 = 15,
  kEcp256 = 19,
  kEcp384 = 20,
  kEcp521 = 21,
  kCurve25519 = 31,
};

bool IsAead(EncryptionAlgorithm a);
bool IsLegacy(EncryptionAlgorithm a);
bool IsLegacy(IntegrityAlgorithm a);
bool IsLegacy(PrfAlgorithm a);
bool IsLegacy(DhGroup g);

// ---- Filter actions (FAQ 15-18) ------------------------------------------------------

enum class IpsecProtocol { kEsp, kAh, kAhEsp };

// One security method (a child SA proposal): AH and/or ESP, algorithms, session key lifetime.
struct SecurityMethod {
  IpsecProtocol protocol = IpsecProtocol::kEsp;
  EncryptionAlgorithm esp_encryption = EncryptionAlgorithm::kAes128Gcm16;
  IntegrityAlgorithm esp_integrity = IntegrityAlgorithm::kNone;
  IntegrityAlgorithm ah_integrity = IntegrityAlgorithm::kNone;  // kAh and kAhEsp
  uint64_t lifetime_kilobytes = 100000;  // 0: no byte limit
  uint32_t lifetime_seconds = 3600;
  bool operator==(const SecurityMethod&) const = default;
};

enum class ActionType { kPermit, kBlock, kNegotiate };

struct FilterAction {
  std::string name;
  std::string description;
  ActionType type = ActionType::kNegotiate;
  std::vector<SecurityMethod> security_methods;  // kNegotiate: in order of preference
  // "Accept unsecured communication, but always respond using IPsec" (FAQ 17).
  bool accept_unsecured = false;
  // "Allow unsecured communication with non IPsec-aware computer" (FAQ 16).
  bool allow_fallback_to_clear = false;
  // "Session key perfect forward secrecy" (FAQ 18).
  bool session_key_pfs = false;
  bool operator==(const FilterAction&) const = default;
};

// ---- Authentication (FAQ 11, 27-29) --------------------------------------------------

enum class AuthKind { kPreSharedKey, kCertificate, kKerberos };

struct AuthMethod {
  AuthKind kind = AuthKind::kPreSharedKey;
  // kPreSharedKey: the key itself (write-only through the API), or a file holding it (a
  // mounted Secret). Exactly one of the two is set.
  SecretBytes preshared_key;
  std::string preshared_key_file;
  // kCertificate: the name of the certification authority whose certificates are accepted
  // (its subject DN, or the name of a trust bundle).
  std::string certificate_authority;
  bool operator==(const AuthMethod&) const = default;
};

// ---- Rules and policies (FAQ 10, 11, 19) --------------------------------------------

struct ConnectionType {
  bool all_interfaces = true;
  std::vector<std::string> interfaces;  // when !all_interfaces
  bool operator==(const ConnectionType&) const = default;
};

struct Rule {
  std::string name;  // unique within the policy
  std::string description;
  std::string filter_list;    // name of a FilterList of the same policy
  std::string filter_action;  // name of a FilterAction of the same policy
  std::vector<AuthMethod> auth_methods;  // in order of preference
  std::optional<IpAddress> tunnel_endpoint;  // none: transport mode
  ConnectionType connection_type;
  bool active = true;
  bool operator==(const Rule&) const = default;
};

// The default response rule (FAQ 19): answers IKE requests that no rule covers. It cannot be
// deleted, only deactivated; its action is always "negotiate".
struct DefaultResponseRule {
  bool active = true;
  std::vector<SecurityMethod> security_methods;
  std::vector<AuthMethod> auth_methods;
  bool operator==(const DefaultResponseRule&) const = default;
};

struct IkeProposal {
  EncryptionAlgorithm encryption = EncryptionAlgorithm::kAes128Gcm16;
  IntegrityAlgorithm integrity = IntegrityAlgorithm::kNone;  // none with AEAD
  PrfAlgorithm prf = PrfAlgorithm::kHmacSha256;
  DhGroup dh_group = DhGroup::kCurve25519;
  bool operator==(const IkeProposal&) const = default;
};

// The FAQ's "key exchange settings" (main mode: our IKE SA).
struct KeyExchangeSettings {
  std::vector<IkeProposal> proposals;  // in order of preference
  uint32_t ike_sa_lifetime_seconds = 28800;
  // "Authenticate and generate a new key every N sessions": child SAs per IKE SA before the
  // IKE SA is rekeyed. 0: no limit.
  uint32_t max_child_sas_per_ike_sa = 0;
  bool operator==(const KeyExchangeSettings&) const = default;
};

// Built-in exemptions (FAQ 24-26). Each is on unless switched off. Exemptions take precedence
// over every rule.
struct Exemptions {
  bool ike = true;             // UDP 500/4500, and ESP/AH themselves
  bool dns = true;             // TCP and UDP 53
  bool netbios_name = true;    // UDP 137
  bool kubelet_probes = true;  // TCP from the node address (kubelet health probes)
  bool operator==(const Exemptions&) const = default;
};

struct Policy {
  std::string name;
  std::string description;
  // How often a file-sourced policy is re-read ("check for policy changes every N minutes").
  uint32_t polling_interval_seconds = 180 * 60;
  KeyExchangeSettings key_exchange;
  std::vector<FilterList> filter_lists;
  std::vector<FilterAction> filter_actions;
  std::vector<Rule> rules;
  DefaultResponseRule default_response;
  Exemptions exemptions;
  // Opt-in to DES, 3DES, MD5, SHA1 and group 2 (FAQ 31-32); rejected otherwise.
  bool allow_legacy_algorithms = false;
  bool operator==(const Policy&) const = default;

  const FilterList* FindFilterList(const std::string& n) const;
  const FilterAction* FindFilterAction(const std::string& n) const;
  const Rule* FindRule(const std::string& n) const;
};

// ---- Policy sources (FAQ 20) ------------------------------------------------------------

// Where an assigned policy comes from, from the farthest to the closest. The closest scope with
// an assigned policy is in force; policies are never merged.
enum class Scope { kCluster = 0, kNamespace = 1, kPod = 2 };

}  // namespace ipsec::engine::policy
