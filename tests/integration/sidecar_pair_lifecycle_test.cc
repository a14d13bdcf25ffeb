// Sidecar <-> sidecar (issue 3), the rest of the charon interop matrix between two of our
// daemons in two lab pods: child SA and IKE SA rekeys started by each side (short lifetimes in
// the policy; the child SA keeps its API id across rekeys), X.509 certificates (RSA one way,
// ECDSA the other, from --cert-dir/--ca-dir), one daemon behind a NAT (nftables masquerade;
// NAT-T, UDP 4500, a rekey across it), and dead peer detection when one daemon is killed
// (SIGKILL); and pings through ESP (userspace data path) across child rekeys lose nothing.
// The other cases do not send traffic: they prove the negotiations.
// Needs root, iproute2, nftables, openssl and curl; without them it fails with the reason.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/integration_util.h"
#include "tests/support/lab.h"
#include "tests/support/lab_nat.h"
#include "tests/support/test_pki.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "pair-lifecycle-psk-8d13e0b7c4";



// One side's policy: traffic `me` <-> `peer` in a tunnel to `endpoint`.
struct Side {
  std::string me;
  std::string peer;
  std::string endpoint;
  json auth = {{"type", "psk"}, {"preshared_key", kPsk}};
  int child_lifetime = 0;  // seconds; 0: the default
  int ike_lifetime = 0;
};

json Policy(const Side& s) {
  json esp = {{"protocol", "esp"}, {"esp_encryption", "aes128gcm16"}, {"esp_integrity", "none"}};
  if (s.child_lifetime > 0) esp["lifetime_seconds"] = s.child_lifetime;
  json kx = {{"proposals", json::array({{{"encryption", "aes128gcm16"},
                                         {"integrity", "none"},
                                         {"prf", "prfsha256"},
                                         {"dh_group", "curve25519"}}})}};
  if (s.ike_lifetime > 0) kx["ike_sa_lifetime_seconds"] = s.ike_lifetime;
  return {
      {"name", "pair"},
      {"key_exchange", kx},
      {"filter_lists",
       json::array({{{"name", "peer"},
                     {"filters", json::array({{{"source", s.me}, {"destination", s.peer}}})}}})},
      {"filter_actions", json::array({{{"name", "secure"},
                                       {"type", "negotiate"},
                                       {"security_methods", json::array({esp})}}})},
      {"rules", json::array({{{"name", "tunnel"},
                              {"filter_list", "peer"},
                              {"filter_action", "secure"},
                              {"tunnel_endpoint", s.endpoint},
                              {"auth_methods", json::array({s.auth})}}})}};
}

class SidecarPairLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lab_ = Lab::Create(2, &error_);
    ASSERT_NE(lab_, nullptr) << error_;
  }

  void Start(int i, std::vector<std::string> extra_args = {}, const std::string& netns = "") {
    Daemon::Options o;
    o.extra_args = std::move(extra_args);
    o.netns = netns;
    d_[i] = std::make_unique<Daemon>(*lab_, i, o);
    ASSERT_TRUE(d_[i]->Start()) << "daemon " << i << " did not turn ready:\n" << d_[i]->Log();
    CommandResult on = d_[i]->Http("PUT", "/v1/config/ike-logging", R"({"enabled": true})");
    ASSERT_EQ(Status(on), 200) << on.out << on.err;
  }
  // Both daemons in their pods, each securing its pod address with the other's.
  void StartPair(const std::vector<std::string>& extra_args = {}) {
    for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(Start(i, extra_args));
  }
  Side PodSide(int i) const { return {lab_->PodV4(i), lab_->PodV4(1 - i), lab_->PodV4(1 - i)}; }

  void Apply(int i, const Side& side) {
    CommandResult put = d_[i]->Http("PUT", "/v1/policies/pair", Policy(side).dump());
    ASSERT_TRUE(Status(put) == 200 || Status(put) == 201) << put.out << put.err;
    CommandResult assign = d_[i]->Http("PUT", "/v1/assignment", R"({"policy": "pair"})");
    ASSERT_EQ(Status(assign), 200) << assign.out << assign.err;
  }

  json Sas(int i) {
    CommandResult r = d_[i]->Http("GET", "/v1/sas");
    EXPECT_EQ(Status(r), 200) << r.out << r.err;
    json j = Body(r);
    return j.is_object() && j.contains("ike_sas") ? j["ike_sas"] : json::array();
  }
  json Stats(int i) { return Body(d_[i]->Http("GET", "/v1/stats")); }
  bool Established(int i) {
    json sas = Sas(i);
    return sas.size() == 1 && sas[0]["state"] == "established" && sas[0]["child_sas"].size() == 1;
  }
  std::string IkeLog(int i) { return ReadFile(d_[i]->dir() + "/log/ike.log"); }
  std::string Diagnostics() {
    std::string s;
    for (int i = 0; i < 2; ++i) {
      if (!d_[i]) continue;
      s += "\n--- daemon " + std::to_string(i) + " SAs: " + Sas(i).dump() + "\n--- IKE log:\n" +
           IkeLog(i);
    }
    return s;
  }

  // `from` initiates (POST /v1/sas); both sides established with paired SPIs.
  void Establish(int from) {
    CommandResult r = d_[from]->Http("POST", "/v1/sas", R"({"rule": "tunnel"})");
    ASSERT_EQ(Status(r), 201) << r.out << r.err;
    ASSERT_TRUE(WaitFor([&] { return Established(0) && Established(1); })) << Diagnostics();
    ExpectPaired();
  }
  void ExpectPaired() {
    const json a = Sas(0), b = Sas(1);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0]["spi_i"], b[0]["spi_i"]);
    EXPECT_EQ(a[0]["spi_r"], b[0]["spi_r"]);
    ASSERT_EQ(a[0]["child_sas"].size(), 1u);
    ASSERT_EQ(b[0]["child_sas"].size(), 1u);
    EXPECT_EQ(a[0]["child_sas"][0]["spi_in"], b[0]["child_sas"][0]["spi_out"]);
    EXPECT_EQ(a[0]["child_sas"][0]["spi_out"], b[0]["child_sas"][0]["spi_in"]);
  }
  void DeleteAndWaitEmpty() {
    const std::string id = Sas(0)[0]["id"].get<std::string>();
    ASSERT_EQ(Status(d_[0]->Http("DELETE", "/v1/sas/" + id)), 204);
    ASSERT_TRUE(WaitFor([&] { return Sas(0).empty() && Sas(1).empty(); })) << Diagnostics();
  }

  std::string error_;
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<NatPod> nat_;  // destroyed before the lab
  std::unique_ptr<Daemon> d_[2];
};

// Short lifetimes (child 4 s, IKE SA 6 s; rekeys at ~85-90 %) on one side only, so that side
// starts both rekeys: first pod 0 (the initiator), then pod 1 (the responder of the IKE SA).
// Afterwards one IKE SA with one child SA on each side, new SPIs paired, and each side's child
// SA still has the id it had (RFC 7296 §2.8 keeps the reqid).
TEST_F(SidecarPairLifecycleTest, ChildAndIkeRekeysStartedByEachSide) {
  ASSERT_NO_FATAL_FAILURE(StartPair());
  for (int rekeyer : {0, 1}) {
    SCOPED_TRACE("rekeys started by daemon " + std::to_string(rekeyer));
    for (int i = 0; i < 2; ++i) {
      Side side = PodSide(i);
      if (i == rekeyer) {
        side.child_lifetime = 4;
        side.ike_lifetime = 6;
      }
      ASSERT_NO_FATAL_FAILURE(Apply(i, side));
    }
    const size_t log_start[2] = {IkeLog(0).size(), IkeLog(1).size()};  // this round's lines
    ASSERT_NO_FATAL_FAILURE(Establish(0));
    const json before[2] = {Sas(0)[0], Sas(1)[0]};
    auto rekeyed = [&](int i) {
      json s = Sas(i);
      return s.size() == 1 && s[0]["state"] == "established" &&
             s[0]["spi_i"] != before[i]["spi_i"] && s[0]["child_sas"].size() == 1 &&
             s[0]["child_sas"][0]["spi_in"] != before[i]["child_sas"][0]["spi_in"] &&
             s[0]["child_sas"][0]["state"] == "installed";
    };
    ASSERT_TRUE(WaitFor([&] { return rekeyed(0) && rekeyed(1); }, 8s)) << Diagnostics();
    ASSERT_NO_FATAL_FAILURE(ExpectPaired());
    for (int i = 0; i < 2; ++i) {
      const json now = Sas(i)[0];
      EXPECT_EQ(now["child_sas"][0]["id"], before[i]["child_sas"][0]["id"])
          << "daemon " << i << ": a rekey keeps the child SA's id\n"
          << now.dump();
      EXPECT_NE(now["id"], before[i]["id"]) << "a rekeyed IKE SA is a new one";
      const json stats = Stats(i);
      EXPECT_EQ(stats["ike"]["ike_sas_active"], 1) << stats.dump();
    }
    const std::string log = IkeLog(rekeyer).substr(log_start[rekeyer]);
    const std::string other = IkeLog(1 - rekeyer).substr(log_start[1 - rekeyer]);
    EXPECT_NE(log.find("soft lifetime reached, rekeying (§2.8)"), std::string::npos) << log;
    EXPECT_NE(log.find("IKE SA soft lifetime reached, rekeying"), std::string::npos) << log;
    EXPECT_EQ(other.find("soft lifetime reached"), std::string::npos)
        << "the other side (default lifetimes) started nothing\n"
        << other;
    ASSERT_NO_FATAL_FAILURE(DeleteAndWaitEmpty());
  }
}

// X.509 certificates (FAQ 29) both ways: pod 0 has an RSA certificate, pod 1 an ECDSA one,
// both issued by the lab CA each trusts (--ca-dir bundle "lab-ca"); keys from --cert-dir.
TEST_F(SidecarPairLifecycleTest, CertificatesRsaOneWayEcdsaTheOther) {
  auto ca = TestPki::CreateCa("Pair CA", KeyType::kEcdsaP256, &error_);
  ASSERT_TRUE(ca) << error_;
  const KeyType types[2] = {KeyType::kRsa2048, KeyType::kEcdsaP256};
  TempDir dirs;
  for (int i = 0; i < 2; ++i) {
    const std::string id = "pod" + std::to_string(i) + ".pair.lab";
    TestCert cert;
    ASSERT_TRUE(ca->Issue(id, types[i], &cert, &error_)) << error_;
    const std::string certs = dirs.path() + "/certs" + std::to_string(i);
    const std::string cas = dirs.path() + "/ca" + std::to_string(i);
    ASSERT_EQ(ipsec::testing::Run({"mkdir", "-p", certs + "/own", cas + "/lab-ca"}).exit_code, 0);
    WriteFile(certs + "/own/tls.crt", cert.cert_pem);
    WriteFile(certs + "/own/tls.key", cert.key_pem);
    WriteFile(cas + "/lab-ca/ca.crt", ca->ca().cert_pem);
    ASSERT_NO_FATAL_FAILURE(
        Start(i, {"--local-id=" + id, "--cert-dir=" + certs, "--ca-dir=" + cas}));
    Side side = PodSide(i);
    side.auth = {{"type", "certificate"}, {"certificate_authority", "lab-ca"}};
    ASSERT_NO_FATAL_FAILURE(Apply(i, side));
  }
  ASSERT_NO_FATAL_FAILURE(Establish(0));
  const json a = Sas(0)[0], b = Sas(1)[0];
  EXPECT_EQ(a["remote_id"], "pod1.pair.lab") << a.dump();
  EXPECT_EQ(b["remote_id"], "pod0.pair.lab") << b.dump();
  EXPECT_NE(a["local_auth"].get<std::string>().find("certificate, rsa"), std::string::npos)
      << a.dump();
  EXPECT_NE(a["remote_auth"].get<std::string>().find("certificate, ecdsa"), std::string::npos)
      << a.dump();
  EXPECT_EQ(b["local_auth"], a["remote_auth"]);
  EXPECT_EQ(b["remote_auth"], a["local_auth"]);
  // And the other way round on the same daemons.
  ASSERT_NO_FATAL_FAILURE(DeleteAndWaitEmpty());
  ASSERT_NO_FATAL_FAILURE(Establish(1));
  EXPECT_EQ(Sas(1)[0]["role"], "initiator");
}

// Pod 1's daemon behind a NAT router (nftables masquerade): it initiates, both detect the NAT
// (RFC 7296 §2.23), float to UDP 4500 and encapsulate ESP; pod 0 sees it at the router's
// address. Pod 0 (short child lifetime) then rekeys the child SA across the NAT.
TEST_F(SidecarPairLifecycleTest, OneDaemonBehindANat) {
  nat_ = NatPod::Create(*lab_, 1, &error_);
  ASSERT_TRUE(nat_) << error_;
  ASSERT_EQ(lab_->Exec(nat_->netns(), {"ip", "link", "set", "lo", "up"}).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(Start(0));
  ASSERT_NO_FATAL_FAILURE(Start(1, {}, nat_->netns()));
  Side ours{lab_->PodV4(0), nat_->address(), nat_->public_address()};
  ours.child_lifetime = 4;
  ASSERT_NO_FATAL_FAILURE(Apply(0, ours));
  ASSERT_NO_FATAL_FAILURE(Apply(1, {nat_->address(), lab_->PodV4(0), lab_->PodV4(0)}));
  ASSERT_NO_FATAL_FAILURE(Establish(1));
  const json a = Sas(0)[0], b = Sas(1)[0];
  EXPECT_EQ(a["remote"].get<std::string>().rfind(nat_->public_address() + ":", 0), 0u)
      << a.dump() << nat_->NatTable();
  EXPECT_EQ(a["local"], lab_->PodV4(0) + ":4500") << a.dump();
  EXPECT_TRUE(a["nat_remote"].get<bool>()) << a.dump();
  EXPECT_FALSE(a["nat_local"].get<bool>()) << a.dump();
  EXPECT_TRUE(b["nat_local"].get<bool>()) << b.dump();
  EXPECT_TRUE(b["udp_4500"].get<bool>()) << b.dump();
  EXPECT_TRUE(a["child_sas"][0]["udp_encapsulation"].get<bool>()) << a.dump();
  EXPECT_TRUE(b["child_sas"][0]["udp_encapsulation"].get<bool>()) << b.dump();
  // Pod 0 rekeys the child SA through the NAT's mapping.
  const json old_child = a["child_sas"][0];
  ASSERT_TRUE(WaitFor(
      [&] {
        json s = Sas(0);
        return s.size() == 1 && s[0]["child_sas"].size() == 1 &&
               s[0]["child_sas"][0]["spi_in"] != old_child["spi_in"] && Sas(1).size() == 1 &&
               Sas(1)[0]["child_sas"].size() == 1;
      },
      8s))
      << Diagnostics();
  ASSERT_NO_FATAL_FAILURE(ExpectPaired());
  EXPECT_EQ(Sas(0)[0]["child_sas"][0]["id"], old_child["id"]);
}

// Make-before-break with real ESP (the userspace data path): pod 1 rekeys the child SA every
// ~3.5 s (4 s lifetime; pod 0 answers) while pod 0 pings it 10 times a second for 8 s: not one
// echo may be lost across the rekeys (§2.8), and the child SA keeps its id. (The responder's
// held-back outbound SA is proven message by message in ike_make_before_break_test; a ping
// rarely falls into that window.)
TEST_F(SidecarPairLifecycleTest, PingThroughChildRekeysLosesNothing) {
  ASSERT_EQ(ipsec::testing::Run({"sh", "-c", "command -v ping"}).exit_code, 0)
      << "ping is missing: run scripts/install-deps.sh";
  for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(Start(i, {"--dataplane=userspace"}));
  Side rekeyer = PodSide(1);
  rekeyer.child_lifetime = 4;
  ASSERT_NO_FATAL_FAILURE(Apply(0, PodSide(0)));
  ASSERT_NO_FATAL_FAILURE(Apply(1, rekeyer));
  CommandResult first =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "3", "-i", "0.5", "-W", "5", lab_->PodV4(1)});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return Established(0) && Established(1); })) << Diagnostics();
  const json before = Sas(0)[0]["child_sas"][0];
  CommandResult ping = lab_->Exec(
      lab_->pod(0), {"ping", "-c", "80", "-i", "0.1", "-W", "2", lab_->PodV4(1)}, "", 30s);
  EXPECT_EQ(ping.exit_code, 0) << ping.out << Diagnostics();
  EXPECT_NE(ping.out.find(" 0% packet loss"), std::string::npos) << ping.out << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return Established(0) && Established(1); })) << Diagnostics();
  const json after = Sas(0)[0]["child_sas"][0];
  EXPECT_NE(after["spi_in"], before["spi_in"]) << "no rekey happened\n" << Diagnostics();
  EXPECT_EQ(after["id"], before["id"]);
  const std::string log = IkeLog(1);
  EXPECT_NE(log.find("soft lifetime reached, rekeying (§2.8)"), std::string::npos) << log;
}

// Pod 1's daemon is killed (SIGKILL, as a crash): pod 0's dead peer detection (RFC 7296 §2.4:
// a liveness check after --dpd-seconds without anything protected from the peer, then
// retransmissions: 0.25 + 0.5 + 1 + 2 s) removes the IKE SA and its child SA.
TEST_F(SidecarPairLifecycleTest, KilledPeerIsDetectedAsDead) {
  ASSERT_NO_FATAL_FAILURE(
      Start(0, {"--dpd-seconds=2", "--retransmit-base-ms=250", "--retransmit-tries=3"}));
  ASSERT_NO_FATAL_FAILURE(Start(1));
  for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(Apply(i, PodSide(i)));
  ASSERT_NO_FATAL_FAILURE(Establish(1));
  // While the peer lives, the checks are answered.
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE(Established(0)) << Diagnostics();
  const pid_t pid = d_[1]->pid();
  ASSERT_GT(pid, 0);
  d_[1]->Kill();
  EXPECT_TRUE(WaitFor([&] { return !d_[1]->Running(); }, 5s)) << "pid " << pid << " still runs";
  EXPECT_TRUE(WaitFor([&] { return Sas(0).empty(); }, 15s)) << Diagnostics();
  const json stats = Stats(0);
  EXPECT_EQ(stats["ike"]["ike_sas_active"], 0) << stats.dump();
  EXPECT_EQ(stats["ike"]["child_sas_active"], 0) << stats.dump();
  EXPECT_GE(stats["ike"]["retransmits_total"].get<int>(), 3) << stats.dump();
  EXPECT_NE(IkeLog(0).find("no answer to INFORMATIONAL after 3 retransmissions"), std::string::npos)
      << IkeLog(0);
}

}  // namespace
}  // namespace ipsec::testing
