// Sidecar <-> sidecar (issue 3): two daemons in two pods of the lab negotiate IKEv2 over the
// node's veths with the same preshared-key policy — one initiates through POST /v1/sas, both
// APIs show the IKE SA and its child SA with paired SPIs, the metrics and ipsecctl show it, a
// DELETE on one side clears both, and a wrong key fails on both sides with a counted failure.
// Variants: AES-CBC + HMAC-SHA2 with MODP-2048 and ECP-256. The data path is the in-memory
// recording backend (no ESP here yet), so this proves the negotiation, not traffic.
// Needs root, iproute2 and curl; without them it fails with the reason (never skips).

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/integration_util.h"
#include "tests/support/lab.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "pair-test-psk-5f2c9a71e0";


struct Suite {
  std::string name;
  json ike_proposal;  // key_exchange.proposals[0]
  json esp;           // filter_actions[0].security_methods[0]
  std::string ike_algorithms;
  std::string child_algorithms;
};

Suite DefaultSuite() {
  return {"aes-gcm, curve25519",
          {{"encryption", "aes128gcm16"},
           {"integrity", "none"},
           {"prf", "prfsha256"},
           {"dh_group", "curve25519"}},
          {{"protocol", "esp"}, {"esp_encryption", "aes128gcm16"}, {"esp_integrity", "none"}},
          "aes128gcm16-prfsha256-curve25519",
          "esp:aes128gcm16"};
}

// A tunnel between the two pods' own addresses: everything between them is secured.
json PairPolicy(const std::string& me, const std::string& peer, const std::string& psk,
                const Suite& suite) {
  return {{"name", "pair"},
          {"key_exchange", {{"proposals", json::array({suite.ike_proposal})}}},
          {"filter_lists",
           json::array({{{"name", "peer"},
                         {"filters", json::array({{{"source", me}, {"destination", peer}}})}}})},
          {"filter_actions", json::array({{{"name", "secure"},
                                           {"type", "negotiate"},
                                           {"security_methods", json::array({suite.esp})}}})},
          {"rules", json::array({{{"name", "tunnel"},
                                  {"filter_list", "peer"},
                                  {"filter_action", "secure"},
                                  {"tunnel_endpoint", peer},
                                  {"auth_methods",
                                   json::array({{{"type", "psk"}, {"preshared_key", psk}}})}}})}};
}


class SidecarPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    lab_ = Lab::Create(2, &error);
    ASSERT_NE(lab_, nullptr) << error;
    for (int i = 0; i < 2; ++i) {
      d_[i] = std::make_unique<Daemon>(*lab_, i, Daemon::Options{});
      ASSERT_TRUE(d_[i]->Start()) << "daemon " << i << " did not turn ready:\n" << d_[i]->Log();
      // The IKE log (FAQ 39) on both sides, switched on through the API.
      CommandResult on = d_[i]->Http("PUT", "/v1/config/ike-logging", R"({"enabled": true})");
      ASSERT_EQ(Status(on), 200) << on.out << on.err;
    }
  }

  void Apply(int i, const std::string& psk, const Suite& suite) {
    const json policy = PairPolicy(lab_->PodV4(i), lab_->PodV4(1 - i), psk, suite);
    CommandResult put = d_[i]->Http("PUT", "/v1/policies/pair", policy.dump());
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

  bool Established(int i) {
    json sas = Sas(i);
    return sas.size() == 1 && sas[0]["state"] == "established" && sas[0]["child_sas"].size() == 1;
  }

  std::string Metrics(int i) {
    CommandResult scrape = lab_->Exec(lab_->node(), {"curl", "-sS", "--max-time", "10",
                                                     "http://" + lab_->PodV4(i) + ":9090/metrics"});
    EXPECT_EQ(scrape.exit_code, 0) << scrape.err;
    return scrape.out;
  }

  // The value of one sample line of the exposition; -1 when absent.
  double Sample(const std::string& text, const std::string& series) {
    size_t pos = 0;
    while ((pos = text.find(series + " ", pos)) != std::string::npos) {
      if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
      pos += series.size();
    }
    return -1;
  }

  std::string IkeLog(int i) { return ReadFile(d_[i]->dir() + "/log/ike.log"); }

  std::string Initiate(int i, const std::string& body = R"({"rule": "tunnel"})") {
    CommandResult r = d_[i]->Http("POST", "/v1/sas", body);
    EXPECT_EQ(Status(r), 201) << r.out << r.err;
    json j = Body(r);
    return j.is_object() && j["id"].is_string() ? j["id"].get<std::string>() : "";
  }

  // Initiates from pod 0, waits for both sides, and checks that they agree.
  void NegotiateAndCompare(const Suite& suite) {
    const std::string id = Initiate(0);
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(WaitFor([&] { return Established(0); }))
        << suite.name << ": initiator " << Sas(0).dump() << "\n"
        << IkeLog(0) << IkeLog(1);
    ASSERT_TRUE(WaitFor([&] { return Established(1); }))
        << suite.name << ": responder " << Sas(1).dump() << "\n"
        << IkeLog(1);
    const json i = Sas(0)[0];
    const json r = Sas(1)[0];
    EXPECT_EQ(i["id"], id);
    EXPECT_EQ(i["role"], "initiator");
    EXPECT_EQ(r["role"], "responder");
    EXPECT_EQ(i["spi_i"], r["spi_i"]);
    EXPECT_EQ(i["spi_r"], r["spi_r"]);
    EXPECT_EQ(i["rule"], "tunnel");
    EXPECT_EQ(r["rule"], "tunnel");
    EXPECT_EQ(i["remote"].get<std::string>().rfind(lab_->PodV4(1), 0), 0u) << i.dump();
    EXPECT_EQ(r["remote"].get<std::string>().rfind(lab_->PodV4(0), 0), 0u) << r.dump();
    EXPECT_EQ(i["remote_id"], lab_->PodV4(1));
    EXPECT_EQ(r["remote_id"], lab_->PodV4(0));
    EXPECT_EQ(i["algorithms"], suite.ike_algorithms) << suite.name;
    EXPECT_EQ(r["algorithms"], suite.ike_algorithms) << suite.name;
    EXPECT_FALSE(i["nat_local"].get<bool>() || i["nat_remote"].get<bool>());
    const json& ic = i["child_sas"][0];
    const json& rc = r["child_sas"][0];
    // One side's inbound SPI is the other's outbound.
    EXPECT_EQ(ic["spi_in"], rc["spi_out"]);
    EXPECT_EQ(ic["spi_out"], rc["spi_in"]);
    EXPECT_NE(ic["spi_in"], ic["spi_out"]);
    EXPECT_EQ(ic["mode"], "tunnel");
    EXPECT_EQ(ic["algorithms"], rc["algorithms"]);
    EXPECT_EQ(ic["algorithms"].get<std::string>().rfind(suite.child_algorithms, 0), 0u)
        << suite.name << ": " << ic.dump();
    EXPECT_EQ(ic["local_ts"], rc["remote_ts"]);
    EXPECT_EQ(ic["remote_ts"], rc["local_ts"]);
    EXPECT_GT(i["established_unix"].get<int64_t>(), 1.7e9);
    EXPECT_GT(ic["expire_in_seconds"].get<int64_t>(), 0);
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> d_[2];
};

TEST_F(SidecarPairTest, NegotiateShowEverywhereAndDeleteFromTheOtherSide) {
  for (int i = 0; i < 2; ++i) Apply(i, kPsk, DefaultSuite());
  NegotiateAndCompare(DefaultSuite());

  // The metrics of both pods, scraped from the node.
  for (int i = 0; i < 2; ++i) {
    const std::string m = Metrics(i);
    const std::string role = i == 0 ? "initiator" : "responder";
    EXPECT_EQ(Sample(m, "ipsec_ike_sas_active"), 1) << m;
    EXPECT_EQ(Sample(m, "ipsec_child_sas_active"), 1);
    EXPECT_EQ(
        Sample(m, R"(ipsec_ike_negotiations_total{exchange="ike_auth",result="success",role=")" +
                      role + "\"}"),
        1)
        << m;
    EXPECT_EQ(Sample(m, R"(ipsec_rule_sas{kind="configured",rule="tunnel"})"), 1);
    EXPECT_EQ(Sample(m, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 1);
    EXPECT_EQ(m.find(kPsk), std::string::npos) << "the PSK reached the metrics";
    CommandResult lint = ipsec::testing::Run({"promtool", "check", "metrics"}, m);
    ASSERT_NE(lint.exit_code, 127) << "promtool is missing: run scripts/install-deps.sh";
    EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  }
  // ipsecctl in each pod shows the SA pair, and the stats say the tunnel is up.
  const std::string spi = Sas(0)[0]["child_sas"][0]["spi_in"].get<std::string>();
  for (int i = 0; i < 2; ++i) {
    CommandResult show = d_[i]->Ctl({"show", "sa"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    EXPECT_NE(show.out.find("established"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find(spi), std::string::npos) << show.out;
    CommandResult stats = d_[i]->Ctl({"show", "stats"});
    ASSERT_EQ(stats.exit_code, 0) << stats.err;
    EXPECT_NE(stats.out.find("tunnel (always up)  1        1          up"), std::string::npos)
        << stats.out;
  }

  // DELETE on the responder's side clears both (RFC 7296 §1.4.1: Delete, answered).
  const std::string responder_id = Sas(1)[0]["id"].get<std::string>();
  CommandResult del = d_[1]->Ctl({"sa", "delete", responder_id});
  ASSERT_EQ(del.exit_code, 0) << del.out << del.err;
  EXPECT_TRUE(WaitFor([&] { return Sas(1).empty(); })) << Sas(1).dump();
  EXPECT_TRUE(WaitFor([&] { return Sas(0).empty(); })) << Sas(0).dump() << IkeLog(0);
  const std::string m0 = Metrics(0);
  EXPECT_EQ(Sample(m0, "ipsec_ike_sas_active"), 0);
  EXPECT_EQ(Sample(m0, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 0);

  // Both IKE logs tell the story, without the key.
  for (int i = 0; i < 2; ++i) {
    const std::string log = IkeLog(i);
    EXPECT_NE(log.find("IKE SA established"), std::string::npos) << log;
    EXPECT_NE(log.find("child SA installed"), std::string::npos) << log;
    EXPECT_NE(log.find("IKE SA removed"), std::string::npos) << log;
    EXPECT_EQ(log.find(kPsk), std::string::npos) << "the PSK reached the IKE log";
    EXPECT_EQ(d_[i]->Log().find(kPsk), std::string::npos) << "the PSK reached the daemon log";
  }

  // And the CLI initiates too, here from the other side.
  CommandResult again = d_[1]->Ctl({"sa", "initiate", "--rule", "tunnel"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_TRUE(WaitFor([&] { return Established(0) && Established(1); }))
      << Sas(0).dump() << Sas(1).dump();
  EXPECT_EQ(Sas(0)[0]["role"], "responder");
}

TEST_F(SidecarPairTest, WrongPresharedKeyFailsOnBothSidesAndIsCounted) {
  Apply(0, kPsk, DefaultSuite());
  Apply(1, "a-different-psk-0000000000", DefaultSuite());
  ASSERT_FALSE(Initiate(0).empty());
  auto failed = [&](int i, const std::string& role) {
    return Sample(
               Metrics(i),
               R"(ipsec_ike_negotiations_total{exchange="ike_auth",result="authentication_failed",role=")" +
                   role + "\"}") == 1;
  };
  EXPECT_TRUE(WaitFor([&] { return failed(1, "responder"); })) << Metrics(1) << IkeLog(1);
  EXPECT_TRUE(WaitFor([&] { return failed(0, "initiator"); })) << Metrics(0) << IkeLog(0);
  EXPECT_TRUE(WaitFor([&] { return Sas(0).empty() && Sas(1).empty(); }))
      << Sas(0).dump() << Sas(1).dump();
  for (int i = 0; i < 2; ++i) {
    const std::string m = Metrics(i);
    EXPECT_EQ(Sample(m, "ipsec_ike_sas_established_total"), 0) << m;
    EXPECT_EQ(Sample(m, "ipsec_ike_negotiation_failures_total"), 1) << m;
    EXPECT_EQ(Sample(m, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 0);
    EXPECT_NE(IkeLog(i).find("authentication_failed"), std::string::npos) << IkeLog(i);
  }
}

// AES-CBC + HMAC-SHA2 for both SAs, with a MODP and an ECP group (issue 3: AES-CBC+SHA2; groups
// 14 and 19), re-applied on the same pair of daemons.
TEST_F(SidecarPairTest, AesCbcWithModpAndEcpGroups) {
  const Suite suites[] = {
      {"aes-cbc-256 + sha256, modp2048",
       {{"encryption", "aes256"},
        {"integrity", "sha256"},
        {"prf", "prfsha256"},
        {"dh_group", "modp2048"}},
       {{"protocol", "esp"}, {"esp_encryption", "aes256"}, {"esp_integrity", "sha256"}},
       "aes256-sha256-prfsha256-modp2048",
       "esp:aes256-sha256"},
      {"aes-cbc-128 + sha384, ecp256",
       {{"encryption", "aes128"},
        {"integrity", "sha384"},
        {"prf", "prfsha384"},
        {"dh_group", "ecp256"}},
       {{"protocol", "esp"}, {"esp_encryption", "aes128"}, {"esp_integrity", "sha384"}},
       "aes128-sha384-prfsha384-ecp256",
       "esp:aes128-sha384"},
  };
  for (const Suite& suite : suites) {
    SCOPED_TRACE(suite.name);
    for (int i = 0; i < 2; ++i) Apply(i, kPsk, suite);
    NegotiateAndCompare(suite);
    const std::string id = Sas(0)[0]["id"].get<std::string>();
    ASSERT_EQ(Status(d_[0]->Http("DELETE", "/v1/sas/" + id)), 204);
    ASSERT_TRUE(WaitFor([&] { return Sas(0).empty() && Sas(1).empty(); }))
        << Sas(0).dump() << Sas(1).dump();
  }
}

}  // namespace
}  // namespace ipsec::testing
