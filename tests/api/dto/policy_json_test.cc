#include "api/dto/policy_json.h"

#include <gtest/gtest.h>

#include "engine/policy/templates.h"

namespace ipsec::api::dto {
namespace {

using namespace ipsec::engine::policy;  // NOLINT: test brevity

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

Error DecodeError(const std::string& text) {
  auto j = ParseJson(text);
  EXPECT_TRUE(j.ok()) << text;
  auto p = PolicyFromJson(*j);
  EXPECT_FALSE(p.ok()) << text;
  return p.ok() ? Error{} : p.error();
}

void ExpectError(const std::string& text, const std::string& path,
                 const std::string& message_part) {
  SCOPED_TRACE(text);
  Error e = DecodeError(text);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.path, path);
  EXPECT_NE(e.message.find(message_part), std::string::npos) << e.message;
}

// The example of docs/api.md, "Shapes / Policy".
constexpr const char* kDocExample = R"({
  "name": "web-tier",
  "description": "web talks to db only over ESP",
  "polling_interval_seconds": 10800,
  "allow_legacy_algorithms": false,
  "key_exchange": {
    "proposals": [{"encryption": "aes128gcm16", "integrity": "none", "prf": "prfsha256",
                   "dh_group": "curve25519"}],
    "ike_sa_lifetime_seconds": 28800,
    "max_child_sas_per_ike_sa": 0
  },
  "filter_lists": [{"name": "to-db", "description": "", "filters": [
    {"description": "", "source": "me", "destination": "10.99.2.0/24", "protocol": "tcp",
     "source_ports": "any", "destination_ports": 5432, "mirrored": true}]}],
  "filter_actions": [{"name": "require", "description": "", "type": "negotiate",
    "security_methods": [{"protocol": "esp", "esp_encryption": "aes128gcm16",
      "esp_integrity": "none", "ah_integrity": "none",
      "lifetime_kilobytes": 100000, "lifetime_seconds": 3600}],
    "accept_unsecured": false, "allow_fallback_to_clear": false, "session_key_pfs": false}],
  "rules": [{"name": "db", "description": "", "filter_list": "to-db", "filter_action": "require",
    "auth_methods": [{"type": "psk", "preshared_key": "hunter2"},
                     {"type": "certificate", "certificate_authority": "CN=cluster-ca"}],
    "tunnel_endpoint": null, "connection_type": "all", "active": true}],
  "default_response_rule": {"active": true, "security_methods": [], "auth_methods": []},
  "exemptions": {"ike": true, "dns": true, "netbios_name": true, "kubelet_probes": true}
})";

TEST(PolicyJsonTest, MinimalPolicyGetsDocumentedDefaults) {
  auto p = PolicyFromJson(Json::parse(R"({"name": "p"})"));
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->name, "p");
  EXPECT_EQ(p->description, "");
  EXPECT_EQ(p->polling_interval_seconds, 10800u);
  EXPECT_FALSE(p->allow_legacy_algorithms);
  EXPECT_EQ(p->key_exchange.proposals, DefaultIkeProposals());
  EXPECT_EQ(p->key_exchange.ike_sa_lifetime_seconds, 28800u);
  EXPECT_EQ(p->key_exchange.max_child_sas_per_ike_sa, 0u);
  EXPECT_TRUE(p->filter_lists.empty());
  EXPECT_TRUE(p->filter_actions.empty());
  EXPECT_TRUE(p->rules.empty());
  EXPECT_EQ(p->default_response, DefaultResponseRule{});
  EXPECT_EQ(p->exemptions, Exemptions{});
  // An explicit empty list stays empty; key_exchange without proposals gets the defaults.
  auto empty = PolicyFromJson(Json::parse(R"({"name": "p", "key_exchange": {"proposals": []}})"));
  EXPECT_TRUE(empty->key_exchange.proposals.empty());
  auto kx = PolicyFromJson(
      Json::parse(R"({"name": "p", "key_exchange": {"ike_sa_lifetime_seconds": 60}})"));
  EXPECT_EQ(kx->key_exchange.proposals, DefaultIkeProposals());
  EXPECT_EQ(kx->key_exchange.ike_sa_lifetime_seconds, 60u);
}

TEST(PolicyJsonTest, DecodesTheDocumentedExample) {
  auto p = PolicyFromJson(Json::parse(kDocExample));
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->description, "web talks to db only over ESP");
  ASSERT_EQ(p->key_exchange.proposals.size(), 1u);
  EXPECT_EQ(p->key_exchange.proposals[0], IkeProposal{});
  ASSERT_EQ(p->filter_lists.size(), 1u);
  const Filter& f = p->filter_lists[0].filters.at(0);
  EXPECT_EQ(f.source, AddressSpec::Me());
  EXPECT_EQ(f.destination, AddressSpec::Subnet(Ip("10.99.2.0"), 24));
  EXPECT_EQ(f.destination_ports, PortRange::Single(5432));
  ASSERT_EQ(p->filter_actions.size(), 1u);
  EXPECT_EQ(p->filter_actions[0].security_methods, std::vector<SecurityMethod>{SecurityMethod{}});
  ASSERT_EQ(p->rules.size(), 1u);
  EXPECT_EQ(p->rules[0].auth_methods[0].preshared_key.view(), "hunter2");
  EXPECT_EQ(p->rules[0].auth_methods[1].certificate_authority, "CN=cluster-ca");
  // Encoding with secrets gives back the document.
  EXPECT_EQ(PolicyToJson(*p, SecretMode::kInclude), Json::parse(kDocExample));
}

Policy EveryFieldPolicy() {
  Policy p;
  p.name = "every-field";
  p.description = "ünïcode and \"quotes\"";
  p.polling_interval_seconds = 60;
  p.allow_legacy_algorithms = true;
  p.key_exchange.proposals = {
      IkeProposal{EncryptionAlgorithm::kAes256Cbc, IntegrityAlgorithm::kHmacSha512_256,
                  PrfAlgorithm::kHmacSha512, DhGroup::kEcp384},
      IkeProposal{EncryptionAlgorithm::kTripleDes, IntegrityAlgorithm::kHmacMd5_96,
                  PrfAlgorithm::kHmacMd5, DhGroup::kModp1024}};
  p.key_exchange.ike_sa_lifetime_seconds = 3600;
  p.key_exchange.max_child_sas_per_ike_sa = 7;
  Filter a;
  a.description = "a";
  a.source = AddressSpec::Range(Ip("10.0.0.5"), Ip("10.0.0.9"));
  a.destination = AddressSpec::Subnet(Ip("10.1.0.0"), 16);
  a.protocol = kProtoUdp;
  a.source_ports = PortRange{1000, 2000};
  a.destination_ports = PortRange::Single(53);
  a.mirrored = false;
  Filter b;
  b.source = AddressSpec::Me(IpFamily::kV6);
  b.destination = AddressSpec::Single(Ip("fd00::1"));
  b.protocol = 47;
  Filter c;
  c.source = AddressSpec::Any(IpFamily::kV4);
  c.destination = AddressSpec::Me(IpFamily::kV4);
  c.protocol = 0;
  Filter d;
  d.source = AddressSpec::Any(IpFamily::kV6);
  d.destination = AddressSpec::Range(Ip("fd00::1"), Ip("fd00::ff"));
  p.filter_lists = {FilterList{"l1", "first", {a, b}}, FilterList{"l2", "", {c, d, Filter{}}}};
  SecurityMethod ah;
  ah.protocol = IpsecProtocol::kAh;
  ah.ah_integrity = IntegrityAlgorithm::kHmacSha1_96;
  ah.lifetime_kilobytes = 0;
  ah.lifetime_seconds = 1;
  SecurityMethod both{IpsecProtocol::kAhEsp, EncryptionAlgorithm::kDes,
                      IntegrityAlgorithm::kHmacMd5_96, IntegrityAlgorithm::kHmacSha256_128,
                      UINT64_MAX, UINT32_MAX};
  p.filter_actions = {
      FilterAction{"neg", "n", ActionType::kNegotiate, {ah, both}, true, true, true},
      FilterAction{"blk", "", ActionType::kBlock, {}, false, false, false},
      FilterAction{"ok", "", ActionType::kPermit, {}, false, true, false}};
  AuthMethod psk;
  psk.preshared_key = SecretBytes("k3y with spaces");
  AuthMethod file;
  file.preshared_key_file = "/run/secrets/psk";
  AuthMethod cert;
  cert.kind = AuthKind::kCertificate;
  cert.certificate_authority = "CN=ca,O=x";
  AuthMethod krb;
  krb.kind = AuthKind::kKerberos;
  Rule r1{"r1", "one", "l1", "neg", {psk, file, cert, krb}, Ip("10.9.9.9"),
          ConnectionType{false, {"eth0", "net1"}}, false};
  Rule r2{"r2", "", "l2", "blk", {}, Ip("fd00::9"), ConnectionType{}, true};
  Rule r3{"r3", "", "l2", "ok", {}, std::nullopt, ConnectionType{}, true};
  p.rules = {r1, r2, r3};
  p.default_response = DefaultResponseRule{false, {ah}, {psk, cert}};
  p.exemptions = Exemptions{false, false, false, false};
  return p;
}

TEST(PolicyJsonTest, RoundTripsEveryField) {
  Policy p = EveryFieldPolicy();
  Json j = PolicyToJson(p, SecretMode::kInclude);
  auto back = PolicyFromJson(j);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, p);
  // Through text, as the state store and the API do.
  auto parsed = ParseJson(DumpJson(j, 2));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*PolicyFromJson(*parsed), p);
  // JSON is YAML: the YAML path types scalars the same way.
  auto yaml = ParseYaml(DumpJson(j, 2));
  ASSERT_TRUE(yaml.ok()) << yaml.error().ToString();
  auto from_yaml = PolicyFromJson(*yaml);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().ToString();
  EXPECT_EQ(*from_yaml, p);
  // Templates round-trip too.
  for (const auto& name : TemplateNames()) {
    auto t = MakeTemplate(name, "t", {});
    ASSERT_TRUE(t.has_value()) << name;
    EXPECT_EQ(*PolicyFromJson(PolicyToJson(*t, SecretMode::kInclude)), *t) << name;
  }
}

TEST(PolicyJsonTest, RedactsEveryPresharedKey) {
  Policy p = EveryFieldPolicy();
  Json j = PolicyToJson(p, SecretMode::kRedact);
  std::string text = DumpJson(j);
  EXPECT_EQ(text.find("k3y with spaces"), std::string::npos);
  EXPECT_EQ(j["rules"][0]["auth_methods"][0]["preshared_key"], "<redacted>");
  EXPECT_EQ(j["rules"][0]["auth_methods"][1]["preshared_key_file"], "/run/secrets/psk");
  EXPECT_FALSE(j["rules"][0]["auth_methods"][1].contains("preshared_key"));
  EXPECT_EQ(j["default_response_rule"]["auth_methods"][0]["preshared_key"], "<redacted>");
  EXPECT_NE(DumpJson(PolicyToJson(p, SecretMode::kInclude)).find("k3y with spaces"),
            std::string::npos);
  // What a client read back cannot be written back as is: the keys are write-only.
  auto again = PolicyFromJson(j);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().path, "/rules/0/auth_methods/0/preshared_key");
}

TEST(PolicyJsonTest, AcceptsYamlPolicyWithStringPorts) {
  auto j = ParseYaml(R"(
name: web
filter_lists:
  - name: l
    filters:
      - {source: me, destination: 10.0.0.0/255.255.255.0, protocol: 6,
         source_ports: "1000-2000", destination_ports: "443"}
key_exchange:
  proposals:
    - {encryption: aes256gcm16, dh_group: 19}
)");
  ASSERT_TRUE(j.ok()) << j.error().ToString();
  auto p = PolicyFromJson(*j);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  const Filter& f = p->filter_lists[0].filters[0];
  EXPECT_EQ(f.destination, AddressSpec::Subnet(Ip("10.0.0.0"), 24));
  EXPECT_EQ(f.protocol, std::optional<uint8_t>(kProtoTcp));
  EXPECT_EQ(f.source_ports, (PortRange{1000, 2000}));
  EXPECT_EQ(f.destination_ports, PortRange::Single(443));
  EXPECT_EQ(p->key_exchange.proposals[0].dh_group, DhGroup::kEcp256);
  EXPECT_EQ(p->key_exchange.proposals[0].encryption, EncryptionAlgorithm::kAes256Gcm16);
}

TEST(PolicyJsonTest, DhGroupByNameOrNumber) {
  for (const auto& [value, group] :
       std::vector<std::pair<std::string, DhGroup>>{{"14", DhGroup::kModp2048},
                                                    {"\"14\"", DhGroup::kModp2048},
                                                    {"\"modp3072\"", DhGroup::kModp3072},
                                                    {"31", DhGroup::kCurve25519},
                                                    {"2", DhGroup::kModp1024}}) {
    auto p = PolicyFromJson(Json::parse(R"({"name": "p", "key_exchange": {"proposals":
        [{"dh_group": )" + value + "}]}}"));
    ASSERT_TRUE(p.ok()) << value;
    EXPECT_EQ(p->key_exchange.proposals[0].dh_group, group) << value;
  }
  ExpectError(R"({"name": "p", "key_exchange": {"proposals": [{"dh_group": 99}]}})",
              "/key_exchange/proposals/0/dh_group",
              "unknown Diffie-Hellman group; expected one of: modp1024, modp2048");
  ExpectError(R"({"name": "p", "key_exchange": {"proposals": [{"dh_group": true}]}})",
              "/key_exchange/proposals/0/dh_group", "got a boolean");
}

// A key that is not one of the API's field names is not repeated (it could be a secret pasted in
// the wrong place): the path stops at its object and the message gives the nearest known name or
// the list. A field of the API in the wrong object is named (docs/api.md, "Errors").
TEST(PolicyJsonTest, UnknownFieldsRejectedAtEveryLevel) {
  ExpectError(R"({"name": "p", "filter_lsts": []})", "",
              "the policy has an unknown field (did you mean 'filter_lists'?)");
  ExpectError(R"({"name": "p", "key_exchange": {"proposal": []}})", "/key_exchange",
              "did you mean 'proposals'?");
  ExpectError(R"({"name": "p", "key_exchange": {"proposals": [{"encrytion": "aes128"}]}})",
              "/key_exchange/proposals/0", "did you mean 'encryption'?");
  ExpectError(R"({"name": "p", "filter_lists": [{"name": "l", "filters": [{"dest": "any"}]}]})",
              "/filter_lists/0/filters/0", "the filter has an unknown field; known fields:");
  ExpectError(R"({"name": "p", "filter_actions": [{"name": "a",
      "security_methods": [{"lifetime_second": 5}]}]})",
              "/filter_actions/0/security_methods/0", "did you mean 'lifetime_seconds'?");
  ExpectError(R"({"name": "p", "rules": [{"name": "r", "filter_list": "l", "filter_action": "a",
      "auth_methods": [{"type": "psk", "key": "x"}]}]})",
              "/rules/0/auth_methods/0", "the authentication method has an unknown field");
  ExpectError(R"({"name": "p", "default_response_rule": {"actve": false}})",
              "/default_response_rule", "did you mean 'active'?");
  ExpectError(R"({"name": "p", "exemptions": {"dnss": false}})", "/exemptions",
              "did you mean 'dns'?");
  ExpectError(R"({"name": "p", "exemptions": {"a/b": false}})", "/exemptions",
              "the exemptions has an unknown field");
  ExpectError(R"({"name": "p", "rules": [{"name": "r", "filters": []}]})", "/rules/0/filters",
              "unknown field 'filters' in the rule");
}

TEST(PolicyJsonTest, WrongTypesAndMissingFields) {
  ExpectError("{}", "/name", "missing required field 'name' of the policy");
  ExpectError("[]", "", "expected a policy (a JSON object), got an array");
  ExpectError("null", "", "got null");
  ExpectError(R"({"name": 5})", "/name", "expected a string, got a number");
  ExpectError(R"({"name": "p", "description": null})", "/description", "got null");
  ExpectError(R"({"name": "p", "polling_interval_seconds": "10"})", "/polling_interval_seconds",
              "expected a number, got a string");
  ExpectError(R"({"name": "p", "polling_interval_seconds": -1})", "/polling_interval_seconds",
              "got -1");
  ExpectError(R"({"name": "p", "polling_interval_seconds": 1.5})", "/polling_interval_seconds",
              "whole number");
  ExpectError(R"({"name": "p", "polling_interval_seconds": 4294967296})",
              "/polling_interval_seconds", "too large");
  ExpectError(R"({"name": "p", "allow_legacy_algorithms": "true"})", "/allow_legacy_algorithms",
              "expected true or false");
  ExpectError(R"({"name": "p", "key_exchange": []})", "/key_exchange",
              "expected a key exchange settings (a JSON object)");
  ExpectError(R"({"name": "p", "rules": {}})", "/rules", "expected an array, got an object");
  ExpectError(R"({"name": "p", "filter_lists": ["x"]})", "/filter_lists/0",
              "expected a filter list (a JSON object), got a string");
  ExpectError(R"({"name": "p", "filter_actions": [{"description": "x"}]})",
              "/filter_actions/0/name", "missing required field 'name' of the filter action");
  ExpectError(R"({"name": "p", "rules": [{"name": "r", "filter_list": "l"}]})",
              "/rules/0/filter_action", "missing required field 'filter_action' of the rule");
  ExpectError(R"({"name": "p", "rules": [{"name": "r", "filter_list": "l", "filter_action": "a",
      "auth_methods": [{"type": "psk", "preshared_key": "<redacted>"}]}]})",
              "/rules/0/auth_methods/0/preshared_key", "write-only");
  ExpectError(R"({"name": "p", "default_response_rule": {"auth_methods": [
      {"type": "psk", "preshared_key": "<redacted>"}]}})",
              "/default_response_rule/auth_methods/0/preshared_key", "write-only");
  ExpectError(R"({"name": "p", "default_response_rule": {"security_methods": [
      {"esp_encryption": "rot13"}]}})",
              "/default_response_rule/security_methods/0/esp_encryption", "expected one of");
  ExpectError(R"({"name": "p", "exemptions": {"ike": 0}})", "/exemptions/ike",
              "expected true or false, got a number");
  ExpectError(R"({"name": "p", "key_exchange": {"proposals": [{"prf": "sha256"}]}})",
              "/key_exchange/proposals/0/prf",
              "unknown PRF; expected one of: prfsha256, prfsha384, prfsha512, prfsha1, "
              "prfmd5");
  ExpectError(R"({"name": "p", "filter_lists": [{"name": "l", "filters": [
      {"source": "10.0.0.1/24"}]}]})",
              "/filter_lists/0/filters/0/source", "host bits set; the subnet is 10.0.0.0/24");
}

TEST(DefaultResponseJsonTest, DecodesAndEncodes) {
  auto d = DefaultResponseFromJson(Json::parse(R"({"active": false,
      "security_methods": [{"protocol": "esp"}],
      "auth_methods": [{"type": "psk", "preshared_key": "k"}]})"));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->active);
  EXPECT_EQ(d->security_methods.size(), 1u);
  EXPECT_EQ(DefaultResponseToJson(*d, SecretMode::kRedact)["auth_methods"][0]["preshared_key"],
            "<redacted>");
  EXPECT_EQ(*DefaultResponseFromJson(DefaultResponseToJson(*d, SecretMode::kInclude)), *d);
  EXPECT_EQ(*DefaultResponseFromJson(Json::object()), DefaultResponseRule{});
  auto typo = DefaultResponseFromJson(Json::parse(R"({"activ": true})"));
  EXPECT_EQ(typo.error().path, "");  // a key not of the API is not repeated
  EXPECT_NE(typo.error().message.find("did you mean 'active'"), std::string::npos);
}

}  // namespace
}  // namespace ipsec::api::dto
