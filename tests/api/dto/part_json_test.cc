#include "api/dto/part_json.h"

#include <gtest/gtest.h>

#include "api/dto/text.h"
#include "engine/policy/names.h"

namespace ipsec::api::dto {
namespace {

using namespace ipsec::engine::policy;  // NOLINT: test brevity

Json J(const char* text) { return Json::parse(text); }

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

void ExpectError(const Error& e, const std::string& path, const std::string& message_part) {
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.path, path);
  EXPECT_NE(e.message.find(message_part), std::string::npos) << e.message;
}

// ---- Filters ---------------------------------------------------------------------------

TEST(FilterJsonTest, DefaultsToAnyMirrored) {
  auto f = FilterFromJson(J("{}"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, Filter{});
  EXPECT_TRUE(f->mirrored);
  EXPECT_EQ(f->source, AddressSpec::Any());
  EXPECT_EQ(f->protocol, std::nullopt);
}

TEST(FilterJsonTest, DecodesEveryField) {
  auto f = FilterFromJson(J(R"({"description": "db", "source": "me4",
      "destination": "10.99.2.0/24", "protocol": "tcp", "source_ports": "any",
      "destination_ports": 5432, "mirrored": false})"));
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_EQ(f->description, "db");
  EXPECT_EQ(f->source, AddressSpec::Me(IpFamily::kV4));
  EXPECT_EQ(f->destination, AddressSpec::Subnet(Ip("10.99.2.0"), 24));
  EXPECT_EQ(f->protocol, std::optional<uint8_t>(kProtoTcp));
  EXPECT_TRUE(f->source_ports.IsAny());
  EXPECT_EQ(f->destination_ports, PortRange::Single(5432));
  EXPECT_FALSE(f->mirrored);
  EXPECT_EQ(FilterToJson(*f), J(R"({"description": "db", "source": "me4",
      "destination": "10.99.2.0/24", "protocol": "tcp", "source_ports": "any",
      "destination_ports": 5432, "mirrored": false})"));
}

TEST(FilterJsonTest, ErrorsCarryPaths) {
  ExpectError(FilterFromJson(J(R"({"source": "10.0.0.300"})")).error(), "/source",
              "is not an address");
  ExpectError(FilterFromJson(J(R"({"destination": 5})")).error(), "/destination",
              "expected a string, got a number");
  ExpectError(FilterFromJson(J(R"({"protocol": "tpc"})")).error(), "/protocol",
              "unknown protocol; expected any, tcp");
  ExpectError(FilterFromJson(J(R"({"source_ports": "a-b"})")).error(), "/source_ports",
              "is not a port");
  ExpectError(FilterFromJson(J(R"({"destination_ports": 70000})")).error(),
              "/destination_ports", "too large");
  ExpectError(FilterFromJson(J(R"({"mirrored": "yes"})")).error(), "/mirrored",
              "expected true or false");
  ExpectError(FilterFromJson(J(R"({"sorce": "any"})")).error(), "",
              "the filter has an unknown field (did you mean 'source'?)");
  ExpectError(FilterFromJson(J("[]")).error(), "", "expected a filter (a JSON object)");
}

TEST(FilterListJsonTest, DecodesAndEncodes) {
  auto l = FilterListFromJson(J(R"({"name": "to-db", "filters": [{}, {"protocol": 47}]})"));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->name, "to-db");
  EXPECT_EQ(l->description, "");
  ASSERT_EQ(l->filters.size(), 2u);
  EXPECT_EQ(l->filters[1].protocol, std::optional<uint8_t>(47));
  Json out = FilterListToJson(*l);
  EXPECT_EQ(out["filters"][1]["protocol"], Json(47));
  EXPECT_EQ(*FilterListFromJson(out), *l);
}

TEST(FilterListJsonTest, Errors) {
  ExpectError(FilterListFromJson(J(R"({"filters": []})")).error(), "/name",
              "missing required field 'name' of the filter list");
  ExpectError(FilterListFromJson(J(R"({"name": "x", "filters": [{}, {"source": "x"}]})")).error(),
              "/filters/1/source", "the value is not an address");
  ExpectError(FilterListFromJson(J(R"({"name": "x", "filters": {}})")).error(), "/filters",
              "expected an array, got an object");
  ExpectError(FilterListFromJson(J(R"({"name": "x", "filter": []})")).error(), "",
              "did you mean 'filters'?");
}

// ---- Security methods and filter actions --------------------------------------------------

TEST(SecurityMethodJsonTest, DefaultsAndEveryField) {
  EXPECT_EQ(*SecurityMethodFromJson(J("{}")), SecurityMethod{});
  auto m = SecurityMethodFromJson(J(R"({"protocol": "ah+esp", "esp_encryption": "aes256",
      "esp_integrity": "sha384", "ah_integrity": "sha512", "lifetime_kilobytes": 0,
      "lifetime_seconds": 600})"));
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->protocol, IpsecProtocol::kAhEsp);
  EXPECT_EQ(m->esp_encryption, EncryptionAlgorithm::kAes256Cbc);
  EXPECT_EQ(m->esp_integrity, IntegrityAlgorithm::kHmacSha384_192);
  EXPECT_EQ(m->ah_integrity, IntegrityAlgorithm::kHmacSha512_256);
  EXPECT_EQ(m->lifetime_kilobytes, 0u);
  EXPECT_EQ(m->lifetime_seconds, 600u);
  EXPECT_EQ(*SecurityMethodFromJson(SecurityMethodToJson(*m)), *m);
}

TEST(SecurityMethodJsonTest, EveryAlgorithmNameRoundTrips) {
  for (const auto& name : EncryptionNames()) {
    auto m = SecurityMethodFromJson(Json{{"esp_encryption", name}});
    ASSERT_TRUE(m.ok()) << name;
    EXPECT_EQ(SecurityMethodToJson(*m)["esp_encryption"], name);
  }
  for (const auto& name : IntegrityNames()) {
    auto m = SecurityMethodFromJson(Json{{"esp_integrity", name}, {"ah_integrity", name}});
    ASSERT_TRUE(m.ok()) << name;
    EXPECT_EQ(SecurityMethodToJson(*m)["ah_integrity"], name);
  }
}

TEST(SecurityMethodJsonTest, BadAlgorithmsListChoices) {
  ExpectError(SecurityMethodFromJson(J(R"({"esp_encryption": "aes129"})")).error(),
              "/esp_encryption",
              "unknown encryption algorithm (did you mean 'aes128'?); expected one of: "
              "null, aes128gcm16, aes256gcm16, aes128, aes256, chacha20poly1305, 3des, des");
  ExpectError(SecurityMethodFromJson(J(R"({"esp_integrity": "sha-256"})")).error(),
              "/esp_integrity", "expected one of: none, sha256, sha384, sha512, sha1, md5");
  ExpectError(SecurityMethodFromJson(J(R"({"protocol": "esp+ah"})")).error(), "/protocol",
              "expected one of: esp, ah, ah+esp");
  ExpectError(SecurityMethodFromJson(J(R"({"lifetime_seconds": -5})")).error(),
              "/lifetime_seconds", "expected a number from 0 to 4294967295, got -5");
  ExpectError(SecurityMethodFromJson(J(R"({"lifetime_seconds": 4294967296})")).error(),
              "/lifetime_seconds", "too large");
  ExpectError(SecurityMethodFromJson(J(R"({"lifetime_kilobytes": "100"})")).error(),
              "/lifetime_kilobytes", "expected a number, got a string");
}

TEST(FilterActionJsonTest, DefaultsAndFields) {
  auto a = FilterActionFromJson(J(R"({"name": "require"})"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->type, ActionType::kNegotiate);
  EXPECT_TRUE(a->security_methods.empty());
  EXPECT_FALSE(a->accept_unsecured);
  auto b = FilterActionFromJson(J(R"({"name": "req", "description": "d", "type": "negotiate",
      "security_methods": [{"protocol": "esp"}, {"protocol": "ah", "ah_integrity": "sha256"}],
      "accept_unsecured": true, "allow_fallback_to_clear": true, "session_key_pfs": true})"));
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_EQ(b->description, "d");
  ASSERT_EQ(b->security_methods.size(), 2u);
  EXPECT_EQ(b->security_methods[1].protocol, IpsecProtocol::kAh);
  EXPECT_TRUE(b->accept_unsecured);
  EXPECT_TRUE(b->allow_fallback_to_clear);
  EXPECT_TRUE(b->session_key_pfs);
  EXPECT_EQ(*FilterActionFromJson(FilterActionToJson(*b)), *b);
  for (const char* type : {"permit", "block", "negotiate"}) {
    auto t = FilterActionFromJson(Json{{"name", "x"}, {"type", type}});
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(FilterActionToJson(*t)["type"], type);
  }
}

TEST(FilterActionJsonTest, Errors) {
  ExpectError(FilterActionFromJson(J(R"({"type": "block"})")).error(), "/name", "missing");
  ExpectError(FilterActionFromJson(J(R"({"name": "x", "type": "allow"})")).error(), "/type",
              "unknown filter action type; expected one of: permit, block, negotiate");
  ExpectError(
      FilterActionFromJson(J(R"({"name": "x", "security_methods": [{}, {"protocol": 1}]})"))
          .error(),
      "/security_methods/1/protocol", "expected a string");
  ExpectError(FilterActionFromJson(J(R"({"name": "x", "session_key_fps": true})")).error(),
              "", "did you mean 'session_key_pfs'?");
}

// ---- Authentication methods and rules ------------------------------------------------------

TEST(AuthMethodJsonTest, Forms) {
  auto psk = AuthMethodFromJson(J(R"({"type": "psk", "preshared_key": "s3cret"})"));
  ASSERT_TRUE(psk.ok());
  EXPECT_EQ(psk->kind, AuthKind::kPreSharedKey);
  EXPECT_EQ(psk->preshared_key.view(), "s3cret");
  auto file = AuthMethodFromJson(J(R"({"type": "psk", "preshared_key_file": "/run/psk"})"));
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->preshared_key_file, "/run/psk");
  EXPECT_TRUE(file->preshared_key.empty());
  auto cert = AuthMethodFromJson(J(R"({"type": "certificate",
                                       "certificate_authority": "CN=ca"})"));
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->kind, AuthKind::kCertificate);
  EXPECT_EQ(cert->certificate_authority, "CN=ca");
  auto krb = AuthMethodFromJson(J(R"({"type": "kerberos"})"));
  ASSERT_TRUE(krb.ok());
  EXPECT_EQ(krb->kind, AuthKind::kKerberos);
  for (const auto* m : {&*psk, &*file, &*cert, &*krb}) {
    EXPECT_EQ(*AuthMethodFromJson(AuthMethodToJson(*m, SecretMode::kInclude)), *m);
  }
}

TEST(AuthMethodJsonTest, RedactsKeys) {
  auto psk = AuthMethodFromJson(J(R"({"type": "psk", "preshared_key": "s3cret"})"));
  Json redacted = AuthMethodToJson(*psk, SecretMode::kRedact);
  EXPECT_EQ(redacted, J(R"({"type": "psk", "preshared_key": "<redacted>"})"));
  EXPECT_EQ(DumpJson(redacted).find("s3cret"), std::string::npos);
  EXPECT_EQ(AuthMethodToJson(*psk, SecretMode::kInclude)["preshared_key"], "s3cret");
}

TEST(AuthMethodJsonTest, Errors) {
  ExpectError(AuthMethodFromJson(J(R"({"preshared_key": "x"})")).error(), "/type",
              "missing required field 'type'");
  ExpectError(AuthMethodFromJson(J(R"({"type": "pki"})")).error(), "/type",
              "expected one of: psk, certificate, kerberos");
  ExpectError(AuthMethodFromJson(J(R"({"type": "psk", "preshared_key": "<redacted>"})")).error(),
              "/preshared_key", "keys are write-only");
  ExpectError(AuthMethodFromJson(J(R"({"type": "certificate", "certificate_authority": "CN=x",
                                      "preshared_key": "k"})"))
                  .error(),
              "/preshared_key", "preshared_key applies only to type psk, not certificate");
  ExpectError(AuthMethodFromJson(J(R"({"type": "psk", "certificate_authority": "x"})")).error(),
              "/certificate_authority", "applies only to type certificate");
  ExpectError(AuthMethodFromJson(J(R"({"type": "kerberos", "preshared_key_file": "/f"})")).error(),
              "/preshared_key_file", "applies only to type psk, not kerberos");
  ExpectError(AuthMethodFromJson(J(R"({"type": "psk", "preshared_key": 123})")).error(),
              "/preshared_key", "expected a string");
}

TEST(RuleJsonTest, DefaultsAndFields) {
  auto r = RuleFromJson(J(R"({"name": "db", "filter_list": "l", "filter_action": "a"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->active);
  EXPECT_TRUE(r->connection_type.all_interfaces);
  EXPECT_FALSE(r->tunnel_endpoint);
  EXPECT_TRUE(r->auth_methods.empty());
  auto full = RuleFromJson(J(R"({"name": "db", "description": "d", "filter_list": "l",
      "filter_action": "a", "auth_methods": [{"type": "psk", "preshared_key": "k"},
      {"type": "certificate", "certificate_authority": "CN=ca"}],
      "tunnel_endpoint": "fd00::9", "connection_type": ["eth0", "net1"], "active": false})"));
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  EXPECT_EQ(full->description, "d");
  ASSERT_EQ(full->auth_methods.size(), 2u);
  EXPECT_EQ(full->auth_methods[1].certificate_authority, "CN=ca");
  EXPECT_EQ(full->tunnel_endpoint, Ip("fd00::9"));
  EXPECT_FALSE(full->connection_type.all_interfaces);
  EXPECT_EQ(full->connection_type.interfaces, (std::vector<std::string>{"eth0", "net1"}));
  EXPECT_FALSE(full->active);
  EXPECT_EQ(*RuleFromJson(RuleToJson(*full, SecretMode::kInclude)), *full);
  Json redacted = RuleToJson(*full, SecretMode::kRedact);
  EXPECT_EQ(redacted["auth_methods"][0]["preshared_key"], "<redacted>");
  EXPECT_EQ(redacted["tunnel_endpoint"], "fd00::9");
  EXPECT_EQ(redacted["connection_type"], J(R"(["eth0", "net1"])"));
  Json plain = RuleToJson(*r, SecretMode::kRedact);
  EXPECT_TRUE(plain["tunnel_endpoint"].is_null());
  EXPECT_EQ(plain["connection_type"], "all");
  auto explicit_null =
      RuleFromJson(J(R"({"name": "x", "filter_list": "l", "filter_action": "a",
                         "tunnel_endpoint": null, "connection_type": "all"})"));
  ASSERT_TRUE(explicit_null.ok());
  EXPECT_FALSE(explicit_null->tunnel_endpoint);
}

TEST(RuleJsonTest, Errors) {
  ExpectError(RuleFromJson(J(R"({"name": "x", "filter_action": "a"})")).error(), "/filter_list",
              "missing required field 'filter_list' of the rule");
  ExpectError(RuleFromJson(J(R"({"name": "x", "filter_list": "l"})")).error(), "/filter_action",
              "missing");
  ExpectError(RuleFromJson(J(R"({"filter_list": "l", "filter_action": "a"})")).error(), "/name",
              "missing");
  const char* base = R"({"name": "x", "filter_list": "l", "filter_action": "a", )";
  auto with = [&](const char* rest) { return Json::parse(std::string(base) + rest + "}"); };
  ExpectError(RuleFromJson(with(R"("tunnel_endpoint": "10.0.0.0/24")")).error(),
              "/tunnel_endpoint", "is not an address");
  ExpectError(RuleFromJson(with(R"("tunnel_endpoint": 5)")).error(), "/tunnel_endpoint",
              "expected an address or null (transport mode), got a number");
  ExpectError(RuleFromJson(with(R"("connection_type": "eth0")")).error(), "/connection_type",
              "write a list such as [\"eth0\"] for one interface");
  ExpectError(RuleFromJson(with(R"("connection_type": ["eth0", 1])")).error(),
              "/connection_type/1", "expected a string");
  ExpectError(RuleFromJson(with(R"("connection_type": true)")).error(), "/connection_type",
              "expected \"all\" or a list of interface names");
  ExpectError(RuleFromJson(with(R"("auth_methods": [{"type": "psk", "preshared_key": "<redacted>"}])"))
                  .error(),
              "/auth_methods/0/preshared_key", "write-only");
  ExpectError(RuleFromJson(with(R"("active": 1)")).error(), "/active", "expected true or false");
  ExpectError(RuleFromJson(with(R"("filter_lst": "l")")).error(), "",
              "the rule has an unknown field (did you mean 'filter_list'?)");
}

}  // namespace
}  // namespace ipsec::api::dto
