#include "tests/support/charon_keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "tests/support/process.h"

namespace ipsec::testing {
namespace {

// Logs and --list-sas of two charons (ike/chd at level 4, ike_name on) that negotiated c1
// (AES-GCM-16/x25519) and c2 (AES-CBC-256/SHA-256/MODP-2048), after a rekey of child c2.
std::string Sample(const std::string& name) {
  std::string text = ReadFile(std::string(IPSEC_SUPPORT_TESTDATA) + "/" + name);
  EXPECT_FALSE(text.empty()) << "missing sample " << name;
  return text;
}

std::vector<IkeSaInfo> Sas(const std::string& name) {
  std::vector<IkeSaInfo> sas;
  std::string error;
  EXPECT_TRUE(ParseListSas(Sample(name), &sas, &error)) << error;
  return sas;
}

TEST(CharonKeysTest, ParsesIkeKeyBlocks) {
  CharonKeyLog keys = ParseCharonKeyLog(Sample("charon_initiator.log"));
  ASSERT_EQ(keys.ike.size(), 2u);
  EXPECT_EQ(keys.ike[0].ike_unique_id, 1u);
  EXPECT_EQ(keys.ike[0].sk_ei, "d3616047c3e6c65ec73f327be78ef66a1a1323b4");  // key || salt
  EXPECT_EQ(keys.ike[0].sk_er.size(), 40u);
  EXPECT_EQ(keys.ike[0].sk_ai, "");  // AEAD
  EXPECT_EQ(keys.ike[1].ike_unique_id, 2u);
  EXPECT_EQ(keys.ike[1].sk_ei.size(), 64u);  // AES-256
  EXPECT_EQ(keys.ike[1].sk_ai.size(), 64u);  // HMAC-SHA-256
}

TEST(CharonKeysTest, ParsesChildKeyBlocksWithRoles) {
  CharonKeyLog keys = ParseCharonKeyLog(Sample("charon_initiator.log"));
  ASSERT_EQ(keys.child.size(), 3u);  // c1{1}, c2{2}, and c2{3} from the rekey
  EXPECT_EQ(keys.child[0].child_unique_id, 1u);
  EXPECT_EQ(keys.child[0].ike_unique_id, 1u);
  EXPECT_TRUE(keys.child[0].initiator);
  EXPECT_EQ(keys.child[0].encr_i.size(), 40u);
  EXPECT_EQ(keys.child[0].integ_i, "");
  EXPECT_EQ(keys.child[2].child_unique_id, 3u);
  EXPECT_EQ(keys.child[2].encr_i, "e5663dc145653efd03a95cc085aca25f");
  EXPECT_EQ(keys.child[2].integ_i,
            "b05e0a74d2f90e8777b9c715249e3896ee0f63df74b5488c411b1466e8622e42");

  CharonKeyLog responder = ParseCharonKeyLog(Sample("charon_responder.log"));
  ASSERT_EQ(responder.ike.size(), 2u);
  EXPECT_EQ(responder.ike[0].ike_unique_id, 1u);  // logged as "<1>" before the config is known
  ASSERT_EQ(responder.child.size(), 3u);
  for (const auto& c : responder.child) EXPECT_FALSE(c.initiator);
}

std::map<uint32_t, std::string> KeysBySpi(const std::vector<EspSaKeys>& rows) {
  std::map<uint32_t, std::string> out;
  for (const auto& r : rows) out[r.spi] = r.encr_key + "/" + r.integ_key;
  return out;
}

// Both sides must give each SPI the same keys: the initiator's "out" is the responder's "in".
TEST(CharonKeysTest, BothSidesAgreeOnEverySpi) {
  std::vector<IkeSaKeys> ike_a, ike_b;
  std::vector<EspSaKeys> esp_a, esp_b;
  std::string error;
  ASSERT_TRUE(CharonTsharkKeys(ParseCharonKeyLog(Sample("charon_initiator.log")),
                               Sas("list_sas_rekeyed.txt"), false, &ike_a, &esp_a, &error))
      << error;
  ASSERT_TRUE(CharonTsharkKeys(ParseCharonKeyLog(Sample("charon_responder.log")),
                               Sas("list_sas_responder.txt"), true, &ike_b, &esp_b, &error))
      << error;
  ASSERT_EQ(ike_a.size(), 2u);
  ASSERT_EQ(ike_b.size(), 2u);
  for (const auto& a : ike_a) {
    auto b = std::find_if(ike_b.begin(), ike_b.end(),
                          [&](const IkeSaKeys& k) { return k.spi_i == a.spi_i; });
    ASSERT_NE(b, ike_b.end());
    EXPECT_EQ(a.spi_r, b->spi_r);
    EXPECT_EQ(a.sk_ei, b->sk_ei);
    EXPECT_EQ(a.sk_ar, b->sk_ar);
  }
  EXPECT_EQ(ike_a[1].integ, IntegId::kNone);
  EXPECT_EQ(ike_a[1].encr, EncrId::kAesGcm16);
  ASSERT_EQ(esp_a.size(), 6u);  // c1-1, c2-2 (DELETED, still listed), c2-3; two directions
  EXPECT_EQ(KeysBySpi(esp_a), KeysBySpi(esp_b));
  EXPECT_EQ(KeysBySpi(esp_a)[0x57fbda9e],
            "e5663dc145653efd03a95cc085aca25f/"
            "b05e0a74d2f90e8777b9c715249e3896ee0f63df74b5488c411b1466e8622e42");
  EXPECT_EQ(esp_a[0].src, "*");
  EXPECT_EQ(esp_b[0].src, "10.99.2.2");  // with_addresses: this charon's view
}

TEST(CharonKeysTest, LogWithoutKeysGivesNoRows) {
  std::vector<IkeSaKeys> ike;
  std::vector<EspSaKeys> esp;
  std::string error;
  ASSERT_TRUE(CharonTsharkKeys(ParseCharonKeyLog("12:00:00 00[DMN] Starting IKE charon\n"),
                               Sas("list_sas_two.txt"), false, &ike, &esp, &error));
  EXPECT_TRUE(ike.empty());
  EXPECT_TRUE(esp.empty());
}

}  // namespace
}  // namespace ipsec::testing
