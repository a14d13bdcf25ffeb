#include "engine/policy/templates.h"

namespace ipsec::engine::policy {
namespace {

constexpr std::string_view kRespondOnly = "respond-only";
constexpr std::string_view kRequestSecurity = "request-security";
constexpr std::string_view kRequireSecurity = "require-security";

SecurityMethod Esp(EncryptionAlgorithm encryption,
                   IntegrityAlgorithm integrity = IntegrityAlgorithm::kNone) {
  SecurityMethod m;
  m.protocol = IpsecProtocol::kEsp;
  m.esp_encryption = encryption;
  m.esp_integrity = integrity;
  return m;
}

// "all-ip": every packet, both families, both directions.
FilterList AllIpList() {
  Filter f;
  f.description = "all IP traffic";
  f.mirrored = true;
  return FilterList{"all-ip", "all IP traffic", {f}};
}

// "all-icmp": ICMP and ICMPv6 stay in the clear so ping, path MTU discovery and IPv6 neighbour
// discovery keep working (as the FAQ's predefined policies permit ICMP).
FilterList AllIcmpList() {
  Filter v4;
  v4.description = "ICMP";
  v4.source = AddressSpec::Any(IpFamily::kV4);
  v4.destination = AddressSpec::Any(IpFamily::kV4);
  v4.protocol = kProtoIcmp;
  Filter v6 = v4;
  v6.description = "ICMPv6";
  v6.source = AddressSpec::Any(IpFamily::kV6);
  v6.destination = AddressSpec::Any(IpFamily::kV6);
  v6.protocol = kProtoIcmpV6;
  return FilterList{"all-icmp", "all ICMP traffic", {v4, v6}};
}

std::vector<FilterAction> StandardActions() {
  FilterAction permit{"permit", "permit unsecured IP packets", ActionType::kPermit, {},
                      false, false, false};
  FilterAction request{"request-security",
                       "negotiate security; accept unsecured communication and fall back to "
                       "clear with peers that are not IPsec-aware",
                       ActionType::kNegotiate,
                       DefaultSecurityMethods(),
                       true,
                       true,
                       false};
  FilterAction require{"require-security",
                       "negotiate security; never accept or fall back to unsecured "
                       "communication",
                       ActionType::kNegotiate,
                       DefaultSecurityMethods(),
                       false,
                       false,
                       false};
  return {permit, request, require};
}

Rule MakeRule(std::string name, std::string list, std::string action,
              const std::vector<AuthMethod>& auth_methods) {
  Rule r;
  r.name = std::move(name);
  r.filter_list = std::move(list);
  r.filter_action = std::move(action);
  r.auth_methods = auth_methods;
  return r;
}

Policy BasePolicy(std::string policy_name, std::string description,
                  const std::vector<AuthMethod>& auth_methods) {
  Policy p;
  p.name = std::move(policy_name);
  p.description = std::move(description);
  p.key_exchange.proposals = DefaultIkeProposals();
  p.default_response.active = true;  // FAQ 19: active by default in every policy
  p.default_response.security_methods = DefaultSecurityMethods();
  p.default_response.auth_methods = auth_methods;
  return p;
}

Policy SecuringPolicy(std::string policy_name, std::string description,
                      const char* ip_action, const std::vector<AuthMethod>& auth_methods) {
  Policy p = BasePolicy(std::move(policy_name), std::move(description), auth_methods);
  p.filter_lists = {AllIpList(), AllIcmpList()};
  p.filter_actions = StandardActions();
  p.rules = {MakeRule("all-ip", "all-ip", ip_action, auth_methods),
             MakeRule("all-icmp", "all-icmp", "permit", auth_methods)};
  return p;
}

}  // namespace

std::vector<std::string> TemplateNames() {
  return {std::string(kRespondOnly), std::string(kRequestSecurity),
          std::string(kRequireSecurity)};
}

std::optional<Policy> MakeTemplate(std::string_view template_name, std::string policy_name,
                                   const std::vector<AuthMethod>& auth_methods) {
  if (template_name == kRespondOnly) {
    return BasePolicy(std::move(policy_name),
                      "Client (Respond Only): communicate normally, answer requests for "
                      "security with the default response rule",
                      auth_methods);
  }
  if (template_name == kRequestSecurity) {
    return SecuringPolicy(std::move(policy_name),
                          "Server (Request Security): request security for all IP traffic, "
                          "allow unsecured communication with peers that do not answer",
                          "request-security", auth_methods);
  }
  if (template_name == kRequireSecurity) {
    return SecuringPolicy(std::move(policy_name),
                          "Secure Server (Require Security): require security for all IP "
                          "traffic, never communicate unsecured",
                          "require-security", auth_methods);
  }
  return std::nullopt;
}

std::vector<SecurityMethod> DefaultSecurityMethods() {
  return {Esp(EncryptionAlgorithm::kAes128Gcm16), Esp(EncryptionAlgorithm::kAes256Gcm16),
          Esp(EncryptionAlgorithm::kChaCha20Poly1305),
          Esp(EncryptionAlgorithm::kAes128Cbc, IntegrityAlgorithm::kHmacSha256_128)};
}

std::vector<IkeProposal> DefaultIkeProposals() {
  return {
      {EncryptionAlgorithm::kAes128Gcm16, IntegrityAlgorithm::kNone, PrfAlgorithm::kHmacSha256,
       DhGroup::kCurve25519},
      {EncryptionAlgorithm::kAes256Gcm16, IntegrityAlgorithm::kNone, PrfAlgorithm::kHmacSha384,
       DhGroup::kEcp384},
      {EncryptionAlgorithm::kAes128Cbc, IntegrityAlgorithm::kHmacSha256_128,
       PrfAlgorithm::kHmacSha256, DhGroup::kModp2048},
  };
}

}  // namespace ipsec::engine::policy
