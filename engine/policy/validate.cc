#include "engine/policy/validate.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/policy/names.h"

namespace ipsec::engine::policy {
namespace {

// Paths are JSON pointers spelled with the field names of docs/api.md, so the API can hand them
// to the client unchanged.
std::string At(const std::string& base, size_t index) { return base + "/" + std::to_string(index); }

Error Invalid(std::string path, std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(path));
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// ---- Names -------------------------------------------------------------------------------

// Names are how rules refer to filter lists and actions, and how the API addresses every part,
// so they must be present and unique within their kind.
template <typename T>
Status ValidateNames(const std::vector<T>& items, const std::string& base, const char* what) {
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& name = items[i].name;
    if (name.empty()) {
      return Invalid(At(base, i) + "/name",
                     std::string(what) + " name is empty; give every " + what + " a name");
    }
    auto [it, inserted] = seen.emplace(name, i);
    if (!inserted) {
      return Invalid(At(base, i) + "/name", std::string(what) + " name " + Quote(name) +
                                                " is already used at " + At(base, it->second) +
                                                "; names must be unique, rename one of them");
    }
  }
  return Status::Ok();
}

// ---- Algorithms -----------------------------------------------------------------------------

template <typename Alg>
Status CheckLegacy(Alg alg, bool allow_legacy, const std::string& path) {
  if (allow_legacy || !IsLegacy(alg)) return Status::Ok();
  return Invalid(path, Quote(Name(alg)) +
                           " is a legacy algorithm (FAQ 31-32: DES, 3DES, MD5, SHA1 and group 2 "
                           "are weak); choose a current one, or set allow_legacy_algorithms to "
                           "true for peers that support nothing better");
}

Status ValidateEspTransforms(const SecurityMethod& m, const std::string& path, bool legacy) {
  if (auto s = CheckLegacy(m.esp_encryption, legacy, path + "/esp_encryption"); !s) return s;
  const std::string cipher = Quote(Name(m.esp_encryption));
  if (IsAead(m.esp_encryption) && m.esp_integrity != IntegrityAlgorithm::kNone) {
    return Invalid(path + "/esp_integrity",
                   cipher +
                       " is an AEAD cipher with built-in integrity (RFC 4106); set "
                       "esp_integrity to none");
  }
  if (!IsAead(m.esp_encryption) && m.esp_integrity == IntegrityAlgorithm::kNone) {
    if (m.esp_encryption == EncryptionAlgorithm::kNull) {
      return Invalid(path + "/esp_integrity",
                     "ESP-null authenticates without encrypting (FAQ 45), so it needs an "
                     "esp_integrity algorithm such as sha256");
    }
    return Invalid(path + "/esp_integrity",
                   cipher +
                       " encrypts without integrity protection; choose an esp_integrity "
                       "algorithm such as sha256, or an AEAD cipher such as aes128gcm16");
  }
  return CheckLegacy(m.esp_integrity, legacy, path + "/esp_integrity");
}

Status ValidateSecurityMethod(const SecurityMethod& m, const std::string& path, bool legacy) {
  const bool esp = m.protocol != IpsecProtocol::kAh;
  const bool ah = m.protocol != IpsecProtocol::kEsp;
  if (esp) {
    if (auto s = ValidateEspTransforms(m, path, legacy); !s) return s;
  }
  if (ah) {
    if (m.ah_integrity == IntegrityAlgorithm::kNone) {
      return Invalid(path + "/ah_integrity",
                     "protocol " + Quote(Name(m.protocol)) +
                         " needs an ah_integrity algorithm such as sha256 (FAQ 45-46)");
    }
    if (auto s = CheckLegacy(m.ah_integrity, legacy, path + "/ah_integrity"); !s) return s;
  } else if (m.ah_integrity != IntegrityAlgorithm::kNone) {
    return Invalid(path + "/ah_integrity",
                   "ah_integrity applies only to protocols ah and ah+esp; set it to none or "
                   "change the protocol");
  }
  if (m.lifetime_seconds == 0) {
    return Invalid(path + "/lifetime_seconds",
                   "the session key lifetime must be greater than 0 seconds (default 3600)");
  }
  return Status::Ok();
}

Status ValidateSecurityMethods(const std::vector<SecurityMethod>& methods, const std::string& base,
                               bool legacy) {
  for (size_t i = 0; i < methods.size(); ++i) {
    if (auto s = ValidateSecurityMethod(methods[i], At(base, i), legacy); !s) return s;
  }
  return Status::Ok();
}

Status ValidateIkeProposal(const IkeProposal& p, const std::string& path, bool legacy) {
  if (p.encryption == EncryptionAlgorithm::kNull) {
    return Invalid(path + "/encryption",
                   "IKE messages must be encrypted: 'null' is only for ESP; choose e.g. "
                   "aes128gcm16");
  }
  if (auto s = CheckLegacy(p.encryption, legacy, path + "/encryption"); !s) return s;
  const std::string cipher = Quote(Name(p.encryption));
  if (IsAead(p.encryption) && p.integrity != IntegrityAlgorithm::kNone) {
    return Invalid(path + "/integrity", cipher +
                                            " is an AEAD cipher with built-in integrity (RFC "
                                            "5282); set integrity to none");
  }
  if (!IsAead(p.encryption) && p.integrity == IntegrityAlgorithm::kNone) {
    return Invalid(path + "/integrity",
                   cipher +
                       " needs an integrity algorithm such as sha256, or use an AEAD "
                       "cipher such as aes128gcm16");
  }
  if (auto s = CheckLegacy(p.integrity, legacy, path + "/integrity"); !s) return s;
  if (auto s = CheckLegacy(p.prf, legacy, path + "/prf"); !s) return s;
  return CheckLegacy(p.dh_group, legacy, path + "/dh_group");
}

Status ValidateKeyExchange(const Policy& policy) {
  const KeyExchangeSettings& kx = policy.key_exchange;
  for (size_t i = 0; i < kx.proposals.size(); ++i) {
    if (auto s = ValidateIkeProposal(kx.proposals[i], At("/key_exchange/proposals", i),
                                     policy.allow_legacy_algorithms);
        !s) {
      return s;
    }
  }
  if (kx.ike_sa_lifetime_seconds == 0) {
    return Invalid("/key_exchange/ike_sa_lifetime_seconds",
                   "the IKE SA lifetime must be greater than 0 seconds (default 28800)");
  }
  return Status::Ok();
}

// ---- Filters --------------------------------------------------------------------------------

// The family an address side is restricted to; nullopt for "any"/"me" of both families.
std::optional<IpFamily> SideFamily(const AddressSpec& a) {
  if (a.kind == AddressKind::kAny || a.kind == AddressKind::kMyAddress) return a.family;
  return a.range.family();
}

Status ValidateAddress(const AddressSpec& a, const std::string& path) {
  if (a.kind == AddressKind::kAny || a.kind == AddressKind::kMyAddress) return Status::Ok();
  if (a.range.first.family() != a.range.last.family()) {
    return Invalid(path, "address range " + a.range.first.ToString() + "-" +
                             a.range.last.ToString() +
                             " mixes IPv4 and IPv6; both ends must be of one family");
  }
  if (a.range.first.value() > a.range.last.value()) {
    return Invalid(path, "address range " + a.range.first.ToString() + "-" +
                             a.range.last.ToString() +
                             " is reversed; the first address must not be greater than the "
                             "last (write " +
                             a.range.last.ToString() + "-" + a.range.first.ToString() + ")");
  }
  if (a.kind == AddressKind::kSingle && a.range.first != a.range.last) {
    return Invalid(path, "a single address must cover exactly one address");
  }
  if (a.kind == AddressKind::kSubnet &&
      (a.prefix_len < 0 || a.prefix_len > FamilyBits(a.range.family()))) {
    return Invalid(path, "prefix length " + std::to_string(a.prefix_len) + " is out of range for " +
                             FamilyName(a.range.family()) + " (0-" +
                             std::to_string(FamilyBits(a.range.family())) + ")");
  }
  return Status::Ok();
}

Status ValidatePorts(const Filter& f, const PortRange& ports, const std::string& path) {
  if (ports.IsAny()) return Status::Ok();
  if (!f.protocol || !ProtocolHasPorts(*f.protocol)) {
    const std::string proto = f.protocol ? ProtocolName(*f.protocol) : "any";
    return Invalid(path, "ports apply only to tcp, udp and sctp, but the protocol is " +
                             Quote(proto) + "; set the protocol or make the ports \"any\"");
  }
  if (ports.first > ports.last) {
    return Invalid(path, "port range " + std::to_string(ports.first) + "-" +
                             std::to_string(ports.last) +
                             " is reversed; the first port must not be greater than the last");
  }
  return Status::Ok();
}

Status ValidateFilter(const Filter& f, const std::string& path) {
  if (auto s = ValidateAddress(f.source, path + "/source"); !s) return s;
  if (auto s = ValidateAddress(f.destination, path + "/destination"); !s) return s;
  auto src_family = SideFamily(f.source);
  auto dst_family = SideFamily(f.destination);
  if (src_family && dst_family && *src_family != *dst_family) {
    return Invalid(path + "/destination",
                   std::string("the source is ") + FamilyName(*src_family) +
                       " but the destination is " + FamilyName(*dst_family) +
                       "; a packet has one family, so use two filters (one per family) or "
                       "\"any\"/\"me\" for both");
  }
  if (auto s = ValidatePorts(f, f.source_ports, path + "/source_ports"); !s) return s;
  return ValidatePorts(f, f.destination_ports, path + "/destination_ports");
}

Status ValidateFilterLists(const Policy& policy) {
  if (auto s = ValidateNames(policy.filter_lists, "/filter_lists", "filter list"); !s) return s;
  for (size_t i = 0; i < policy.filter_lists.size(); ++i) {
    const FilterList& list = policy.filter_lists[i];
    const std::string base = At("/filter_lists", i);
    if (list.filters.empty()) {
      return Invalid(base + "/filters", "filter list " + Quote(list.name) +
                                            " has no filters; add at least one (FAQ 14)");
    }
    for (size_t j = 0; j < list.filters.size(); ++j) {
      if (auto s = ValidateFilter(list.filters[j], At(base + "/filters", j)); !s) return s;
    }
  }
  return Status::Ok();
}

Status ValidateFilterActions(const Policy& policy) {
  if (auto s = ValidateNames(policy.filter_actions, "/filter_actions", "filter action"); !s) {
    return s;
  }
  for (size_t i = 0; i < policy.filter_actions.size(); ++i) {
    const FilterAction& action = policy.filter_actions[i];
    // Permit and block keep their methods (an operator may switch the type back), so they
    // must be valid too. An empty list means DefaultSecurityMethods().
    if (auto s = ValidateSecurityMethods(action.security_methods,
                                         At("/filter_actions", i) + "/security_methods",
                                         policy.allow_legacy_algorithms);
        !s) {
      return s;
    }
  }
  return Status::Ok();
}

// ---- Rules ------------------------------------------------------------------------------------

Status ValidateAuthMethods(const std::vector<AuthMethod>& methods, const std::string& base) {
  for (size_t i = 0; i < methods.size(); ++i) {
    const AuthMethod& m = methods[i];
    const std::string path = At(base, i);
    if (m.kind == AuthKind::kPreSharedKey) {
      if (m.preshared_key.empty() && m.preshared_key_file.empty()) {
        return Invalid(path + "/preshared_key",
                       "preshared key authentication needs preshared_key or "
                       "preshared_key_file (a mounted Secret)");
      }
      if (!m.preshared_key.empty() && !m.preshared_key_file.empty()) {
        return Invalid(path + "/preshared_key_file",
                       "set only one of preshared_key and preshared_key_file");
      }
    } else if (m.kind == AuthKind::kCertificate && m.certificate_authority.empty()) {
      return Invalid(path + "/certificate_authority",
                     "certificate authentication needs certificate_authority: the CA whose "
                     "certificates are accepted (FAQ 11, 29)");
    }
  }
  return Status::Ok();
}

std::string NamesOf(const auto& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + Quote(item.name);
  return out.empty() ? "(none defined)" : out;
}

Status ValidateReference(const std::string& name, bool found, const std::string& path,
                         const char* what, const std::string& known) {
  if (name.empty()) {
    return Invalid(
        path, std::string("the rule names no ") + what + "; every rule needs exactly one (FAQ 11)");
  }
  if (!found) {
    return Invalid(path, std::string(what) + " " + Quote(name) +
                             " does not exist; create it or use one of: " + known);
  }
  return Status::Ok();
}

Status ValidateRuleSettings(const Rule& rule, const std::string& base) {
  if (rule.tunnel_endpoint) {
    const IpAddress& ep = *rule.tunnel_endpoint;
    if (ep.IsMulticast() || ep.IsLimitedBroadcast() || ep.value() == 0) {
      return Invalid(base + "/tunnel_endpoint",
                     "tunnel endpoint " + ep.ToString() +
                         " is not a unicast address; give the peer's (or for inbound, our) "
                         "address, or null for transport mode (FAQ 11)");
    }
  }
  const ConnectionType& ct = rule.connection_type;
  if (!ct.all_interfaces) {
    if (ct.interfaces.empty()) {
      return Invalid(base + "/connection_type",
                     "the connection type names no interfaces; use \"all\" or list interface "
                     "names");
    }
    for (size_t i = 0; i < ct.interfaces.size(); ++i) {
      if (ct.interfaces[i].empty()) {
        return Invalid(At(base + "/connection_type", i), "interface name is empty");
      }
    }
  }
  return ValidateAuthMethods(rule.auth_methods, base + "/auth_methods");
}

Status ValidateRules(const Policy& policy) {
  if (auto s = ValidateNames(policy.rules, "/rules", "rule"); !s) return s;
  for (size_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& rule = policy.rules[i];
    const std::string base = At("/rules", i);
    if (auto s =
            ValidateReference(rule.filter_list, policy.FindFilterList(rule.filter_list),
                              base + "/filter_list", "filter list", NamesOf(policy.filter_lists));
        !s) {
      return s;
    }
    if (auto s = ValidateReference(rule.filter_action, policy.FindFilterAction(rule.filter_action),
                                   base + "/filter_action", "filter action",
                                   NamesOf(policy.filter_actions));
        !s) {
      return s;
    }
    if (auto s = ValidateRuleSettings(rule, base); !s) return s;
  }
  return Status::Ok();
}

Status ValidateDefaultResponse(const Policy& policy) {
  const std::string base = "/default_response_rule";
  if (auto s = ValidateSecurityMethods(policy.default_response.security_methods,
                                       base + "/security_methods", policy.allow_legacy_algorithms);
      !s) {
    return s;
  }
  return ValidateAuthMethods(policy.default_response.auth_methods, base + "/auth_methods");
}

// ---- Multicast and broadcast (FAQ 21) -------------------------------------------------------

const IpRange& MulticastRange(IpFamily family) {
  static const IpRange kV4 = IpRange::FromPrefix(IpAddress::V4(0xe0000000u), 4);
  static const IpRange kV6 = IpRange::FromPrefix(IpAddress(IpFamily::kV6, Uint128{0xff} << 120), 8);
  return family == IpFamily::kV4 ? kV4 : kV6;
}

// Why a side can only ever match multicast or broadcast packets; empty when it can match
// unicast ones too.
std::string OnlyMulticastOrBroadcast(const AddressSpec& a) {
  if (a.kind == AddressKind::kAny || a.kind == AddressKind::kMyAddress) return {};
  if (a.range.first == a.range.last && a.range.first.IsLimitedBroadcast()) {
    return a.range.ToString() + " is the broadcast address";
  }
  if (a.range.ContainedIn(MulticastRange(a.range.family()))) {
    return a.range.ToString() + " is multicast";
  }
  return {};
}

Status ValidateNoSecuredMulticast(const Policy& policy) {
  for (const Rule& rule : policy.rules) {
    const FilterAction* action = policy.FindFilterAction(rule.filter_action);
    if (!rule.active || action == nullptr || action->type != ActionType::kNegotiate) continue;
    const FilterList* list = policy.FindFilterList(rule.filter_list);
    const size_t list_index = list - policy.filter_lists.data();
    for (size_t j = 0; j < list->filters.size(); ++j) {
      const Filter& f = list->filters[j];
      const std::string base = At(At("/filter_lists", list_index) + "/filters", j);
      for (const auto& [side, field] :
           {std::pair{&f.source, "/source"}, std::pair{&f.destination, "/destination"}}) {
        std::string why = OnlyMulticastOrBroadcast(*side);
        if (why.empty()) continue;
        return Invalid(base + field, "rule " + Quote(rule.name) + " negotiates security (filter " +
                                         "action " + Quote(action->name) + ") but " + why +
                                         ": IPsec cannot secure multicast or broadcast traffic "
                                         "(FAQ 21); use a block or permit action");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidatePolicy(const Policy& policy) {
  if (policy.name.empty()) return Invalid("/name", "the policy has no name; give it one");
  if (auto s = ValidateKeyExchange(policy); !s) return s;
  if (auto s = ValidateFilterLists(policy); !s) return s;
  if (auto s = ValidateFilterActions(policy); !s) return s;
  if (auto s = ValidateRules(policy); !s) return s;
  if (auto s = ValidateDefaultResponse(policy); !s) return s;
  return ValidateNoSecuredMulticast(policy);
}

}  // namespace ipsec::engine::policy
