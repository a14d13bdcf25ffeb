// Capture + tshark: a capture of two charons shows IKE_SA_INIT, IKE_AUTH and ESP in UDP; with
// charon's derived keys (read from its log) tshark decrypts the IKE_AUTH payloads and the ESP
// packets, and a wrong key is detected. This proves the UAT formats our engine's key export
// must produce. Needs root, strongSwan and tshark; fails (never skips) without.

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/interop/lab_configs.h"
#include "tests/support/lab.h"
#include "tests/support/lab_nat.h"
#include "tests/support/strongswan.h"
#include "tests/support/tshark.h"

namespace ipsec::testing {
namespace {

using std::chrono::milliseconds;

std::string MissingTshark() {
  return Shell("command -v tshark >/dev/null && command -v tcpdump >/dev/null").exit_code == 0
             ? ""
             : "tshark/tcpdump are missing: run scripts/install-deps.sh";
}

// A committed capture (tests/support/testdata) of a ping through an AES-CBC-128 /
// HMAC-SHA-256-128 child SA, with the keys charon logged for it: no root needed.
TEST(TsharkOfflineTest, DecryptsCommittedCbcCapture) {
  ASSERT_EQ(MissingTshark(), "");
  std::string pcap = std::string(IPSEC_SUPPORT_TESTDATA) + "/esp_cbc_sha256.pcap";
  Tshark tshark;
  std::string error;
  EspSaKeys out{false,
                "*",
                "*",
                0x57fbda9e,
                EncrId::kAesCbc,
                IntegId::kHmacSha2_256_128,
                "e5663dc145653efd03a95cc085aca25f",
                "b05e0a74d2f90e8777b9c715249e3896ee0f63df74b5488c411b1466e8622e42"};
  EspSaKeys in{false,
               "*",
               "*",
               0x54e12a40,
               EncrId::kAesCbc,
               IntegId::kHmacSha2_256_128,
               "52e88a2ada440051b25b5e004bbd2dde",
               "b7208d6b4bc8a1dc7803ebae4bea2367b00b9225438b53b5b1b5725c960ed4dd"};
  ASSERT_TRUE(tshark.AddEspSa(out, &error)) << error;
  ASSERT_TRUE(tshark.AddEspSa(in, &error)) << error;
  std::vector<DissectedPacket> packets;
  ASSERT_TRUE(tshark.Dissect(pcap, "esp", {"esp.spi", "icmp.type", "esp.icv_good", "ip.dst"},
                             &packets, &error))
      << error;
  ASSERT_EQ(packets.size(), 2u) << tshark.Summary(pcap);
  EXPECT_EQ(packets[0].Get("icmp.type"), "8");
  EXPECT_EQ(packets[1].Get("icmp.type"), "0");
  EXPECT_EQ(packets[0].Get("esp.icv_good"), "1");
  EXPECT_EQ(packets[0].All("ip.dst"), (std::vector<std::string>{"10.99.2.2", "10.199.2.2"}));
}

TEST(TsharkOfflineTest, ReportsWhatItCannotDecrypt) {
  Tshark tshark;
  std::string error;
  EspSaKeys chacha;
  chacha.encr = EncrId::kChaCha20Poly1305;
  EXPECT_FALSE(tshark.AddEspSa(chacha, &error));
  std::vector<DissectedPacket> packets;
  EXPECT_FALSE(tshark.Dissect("/nonexistent.pcap", "", {"frame.number"}, &packets, &error));
  EXPECT_NE(error.find("nonexistent"), std::string::npos) << error;
}

class TsharkInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(MissingTshark(), "");
    std::string missing = MissingStrongswanPrerequisites();
    ASSERT_TRUE(missing.empty()) << missing;
    lab_ = Lab::Create(2, &error_);
    ASSERT_TRUE(lab_) << error_;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(AddAddress(lab_->pod(i), InnerV4(i) + "/32", &error_)) << error_;
    }
    // Capture a whole negotiation and a ping, on pod 0's side of the wire.
    capture_ = Capture::Start(lab_->pod(0), "eth0", dir_.path() + "/lab.pcap", &error_);
    ASSERT_TRUE(capture_) << error_;
    CharonOptions options;
    options.log_keys = true;
    a_ = Charon::Start(lab_->pod(0), "a", options, &error_);
    ASSERT_TRUE(a_) << error_;
    b_ = Charon::Start(lab_->pod(1), "b", options, &error_);
    ASSERT_TRUE(b_) << error_;
    PeerSpec pa{lab_->PodV4(0), "a.lab", InnerV4(0)};
    PeerSpec pb{lab_->PodV4(1), "b.lab", InnerV4(1)};
    ASSERT_TRUE(a_->Load(PskConfig(pa, pb), &error_)) << error_;
    ASSERT_TRUE(b_->Load(PskConfig(pb, pa), &error_)) << error_;
    ASSERT_TRUE(a_->Initiate("net", &error_)) << error_;
    ASSERT_TRUE(b_->WaitForChild("host", "net", milliseconds(3000), &error_)) << error_;
    CommandResult ping = lab_->Exec(
        lab_->pod(0), {"ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", InnerV4(0), InnerV4(1)});
    ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err;
    ASSERT_TRUE(capture_->Stop(&error_)) << error_;
    pcap_ = capture_->path();
  }

  std::vector<DissectedPacket> Dissect(const Tshark& tshark, const std::string& filter,
                                       const std::vector<std::string>& fields) {
    std::vector<DissectedPacket> packets;
    EXPECT_TRUE(tshark.Dissect(pcap_, filter, fields, &packets, &error_)) << error_;
    return packets;
  }

  std::string error_;
  TempDir dir_;
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Capture> capture_;
  std::unique_ptr<Charon> a_, b_;
  std::string pcap_;
};

TEST_F(TsharkInteropTest, CaptureShowsIkeAndEspInUdp) {
  Tshark tshark;  // no keys
  auto init = Dissect(tshark, "isakmp.exchangetype == 34", {"udp.dstport", "isakmp.ispi"});
  ASSERT_EQ(init.size(), 2u) << tshark.Summary(pcap_);
  EXPECT_EQ(init[0].Get("udp.dstport"), "500");
  auto auth = Dissect(tshark, "isakmp.exchangetype == 35", {"udp.dstport", "isakmp.id.type"});
  ASSERT_EQ(auth.size(), 2u) << tshark.Summary(pcap_);
  EXPECT_EQ(auth[0].Get("udp.dstport"), "4500");  // floated to NAT-T
  EXPECT_FALSE(auth[0].Has("isakmp.id.type")) << "encrypted without keys";
  auto esp = Dissect(tshark, "esp", {"udp.dstport", "esp.spi", "icmp.type"});
  ASSERT_EQ(esp.size(), 4u) << tshark.Summary(pcap_);  // 2 echo requests + 2 replies
  for (const auto& p : esp) {
    EXPECT_EQ(p.Get("udp.dstport"), "4500");
    EXPECT_FALSE(p.Has("icmp.type"));
  }
}

TEST_F(TsharkInteropTest, DecryptsWithCharonsKeys) {
  std::vector<IkeSaKeys> ike;
  std::vector<EspSaKeys> esp;
  ASSERT_TRUE(a_->TsharkKeys(&ike, &esp, &error_)) << error_;
  ASSERT_EQ(ike.size(), 1u);
  ASSERT_EQ(esp.size(), 2u);
  Tshark tshark;
  ASSERT_TRUE(tshark.AddIkeSa(ike[0], &error_)) << error_;
  for (const auto& e : esp) ASSERT_TRUE(tshark.AddEspSa(e, &error_)) << error_;

  auto auth = Dissect(tshark, "isakmp.exchangetype == 35",
                      {"isakmp.nextpayload", "isakmp.id.data.fqdn", "_ws.expert.message"});
  ASSERT_EQ(auth.size(), 2u) << tshark.Summary(pcap_);
  auto payloads = auth[0].All("isakmp.nextpayload");
  EXPECT_NE(std::find(payloads.begin(), payloads.end(), "35"), payloads.end())
      << "IDi must be among the decrypted payloads";
  EXPECT_EQ(auth[0].All("isakmp.id.data.fqdn"), (std::vector<std::string>{"a.lab", "b.lab"}));
  EXPECT_EQ(auth[1].Get("isakmp.id.data.fqdn"), "b.lab");
  EXPECT_FALSE(auth[0].Has("_ws.expert.message")) << auth[0].Get("_ws.expert.message");

  auto icmp = Dissect(tshark, "esp", {"icmp.type", "esp.icv_good", "ip.src"});
  ASSERT_EQ(icmp.size(), 4u) << tshark.Summary(pcap_);
  EXPECT_EQ(icmp[0].Get("icmp.type"), "8");
  EXPECT_EQ(icmp[1].Get("icmp.type"), "0");
  for (const auto& p : icmp) EXPECT_EQ(p.Get("esp.icv_good"), "1");
  EXPECT_EQ(icmp[0].All("ip.src").back(), InnerV4(0));  // the inner packet

  // The responder's view of the same SAs gives the same keys.
  std::vector<IkeSaKeys> ike_b;
  std::vector<EspSaKeys> esp_b;
  ASSERT_TRUE(b_->TsharkKeys(&ike_b, &esp_b, &error_)) << error_;
  ASSERT_EQ(ike_b.size(), 1u);
  EXPECT_EQ(ike_b[0].sk_ei, ike[0].sk_ei);
}

TEST_F(TsharkInteropTest, WrongKeysAreDetected) {
  std::vector<IkeSaKeys> ike;
  std::vector<EspSaKeys> esp;
  ASSERT_TRUE(a_->TsharkKeys(&ike, &esp, &error_)) << error_;
  ASSERT_EQ(ike.size(), 1u);
  ike[0].sk_ei[0] = ike[0].sk_ei[0] == '0' ? '1' : '0';
  for (auto& e : esp) e.encr_key[0] = e.encr_key[0] == '0' ? '1' : '0';
  Tshark tshark;
  ASSERT_TRUE(tshark.AddIkeSa(ike[0], &error_)) << error_;
  for (const auto& e : esp) ASSERT_TRUE(tshark.AddEspSa(e, &error_)) << error_;
  auto auth =
      Dissect(tshark, "isakmp.exchangetype == 35 && isakmp.flag_i == 1", {"_ws.expert.message"});
  ASSERT_EQ(auth.size(), 1u);
  std::string expert;
  for (const auto& m : auth[0].All("_ws.expert.message")) expert += m + "; ";
  EXPECT_NE(expert.find("Integrity Checksum Data is incorrect"), std::string::npos) << expert;
  auto icmp = Dissect(tshark, "esp", {"icmp.type", "esp.icv_bad", "esp.icv_good", "esp.spi"});
  ASSERT_EQ(icmp.size(), 4u);
  // Nothing decrypts and nothing passes the ICV check. (Seen once in CI under load: one of
  // the four packets carried neither icv_bad nor icv_good, i.e. tshark did not check it; the
  // SPIs and key rows below tell why if it happens again.)
  std::string rows;
  for (const auto& e : esp) rows += std::to_string(e.spi) + " ";
  int bad = 0;
  for (const auto& p : icmp) {
    EXPECT_FALSE(p.Has("icmp.type")) << "decrypted with a wrong key";
    EXPECT_NE(p.Get("esp.icv_good"), "1") << "ICV accepted with a wrong key";
    bad += p.Get("esp.icv_bad") == "1";
  }
  EXPECT_GE(bad, 3) << "SPIs on the wire: " << icmp[0].Get("esp.spi") << " "
                    << icmp[1].Get("esp.spi") << " " << icmp[2].Get("esp.spi") << " "
                    << icmp[3].Get("esp.spi") << "; key rows: " << rows;
}

}  // namespace
}  // namespace ipsec::testing
