#include "engine/policy/validate.h"

#include <gtest/gtest.h>

#include <functional>

#include "engine/policy/templates.h"
#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::policy {
namespace {

using namespace ::ipsec::engine::policy::testing;  // NOLINT: test builders

// A valid policy every case starts from: rule "db" secures me -> 10.99.2.0/24 tcp/5432.
Policy Valid() {
  Policy p = BasePolicy();
  AddRule(
      p, "db",
      {MakeFilter(AddressSpec::Me(), Net("10.99.2.0/24"), kProtoTcp, {}, PortRange::Single(5432))},
      "secure");
  return p;
}

SecurityMethod& Method(Policy& p) {
  FilterAction& a = p.filter_actions[2];
  if (a.security_methods.empty()) a.security_methods.push_back(SecurityMethod{});
  return a.security_methods[0];
}

Filter& FirstFilter(Policy& p) { return p.filter_lists[0].filters[0]; }

AuthMethod Psk(std::string key, std::string file = {}) {
  AuthMethod m;
  m.kind = AuthKind::kPreSharedKey;
  m.preshared_key = SecretBytes(key);
  m.preshared_key_file = std::move(file);
  return m;
}

struct Case {
  const char* name;
  std::function<void(Policy&)> mutate;
  const char* path;     // nullptr: the policy stays valid
  const char* message;  // a part of the expected message
};

class ValidateTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateTest, ReportsPathAndMessage) {
  const Case& c = GetParam();
  Policy p = Valid();
  c.mutate(p);
  Status s = ValidatePolicy(p);
  if (c.path == nullptr) {
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return;
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().path, c.path) << s.error().message;
  EXPECT_NE(s.error().message.find(c.message), std::string::npos) << s.error().message;
}

const Case kCases[] = {
    {"ValidBase", [](Policy&) {}, nullptr, ""},
    // ---- names and references
    {"PolicyNameEmpty", [](Policy& p) { p.name.clear(); }, "/name", "no name"},
    {"FilterListNameEmpty", [](Policy& p) { p.filter_lists[0].name.clear(); },
     "/filter_lists/0/name", "name is empty"},
    {"FilterListNameDuplicate", [](Policy& p) { p.filter_lists.push_back(p.filter_lists[0]); },
     "/filter_lists/1/name", "already used at /filter_lists/0"},
    {"FilterActionNameEmpty", [](Policy& p) { p.filter_actions[0].name.clear(); },
     "/filter_actions/0/name", "name is empty"},
    {"FilterActionNameDuplicate",
     [](Policy& p) { p.filter_actions.push_back(p.filter_actions[1]); }, "/filter_actions/3/name",
     "'block'"},
    {"RuleNameEmpty", [](Policy& p) { p.rules[0].name.clear(); }, "/rules/0/name", "name is empty"},
    {"RuleNameDuplicate", [](Policy& p) { p.rules.push_back(p.rules[0]); }, "/rules/1/name",
     "unique"},
    {"RuleWithoutFilterList", [](Policy& p) { p.rules[0].filter_list.clear(); },
     "/rules/0/filter_list", "names no filter list"},
    {"RuleUnknownFilterList", [](Policy& p) { p.rules[0].filter_list = "nope"; },
     "/rules/0/filter_list", "'nope' does not exist; create it or use one of: 'db'"},
    {"RuleUnknownFilterAction", [](Policy& p) { p.rules[0].filter_action = "nope"; },
     "/rules/0/filter_action", "'permit', 'block', 'secure'"},
    {"FilterListWithoutFilters", [](Policy& p) { p.filter_lists[0].filters.clear(); },
     "/filter_lists/0/filters", "at least one"},
    // ---- addresses
    {"RangeReversed", [](Policy& p) { FirstFilter(p).destination = Span("10.0.0.9", "10.0.0.5"); },
     "/filter_lists/0/filters/0/destination", "reversed"},
    {"RangeMixedFamilies", [](Policy& p) { FirstFilter(p).source = Span("10.0.0.1", "fd00::1"); },
     "/filter_lists/0/filters/0/source", "mixes IPv4 and IPv6"},
    {"SubnetPrefixTooLong",
     [](Policy& p) {
       AddressSpec a = Net("10.0.0.0/24");
       a.prefix_len = 33;
       FirstFilter(p).source = a;
     },
     "/filter_lists/0/filters/0/source", "prefix length 33"},
    {"SingleCoveringTwo",
     [](Policy& p) {
       AddressSpec a = One("10.0.0.1");
       a.range.last = Ip("10.0.0.2");
       FirstFilter(p).source = a;
     },
     "/filter_lists/0/filters/0/source", "exactly one address"},
    {"FamiliesDiffer", [](Policy& p) { FirstFilter(p).source = One("fd00::1"); },
     "/filter_lists/0/filters/0/destination", "the source is ipv6 but the destination is ipv4"},
    {"AnyOfOneFamilyAgainstOther",
     [](Policy& p) { FirstFilter(p).source = AddressSpec::Any(IpFamily::kV6); },
     "/filter_lists/0/filters/0/destination", "ipv6"},
    {"MeOfOneFamilyAgainstOther",
     [](Policy& p) {
       FirstFilter(p).source = AddressSpec::Me(IpFamily::kV4);
       FirstFilter(p).destination = Net("fd00:99:2::/64");
     },
     "/filter_lists/0/filters/0/destination", "ipv4"},
    {"AnyAndMeFitEitherFamily",
     [](Policy& p) {
       FirstFilter(p).destination = Net("fd00:99:2::/64");
       p.filter_lists[0].filters.push_back(MakeFilter(AddressSpec::Any(), One("10.1.1.1")));
     },
     nullptr, ""},
    // ---- ports
    {"PortsWithIcmp", [](Policy& p) { FirstFilter(p).protocol = kProtoIcmp; },
     "/filter_lists/0/filters/0/destination_ports", "'icmp'"},
    {"PortsWithAnyProtocol",
     [](Policy& p) {
       FirstFilter(p).protocol.reset();
       FirstFilter(p).destination_ports = {};
       FirstFilter(p).source_ports = PortRange::Single(1);
     },
     "/filter_lists/0/filters/0/source_ports", "'any'"},
    {"PortsReversed",
     [](Policy& p) {
       FirstFilter(p).destination_ports = {90, 80};
     },
     "/filter_lists/0/filters/0/destination_ports", "reversed"},
    {"PortsWithUdpAndSctp",
     [](Policy& p) {
       FirstFilter(p).protocol = kProtoUdp;
       Filter f = FirstFilter(p);
       f.protocol = kProtoSctp;
       p.filter_lists[0].filters.push_back(f);
     },
     nullptr, ""},
    // ---- security methods
    {"NegotiateWithoutMethodsMeansDefaults",
     [](Policy& p) { p.filter_actions[2].security_methods.clear(); }, nullptr, ""},
    {"AeadWithIntegrity",
     [](Policy& p) { Method(p).esp_integrity = IntegrityAlgorithm::kHmacSha256_128; },
     "/filter_actions/2/security_methods/0/esp_integrity", "set esp_integrity to none"},
    {"CbcWithoutIntegrity",
     [](Policy& p) { Method(p).esp_encryption = EncryptionAlgorithm::kAes256Cbc; },
     "/filter_actions/2/security_methods/0/esp_integrity", "'aes256' encrypts without"},
    {"EspNullWithoutIntegrity",
     [](Policy& p) { Method(p).esp_encryption = EncryptionAlgorithm::kNull; },
     "/filter_actions/2/security_methods/0/esp_integrity", "ESP-null"},
    {"EspNullWithIntegrity",
     [](Policy& p) {
       Method(p).esp_encryption = EncryptionAlgorithm::kNull;
       Method(p).esp_integrity = IntegrityAlgorithm::kHmacSha256_128;
     },
     nullptr, ""},
    {"SecondMethodPath",
     [](Policy& p) {
       Method(p);
       SecurityMethod bad;
       bad.esp_encryption = EncryptionAlgorithm::kAes128Cbc;
       p.filter_actions[2].security_methods.push_back(bad);
     },
     "/filter_actions/2/security_methods/1/esp_integrity", "sha256"},
    {"AhWithoutIntegrity", [](Policy& p) { Method(p).protocol = IpsecProtocol::kAh; },
     "/filter_actions/2/security_methods/0/ah_integrity", "'ah' needs"},
    {"AhWithIntegrity",
     [](Policy& p) {
       Method(p).protocol = IpsecProtocol::kAh;
       Method(p).ah_integrity = IntegrityAlgorithm::kHmacSha384_192;
     },
     nullptr, ""},
    {"AhEspWithoutAhIntegrity", [](Policy& p) { Method(p).protocol = IpsecProtocol::kAhEsp; },
     "/filter_actions/2/security_methods/0/ah_integrity", "'ah+esp' needs"},
    {"AhEspBundleWithAhIntegrity",  // FAQ 46, negotiated between sidecars (engine/ike/bundle.h)
     [](Policy& p) {
       Method(p).protocol = IpsecProtocol::kAhEsp;
       Method(p).ah_integrity = IntegrityAlgorithm::kHmacSha256_128;
     },
     nullptr, ""},
    {"EspWithAhIntegrity",
     [](Policy& p) { Method(p).ah_integrity = IntegrityAlgorithm::kHmacSha256_128; },
     "/filter_actions/2/security_methods/0/ah_integrity", "only to protocols ah and ah+esp"},
    {"LifetimeZero", [](Policy& p) { Method(p).lifetime_seconds = 0; },
     "/filter_actions/2/security_methods/0/lifetime_seconds", "greater than 0"},
    {"LegacyEspCipher",
     [](Policy& p) {
       Method(p).esp_encryption = EncryptionAlgorithm::kTripleDes;
       Method(p).esp_integrity = IntegrityAlgorithm::kHmacSha256_128;
     },
     "/filter_actions/2/security_methods/0/esp_encryption", "set allow_legacy_algorithms"},
    {"LegacyEspIntegrity",
     [](Policy& p) {
       Method(p).esp_encryption = EncryptionAlgorithm::kAes128Cbc;
       Method(p).esp_integrity = IntegrityAlgorithm::kHmacMd5_96;
     },
     "/filter_actions/2/security_methods/0/esp_integrity", "'md5' is a legacy algorithm"},
    {"LegacyAhIntegrity",
     [](Policy& p) {
       Method(p).protocol = IpsecProtocol::kAh;
       Method(p).ah_integrity = IntegrityAlgorithm::kHmacSha1_96;
     },
     "/filter_actions/2/security_methods/0/ah_integrity", "legacy"},
    {"LegacyAllowedWhenOptedIn",
     [](Policy& p) {
       p.allow_legacy_algorithms = true;
       Method(p).esp_encryption = EncryptionAlgorithm::kDes;
       Method(p).esp_integrity = IntegrityAlgorithm::kHmacMd5_96;
       p.key_exchange.proposals = {{EncryptionAlgorithm::kTripleDes,
                                    IntegrityAlgorithm::kHmacSha1_96, PrfAlgorithm::kHmacMd5,
                                    DhGroup::kModp1024}};
     },
     nullptr, ""},
    {"PermitActionMethodsStillChecked",
     [](Policy& p) {
       SecurityMethod bad;
       bad.lifetime_seconds = 0;
       p.filter_actions[0].security_methods = {bad};
     },
     "/filter_actions/0/security_methods/0/lifetime_seconds", "greater than 0"},
    // ---- IKE proposals
    {"IkeNullEncryption",
     [](Policy& p) { p.key_exchange.proposals = {IkeProposal{EncryptionAlgorithm::kNull}}; },
     "/key_exchange/proposals/0/encryption", "must be encrypted"},
    {"IkeCbcWithoutIntegrity",
     [](Policy& p) {
       p.key_exchange.proposals = DefaultIkeProposals();
       p.key_exchange.proposals[1].encryption = EncryptionAlgorithm::kAes256Cbc;
     },
     "/key_exchange/proposals/1/integrity", "needs an integrity algorithm"},
    {"IkeAeadWithIntegrity",
     [](Policy& p) {
       p.key_exchange.proposals = {IkeProposal{}};
       p.key_exchange.proposals[0].integrity = IntegrityAlgorithm::kHmacSha256_128;
     },
     "/key_exchange/proposals/0/integrity", "set integrity to none"},
    {"IkeLegacyCipher",
     [](Policy& p) {
       p.key_exchange.proposals = {
           {EncryptionAlgorithm::kTripleDes, IntegrityAlgorithm::kHmacSha256_128}};
     },
     "/key_exchange/proposals/0/encryption", "'3des' is a legacy algorithm (FAQ 31-32"},
    {"IkeLegacyIntegrity",
     [](Policy& p) {
       p.key_exchange.proposals = {
           {EncryptionAlgorithm::kAes128Cbc, IntegrityAlgorithm::kHmacSha1_96}};
     },
     "/key_exchange/proposals/0/integrity", "'sha1'"},
    {"IkeLegacyPrf",
     [](Policy& p) {
       p.key_exchange.proposals = {IkeProposal{}};
       p.key_exchange.proposals[0].prf = PrfAlgorithm::kHmacMd5;
     },
     "/key_exchange/proposals/0/prf", "'prfmd5'"},
    {"IkeLegacyGroup",
     [](Policy& p) {
       p.key_exchange.proposals = DefaultIkeProposals();
       p.key_exchange.proposals[1].dh_group = DhGroup::kModp1024;
     },
     "/key_exchange/proposals/1/dh_group", "'modp1024'"},
    {"IkeLifetimeZero", [](Policy& p) { p.key_exchange.ike_sa_lifetime_seconds = 0; },
     "/key_exchange/ike_sa_lifetime_seconds", "greater than 0"},
    // ---- authentication
    {"PskWithoutKey", [](Policy& p) { p.rules[0].auth_methods = {Psk("")}; },
     "/rules/0/auth_methods/0/preshared_key", "preshared_key_file"},
    {"PskWithKeyAndFile",
     [](Policy& p) {
       p.rules[0].auth_methods = {Psk("k"), Psk("k", "/etc/psk")};
     },
     "/rules/0/auth_methods/1/preshared_key_file", "only one"},
    {"PskFromFile", [](Policy& p) { p.rules[0].auth_methods = {Psk("", "/etc/psk")}; }, nullptr,
     ""},
    {"CertificateWithoutCa",
     [](Policy& p) {
       AuthMethod m;
       m.kind = AuthKind::kCertificate;
       p.rules[0].auth_methods = {m};
     },
     "/rules/0/auth_methods/0/certificate_authority", "certificate_authority"},
    {"KerberosAccepted",
     [](Policy& p) {
       AuthMethod m;
       m.kind = AuthKind::kKerberos;
       p.rules[0].auth_methods = {m};
     },
     nullptr, ""},
    // ---- tunnel endpoint and connection type
    {"TunnelEndpointMulticast", [](Policy& p) { p.rules[0].tunnel_endpoint = Ip("239.1.1.1"); },
     "/rules/0/tunnel_endpoint", "not a unicast address"},
    {"TunnelEndpointBroadcast",
     [](Policy& p) { p.rules[0].tunnel_endpoint = Ip("255.255.255.255"); },
     "/rules/0/tunnel_endpoint", "255.255.255.255"},
    {"TunnelEndpointUnspecifiedV4", [](Policy& p) { p.rules[0].tunnel_endpoint = Ip("0.0.0.0"); },
     "/rules/0/tunnel_endpoint", "unicast"},
    {"TunnelEndpointUnspecifiedV6", [](Policy& p) { p.rules[0].tunnel_endpoint = Ip("::"); },
     "/rules/0/tunnel_endpoint", "unicast"},
    {"TunnelEndpointV6Multicast", [](Policy& p) { p.rules[0].tunnel_endpoint = Ip("ff02::1"); },
     "/rules/0/tunnel_endpoint", "unicast"},
    {"TunnelEndpointUnicast", [](Policy& p) { p.rules[0].tunnel_endpoint = Ip("fd00::9"); },
     nullptr, ""},
    {"ConnectionTypeWithoutInterfaces",
     [](Policy& p) {
       p.rules[0].connection_type = ConnectionType{false, {}};
     },
     "/rules/0/connection_type", "\"all\""},
    {"ConnectionTypeEmptyName",
     [](Policy& p) {
       p.rules[0].connection_type = ConnectionType{false, {"eth0", ""}};
     },
     "/rules/0/connection_type/1", "empty"},
    // ---- default response rule
    {"DefaultResponseMethod",
     [](Policy& p) {
       SecurityMethod m;
       m.esp_encryption = EncryptionAlgorithm::kAes128Cbc;
       p.default_response.security_methods = {m};
     },
     "/default_response_rule/security_methods/0/esp_integrity", "sha256"},
    {"DefaultResponseAuth", [](Policy& p) { p.default_response.auth_methods = {Psk("")}; },
     "/default_response_rule/auth_methods/0/preshared_key", "preshared"},
    // ---- multicast and broadcast (FAQ 21)
    {"SecuringMulticastRejected",
     [](Policy& p) { FirstFilter(p).destination = Net("224.0.0.0/4"); },
     "/filter_lists/0/filters/0/destination",
     "IPsec cannot secure multicast or broadcast traffic (FAQ 21); use a block or permit "
     "action"},
    {"SecuringMulticastNamesRule",
     [](Policy& p) { FirstFilter(p).destination = One("239.255.255.250"); },
     "/filter_lists/0/filters/0/destination", "rule 'db' negotiates security"},
    {"SecuringBroadcastRejected",
     [](Policy& p) { FirstFilter(p).destination = One("255.255.255.255"); },
     "/filter_lists/0/filters/0/destination", "broadcast"},
    {"SecuringV6MulticastRejected",
     [](Policy& p) {
       FirstFilter(p).source = Net("ff02::/16");
       FirstFilter(p).destination = AddressSpec::Me();
     },
     "/filter_lists/0/filters/0/source", "multicast"},
    {"SecuringMulticastInLaterFilter",
     [](Policy& p) {
       p.filter_lists[0].filters.push_back(MakeFilter(AddressSpec::Me(), One("224.0.0.251")));
     },
     "/filter_lists/0/filters/1/destination", "FAQ 21"},
    {"BlockingMulticastAllowed",
     [](Policy& p) {
       FirstFilter(p).destination = Net("224.0.0.0/4");
       p.rules[0].filter_action = "block";
     },
     nullptr, ""},
    {"PermittingBroadcastAllowed",
     [](Policy& p) {
       FirstFilter(p).destination = One("255.255.255.255");
       p.rules[0].filter_action = "permit";
     },
     nullptr, ""},
    {"InactiveRuleMayNameMulticast",
     [](Policy& p) {
       FirstFilter(p).destination = Net("224.0.0.0/4");
       p.rules[0].active = false;
     },
     nullptr, ""},
    {"PartlyMulticastRangeAllowed",
     [](Policy& p) { FirstFilter(p).destination = Span("223.255.255.0", "224.0.0.255"); }, nullptr,
     ""},
};

INSTANTIATE_TEST_SUITE_P(Rules, ValidateTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(ValidatePolicyTest, TemplatesAreValid) {
  for (const std::string& name : TemplateNames()) {
    auto p = MakeTemplate(name, "t-" + name, {});
    ASSERT_TRUE(p.has_value());
    Status s = ValidatePolicy(*p);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error().ToString();
  }
}

TEST(ValidatePolicyTest, DefaultsAreValid) {
  Policy p = Valid();
  p.key_exchange.proposals = DefaultIkeProposals();
  p.filter_actions[2].security_methods = DefaultSecurityMethods();
  p.default_response.security_methods = DefaultSecurityMethods();
  Status s = ValidatePolicy(p);
  EXPECT_TRUE(s.ok()) << s.error().ToString();
}

}  // namespace
}  // namespace ipsec::engine::policy
