#include "engine/policy/templates.h"

#include <gtest/gtest.h>

#include "engine/policy/classifier.h"
#include "engine/policy/compiler.h"
#include "engine/policy/validate.h"
#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::policy {
namespace {

using namespace ::ipsec::engine::policy::testing;  // NOLINT: test builders

std::vector<AuthMethod> Cert() {
  AuthMethod m;
  m.kind = AuthKind::kCertificate;
  m.certificate_authority = "CN=cluster-ca";
  return {m};
}

TEST(TemplatesTest, Names) {
  EXPECT_EQ(TemplateNames(),
            (std::vector<std::string>{"respond-only", "request-security", "require-security"}));
  EXPECT_FALSE(MakeTemplate("secure-everything", "x", {}).has_value());
}

TEST(TemplatesTest, AllValidateAndCompile) {
  for (const std::string& name : TemplateNames()) {
    for (const auto& auth : {std::vector<AuthMethod>{}, Cert()}) {
      auto p = MakeTemplate(name, "mine", auth);
      ASSERT_TRUE(p.has_value());
      EXPECT_EQ(p->name, "mine");
      EXPECT_FALSE(p->description.empty());
      EXPECT_TRUE(p->default_response.active) << name;
      EXPECT_EQ(p->default_response.auth_methods, auth);
      EXPECT_EQ(p->key_exchange.proposals, DefaultIkeProposals());
      Status s = ValidatePolicy(*p);
      EXPECT_TRUE(s.ok()) << name << ": " << s.error().ToString();
      EXPECT_TRUE(CompilePolicy(*p, Pod()).ok()) << name;
    }
  }
}

TEST(TemplatesTest, RespondOnlyHasNoRules) {
  Policy p = *MakeTemplate("respond-only", "client", Cert());
  EXPECT_TRUE(p.rules.empty());
  FilterTable t = CompileOk(p);
  EXPECT_TRUE(t.default_response_active);
  EXPECT_EQ(t.active_rules, 0u);
  Classifier c(std::move(t));
  // Only exemptions are in the table; other traffic is permitted by default (FAQ 6).
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.5.5.5", kProtoTcp, 1, 443))
                .entry,
            nullptr);
}

void ExpectSecuringTemplate(const std::string& name, const std::string& ip_action,
                            bool accept_unsecured) {
  Policy p = *MakeTemplate(name, "srv", Cert());
  ASSERT_EQ(p.rules.size(), 2u);
  EXPECT_EQ(p.rules[0].filter_list, "all-ip");
  EXPECT_EQ(p.rules[0].filter_action, ip_action);
  EXPECT_EQ(p.rules[0].auth_methods, Cert());
  EXPECT_EQ(p.rules[1].filter_list, "all-icmp");
  EXPECT_EQ(p.rules[1].filter_action, "permit");
  const FilterAction* a = p.FindFilterAction(ip_action);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->type, ActionType::kNegotiate);
  EXPECT_EQ(a->accept_unsecured, accept_unsecured);
  EXPECT_EQ(a->allow_fallback_to_clear, accept_unsecured);
  EXPECT_EQ(a->security_methods, DefaultSecurityMethods());
  ASSERT_NE(p.FindFilterAction("permit"), nullptr);
  ASSERT_NE(p.FindFilterAction("request-security"), nullptr);
  ASSERT_NE(p.FindFilterAction("require-security"), nullptr);

  Classifier c(CompileOk(p));
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "10.99.1.2", "10.5.5.5", kProtoTcp, 1, 443))
                .action,
            Action::kNegotiate);
  EXPECT_EQ(c.Classify(Packet(Direction::kInbound, "fd00::5", "fd00:99:1::2", kProtoTcp, 1, 80))
                .action,
            Action::kNegotiate);
  Decision icmp = c.Classify(Packet(Direction::kInbound, "10.5.5.5", "10.99.1.2", kProtoIcmp));
  EXPECT_EQ(icmp.action, Action::kPermit);
  EXPECT_EQ(icmp.entry->origin.rule, "all-icmp");
  EXPECT_EQ(c.Classify(Packet(Direction::kOutbound, "fd00:99:1::2", "fd00::5", kProtoIcmpV6))
                .action,
            Action::kPermit);
}

TEST(TemplatesTest, RequestSecurity) {
  ExpectSecuringTemplate("request-security", "request-security", true);
}

TEST(TemplatesTest, RequireSecurity) {
  ExpectSecuringTemplate("require-security", "require-security", false);
}

TEST(TemplatesTest, Defaults) {
  const auto m = DefaultSecurityMethods();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].esp_encryption, EncryptionAlgorithm::kAes128Gcm16);
  EXPECT_EQ(m[1].esp_encryption, EncryptionAlgorithm::kAes256Gcm16);
  EXPECT_EQ(m[2].esp_encryption, EncryptionAlgorithm::kChaCha20Poly1305);
  EXPECT_EQ(m[3].esp_encryption, EncryptionAlgorithm::kAes128Cbc);
  EXPECT_EQ(m[3].esp_integrity, IntegrityAlgorithm::kHmacSha256_128);
  for (const SecurityMethod& s : m) EXPECT_EQ(s.protocol, IpsecProtocol::kEsp);
  const auto k = DefaultIkeProposals();
  ASSERT_EQ(k.size(), 3u);
  EXPECT_EQ(k[0], (IkeProposal{EncryptionAlgorithm::kAes128Gcm16, IntegrityAlgorithm::kNone,
                               PrfAlgorithm::kHmacSha256, DhGroup::kCurve25519}));
  EXPECT_EQ(k[1], (IkeProposal{EncryptionAlgorithm::kAes256Gcm16, IntegrityAlgorithm::kNone,
                               PrfAlgorithm::kHmacSha384, DhGroup::kEcp384}));
  EXPECT_EQ(k[2], (IkeProposal{EncryptionAlgorithm::kAes128Cbc, IntegrityAlgorithm::kHmacSha256_128,
                               PrfAlgorithm::kHmacSha256, DhGroup::kModp2048}));
}

}  // namespace
}  // namespace ipsec::engine::policy
