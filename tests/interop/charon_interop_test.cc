// The Charon fixture against itself: two charons in two lab pods negotiate IKEv2 and carry
// traffic through kernel-libipsec; certificates from RSA and ECDSA CAs; a killed peer is
// noticed by dead peer detection. Needs root and strongSwan; fails (never skips) without.

#include <gtest/gtest.h>

#include "tests/interop/lab_configs.h"
#include "tests/support/lab.h"
#include "tests/support/lab_nat.h"
#include "tests/support/strongswan.h"
#include "tests/support/test_pki.h"

namespace ipsec::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class CharonInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = MissingStrongswanPrerequisites();
    ASSERT_TRUE(missing.empty()) << missing;
    lab_ = Lab::Create(2, &error_);
    ASSERT_TRUE(lab_) << error_;
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(AddAddress(lab_->pod(i), InnerV4(i) + "/32", &error_)) << error_;
    }
  }

  PeerSpec Peer(int i, const std::string& id) const { return {lab_->PodV4(i), id, InnerV4(i)}; }

  // Starts charons in pods 0 (initiator) and 1 (responder) with these configurations.
  void StartPair(const SwanctlConfig& initiator, const SwanctlConfig& responder,
                 const CharonOptions& options = {}) {
    a_ = Charon::Start(lab_->pod(0), "a", options, &error_);
    ASSERT_TRUE(a_) << error_;
    b_ = Charon::Start(lab_->pod(1), "b", options, &error_);
    ASSERT_TRUE(b_) << error_;
    ASSERT_TRUE(a_->Load(initiator, &error_)) << error_;
    ASSERT_TRUE(b_->Load(responder, &error_)) << error_;
  }

  // Pings pod 1's inner address from pod 0's: only the tunnel routes between them.
  CommandResult PingThroughTunnel(int count) {
    return lab_->Exec(lab_->pod(0), {"ping", "-c", std::to_string(count), "-i", "0.2", "-W", "2",
                                     "-I", InnerV4(0), InnerV4(1)});
  }

  std::string error_;
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Charon> a_;  // destroyed (stopped) before the lab
  std::unique_ptr<Charon> b_;
};

TEST_F(CharonInteropTest, PskTunnelCarriesPing) {
  ASSERT_NO_FATAL_FAILURE(StartPair(PskConfig(Peer(0, "a.lab"), Peer(1, "b.lab")),
                                    PskConfig(Peer(1, "b.lab"), Peer(0, "a.lab"))));
  ASSERT_TRUE(a_->Initiate("net", &error_)) << error_;
  auto ike = a_->WaitForChild("host", "net", milliseconds(5000), &error_);
  ASSERT_TRUE(ike) << error_;
  EXPECT_EQ(ike->version, 2);
  EXPECT_TRUE(ike->initiator);
  EXPECT_EQ(ike->encr_alg, "AES_GCM_16");
  EXPECT_EQ(ike->encr_keysize, 128);
  EXPECT_EQ(ike->prf_alg, "PRF_HMAC_SHA2_256");
  EXPECT_EQ(ike->dh_group, "CURVE_25519");
  EXPECT_EQ(ike->local_id, "a.lab");
  EXPECT_EQ(ike->remote_id, "b.lab");
  EXPECT_EQ(ike->remote_port, 4500);  // libipsec forces NAT-T: UDP encapsulation always
  const ChildSaInfo* child = ike->InstalledChild("net");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->mode, "TUNNEL");
  EXPECT_EQ(child->protocol, "ESP");
  EXPECT_TRUE(child->encap);
  EXPECT_EQ(child->encr_alg, "AES_GCM_16");
  EXPECT_EQ(child->local_ts, std::vector<std::string>{InnerV4(0) + "/32"});

  auto responder = b_->WaitForChild("host", "net", milliseconds(2000), &error_);
  ASSERT_TRUE(responder) << error_;
  EXPECT_FALSE(responder->initiator);
  EXPECT_EQ(responder->initiator_spi, ike->initiator_spi);
  EXPECT_EQ(responder->InstalledChild("net")->spi_in, child->spi_out);

  CommandResult ping = PingThroughTunnel(3);
  ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err << a_->ListSasText();
  auto after = a_->WaitForChild("host", "net", milliseconds(1000), &error_);
  ASSERT_TRUE(after) << error_;
  EXPECT_GE(after->InstalledChild("net")->packets_out, 3u) << DescribeSas({*after});
  EXPECT_GE(after->InstalledChild("net")->packets_in, 3u) << DescribeSas({*after});

  // Rekey the child, then tear the IKE SA down: the responder follows.
  ASSERT_TRUE(a_->RekeyChild("net", &error_)) << error_;
  auto rekeyed = a_->WaitForChild("host", "net", milliseconds(3000), &error_);
  ASSERT_TRUE(rekeyed) << error_;
  EXPECT_NE(rekeyed->InstalledChild("net")->spi_out, child->spi_out);
  ASSERT_EQ(PingThroughTunnel(1).exit_code, 0);
  ASSERT_TRUE(a_->TerminateIke("host", &error_)) << error_;
  EXPECT_TRUE(b_->WaitForNoIke("host", milliseconds(3000), &error_)) << error_;
  EXPECT_NE(PingThroughTunnel(1).exit_code, 0) << "traffic must not flow without the tunnel";
}

TEST_F(CharonInteropTest, WrongPskFails) {
  SwanctlConfig bad = PskConfig(Peer(1, "b.lab"), Peer(0, "a.lab"));
  bad.shared_keys[0].secret = "not-the-same-psk";
  ASSERT_NO_FATAL_FAILURE(StartPair(PskConfig(Peer(0, "a.lab"), Peer(1, "b.lab")), bad));
  EXPECT_FALSE(a_->Initiate("net", &error_, "", seconds(5)));
  EXPECT_TRUE(b_->WaitForLog("verification of AUTH payload", milliseconds(2000)) ||
              b_->WaitForLog("tried 1 shared key", milliseconds(10)))
      << b_->LogTail();
}

SwanctlConfig CertConfig(const PeerSpec& local, const PeerSpec& remote, const TestPki& pki,
                         const TestCert& cert) {
  SwanctlConfig config;
  ConnectionConfig c = HostConnection(local, remote, "aes256gcm16-prfsha384-ecp384", "aes256gcm16");
  c.local = {"pubkey", local.id, {"own.pem"}};
  c.remote = {"pubkey", remote.id, {}, {"ca.pem"}};
  config.connections = {c};
  config.AddCert("own.pem", cert.cert_pem);
  config.AddPrivateKey("own.key", cert.key_pem);
  config.AddCaCert("ca.pem", pki.ca().cert_pem);
  return config;
}

class CharonCertificateTest : public CharonInteropTest,
                              public ::testing::WithParamInterface<KeyType> {};

TEST_P(CharonCertificateTest, CertificatesFromOneCa) {
  auto pki = TestPki::CreateCa("Lab CA", GetParam(), &error_);
  ASSERT_TRUE(pki) << error_;
  TestCert cert_a, cert_b;
  ASSERT_TRUE(pki->Issue("a.lab", GetParam(), &cert_a, &error_)) << error_;
  ASSERT_TRUE(pki->Issue("b.lab", GetParam(), &cert_b, &error_)) << error_;
  ASSERT_NO_FATAL_FAILURE(StartPair(CertConfig(Peer(0, "a.lab"), Peer(1, "b.lab"), *pki, cert_a),
                                    CertConfig(Peer(1, "b.lab"), Peer(0, "a.lab"), *pki, cert_b)));
  ASSERT_TRUE(a_->Initiate("net", &error_)) << error_;
  auto ike = a_->WaitForChild("host", "net", milliseconds(5000), &error_);
  ASSERT_TRUE(ike) << error_;
  EXPECT_EQ(ike->encr_alg, "AES_GCM_16");
  EXPECT_EQ(ike->encr_keysize, 256);
  EXPECT_EQ(ike->dh_group, "ECP_384");
  EXPECT_EQ(ike->remote_id, "b.lab");
  std::string method = GetParam() == KeyType::kRsa2048 ? "RSA" : "ECDSA";
  EXPECT_TRUE(a_->WaitForLog("authentication of 'b.lab' with", milliseconds(100)));
  EXPECT_NE(b_->Log().find("authentication of 'a.lab' with " + method), std::string::npos)
      << b_->LogTail();
  CommandResult ping = PingThroughTunnel(2);
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
}

TEST_P(CharonCertificateTest, UntrustedCertificateFails) {
  auto pki = TestPki::CreateCa("Lab CA", GetParam(), &error_);
  ASSERT_TRUE(pki) << error_;
  auto other = TestPki::CreateCa("Other CA", GetParam(), &error_);
  ASSERT_TRUE(other) << error_;
  TestCert cert_a, cert_b;
  ASSERT_TRUE(other->Issue("a.lab", GetParam(), &cert_a, &error_)) << error_;
  ASSERT_TRUE(pki->Issue("b.lab", GetParam(), &cert_b, &error_)) << error_;
  SwanctlConfig a_config = CertConfig(Peer(0, "a.lab"), Peer(1, "b.lab"), *pki, cert_a);
  ASSERT_NO_FATAL_FAILURE(
      StartPair(a_config, CertConfig(Peer(1, "b.lab"), Peer(0, "a.lab"), *pki, cert_b)));
  EXPECT_FALSE(a_->Initiate("net", &error_, "", seconds(5)));
  EXPECT_TRUE(b_->WaitForLog("no trusted RSA public key found for 'a.lab'", milliseconds(2000)) ||
              b_->WaitForLog("no trusted ECDSA public key found for 'a.lab'", milliseconds(10)))
      << b_->LogTail();
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, CharonCertificateTest,
                         ::testing::Values(KeyType::kRsa2048, KeyType::kEcdsaP256),
                         [](const auto& info) {
                           return info.param == KeyType::kRsa2048 ? "Rsa" : "Ecdsa";
                         });

TEST_F(CharonInteropTest, KilledPeerIsNoticedByDeadPeerDetection) {
  SwanctlConfig responder = PskConfig(Peer(1, "b.lab"), Peer(0, "a.lab"));
  responder.connections[0].dpd_delay = "1s";
  ASSERT_NO_FATAL_FAILURE(StartPair(PskConfig(Peer(0, "a.lab"), Peer(1, "b.lab")), responder));
  ASSERT_TRUE(a_->Initiate("net", &error_)) << error_;
  ASSERT_TRUE(b_->WaitForChild("host", "net", milliseconds(3000), &error_)) << error_;
  a_->Kill();
  EXPECT_FALSE(a_->Running());
  // DPD after 1 s idle, then retransmits at 1 s, 1.4 s and 1.96 s (CharonOptions defaults).
  EXPECT_TRUE(b_->WaitForNoIke("host", milliseconds(12000), &error_)) << error_;
  EXPECT_TRUE(b_->WaitForLog("giving up after 2 retransmits", milliseconds(100))) << b_->LogTail();
}

}  // namespace
}  // namespace ipsec::testing
