#include "tests/support/swanctl_sas.h"

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace ipsec::testing {
namespace {

std::string Sample(const std::string& name) {
  std::string text = ReadFile(std::string(IPSEC_SUPPORT_TESTDATA) + "/" + name);
  EXPECT_FALSE(text.empty()) << "missing sample " << name;
  return text;
}

std::vector<IkeSaInfo> Parse(const std::string& text) {
  std::vector<IkeSaInfo> sas;
  std::string error;
  EXPECT_TRUE(ParseListSas(text, &sas, &error)) << error;
  return sas;
}

// Captured from charon 5.9.8 (initiator side): a GCM/x25519 IKE SA and a CBC/SHA-256/MODP-2048
// one with DN identities, each with one child SA.
TEST(SwanctlSasTest, ParsesTwoIkeSas) {
  auto sas = Parse(Sample("list_sas_two.txt"));
  ASSERT_EQ(sas.size(), 2u) << DescribeSas(sas);
  const IkeSaInfo* gcm = sas[0].name == "c1" ? &sas[0] : &sas[1];
  const IkeSaInfo* cbc = sas[0].name == "c1" ? &sas[1] : &sas[0];
  EXPECT_EQ(gcm->state, "ESTABLISHED");
  EXPECT_EQ(gcm->version, 2);
  EXPECT_EQ(gcm->local_host, "10.99.1.2");
  EXPECT_EQ(gcm->local_port, 4500);
  EXPECT_EQ(gcm->remote_host, "10.99.2.2");
  EXPECT_EQ(gcm->local_id, "a.example");
  EXPECT_TRUE(gcm->initiator);
  EXPECT_TRUE(gcm->nat_remote);  // kernel-libipsec fakes NAT to force UDP encapsulation
  EXPECT_EQ(gcm->encr_alg, "AES_GCM_16");
  EXPECT_EQ(gcm->encr_keysize, 128);
  EXPECT_EQ(gcm->integ_alg, "");
  EXPECT_EQ(gcm->prf_alg, "PRF_HMAC_SHA2_256");
  EXPECT_EQ(gcm->dh_group, "CURVE_25519");
  EXPECT_EQ(gcm->initiator_spi.size(), 16u);
  ASSERT_EQ(gcm->child_sas.size(), 1u);
  const ChildSaInfo& child = gcm->child_sas[0];
  EXPECT_EQ(child.name, "c1");
  EXPECT_TRUE(child.installed());
  EXPECT_EQ(child.mode, "TUNNEL");
  EXPECT_EQ(child.protocol, "ESP");
  EXPECT_TRUE(child.encap);
  EXPECT_EQ(child.spi_in.size(), 8u);
  EXPECT_EQ(child.encr_alg, "AES_GCM_16");
  EXPECT_EQ(child.encr_keysize, 128);
  EXPECT_EQ(child.local_ts, std::vector<std::string>{"10.199.1.1/32"});
  EXPECT_EQ(child.remote_ts, std::vector<std::string>{"10.199.2.1/32"});
  EXPECT_NE(gcm->InstalledChild("c1"), nullptr);

  EXPECT_EQ(cbc->local_id, "C=CH, O=strongSwan Test, CN=a two");  // spaces and commas
  EXPECT_EQ(cbc->encr_alg, "AES_CBC");
  EXPECT_EQ(cbc->encr_keysize, 256);
  EXPECT_EQ(cbc->integ_alg, "HMAC_SHA2_256_128");
  EXPECT_EQ(cbc->dh_group, "MODP_2048");
  ASSERT_EQ(cbc->child_sas.size(), 1u);
  EXPECT_EQ(cbc->child_sas[0].integ_alg, "HMAC_SHA2_256_128");
  EXPECT_EQ(cbc->child_sas[0].packets_out, 2u);
  EXPECT_EQ(cbc->child_sas[0].bytes_out, 168u);
}

// After `swanctl --rekey --child c2`: the old child SA is listed as DELETED next to the new
// INSTALLED one, which used PFS (dh-group).
TEST(SwanctlSasTest, ParsesRekeyedChild) {
  auto sas = Parse(Sample("list_sas_rekeyed.txt"));
  ASSERT_EQ(sas.size(), 2u);
  const IkeSaInfo& c2 = sas[0];
  ASSERT_EQ(c2.name, "c2");
  ASSERT_EQ(c2.child_sas.size(), 2u);
  EXPECT_EQ(c2.child_sas[0].state, "DELETED");
  EXPECT_EQ(c2.child_sas[1].state, "INSTALLED");
  EXPECT_EQ(c2.child_sas[1].dh_group, "MODP_2048");
  const ChildSaInfo* installed = c2.InstalledChild("c2");
  ASSERT_NE(installed, nullptr);
  EXPECT_EQ(installed->key, "c2-3");
  EXPECT_EQ(installed->unique_id, 3u);
  EXPECT_EQ(installed->spi_in, "54e12a40");
  EXPECT_EQ(installed->spi_out, "57fbda9e");
}

TEST(SwanctlSasTest, ParsesResponderSide) {
  auto sas = Parse(Sample("list_sas_responder.txt"));
  ASSERT_EQ(sas.size(), 2u);
  for (const auto& sa : sas) EXPECT_FALSE(sa.initiator) << sa.name;
}

TEST(SwanctlSasTest, EmptyListHasNoSas) {
  EXPECT_TRUE(Parse("list-sas reply {\n}\n").empty());
  EXPECT_TRUE(Parse("").empty());
}

TEST(SwanctlSasTest, ListsAndEmptyValues) {
  std::vector<ViciSection> messages;
  std::string error;
  ASSERT_TRUE(ParseViciPretty("x event {\n  a = \n  l = [\n  ]\n  s {\n    k = v = w\n  }\n}\n",
                              &messages, &error))
      << error;
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_NE(messages[0].Value("a"), nullptr);
  EXPECT_EQ(*messages[0].Value("a"), "");
  ASSERT_NE(messages[0].List("l"), nullptr);
  EXPECT_TRUE(messages[0].List("l")->empty());
  ASSERT_NE(messages[0].Section("s"), nullptr);
  EXPECT_EQ(*messages[0].Section("s")->Value("k"), "v = w");
}

TEST(SwanctlSasTest, RejectsMalformedText) {
  std::vector<IkeSaInfo> sas;
  std::string error;
  EXPECT_FALSE(ParseListSas("list-sa event {\n  c1 {\n", &sas, &error));
  EXPECT_NE(error.find("ends inside"), std::string::npos) << error;
  EXPECT_FALSE(ParseListSas("}\n", &sas, &error));
  EXPECT_FALSE(ParseListSas("list-sa event {\n  garbage\n}\n", &sas, &error));
  EXPECT_NE(error.find("line 2"), std::string::npos) << error;
  EXPECT_FALSE(ParseListSas("list-sa event {\n c {\n  uniqueid = x1\n }\n}\n", &sas, &error));
  EXPECT_NE(error.find("uniqueid"), std::string::npos) << error;
}

}  // namespace
}  // namespace ipsec::testing
