// The FAQ's negotiation behaviours with real traffic through the userspace data path (issue 4):
//
//   FAQ 16  "Allow unsecured communication with non IPsec-aware computers": pod B runs no
//           IPsec at all. Pod A's ping waits in the acquire queue while IKE tries, then — no
//           answer within the fallback wait — the waiting packets and the rest go in clear, and
//           B's plaintext replies are let in (A's policy otherwise drops plaintext from B).
//   FAQ 17  "Accept unsecured communication, but always respond using IPsec" (server, pod B)
//   + 19    with the default response rule (client, pod A, no rule of its own for B): A's
//           first request reaches B in clear; B's reply waits while B negotiates with A; A
//           answers through its default response rule; from then on both directions are ESP —
//           A's traffic too, although no filter of A's names B (the rule's "dynamic" filters).
//           B never replies in clear.
//   FAQ 19  A requires security with B; B has only its default response rule: B's replies go
//           through ESP, nothing in clear.
//
// Needs root, iproute2, nftables, curl, tcpdump, tshark, ping; fails naming what is missing.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "api/dto/text.h"
#include "tests/integration/integration_util.h"
#include "tests/support/lab.h"
#include "tests/support/tshark.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "example-only-preshared-key";  // docs/examples' PSK

json Psk() { return json::array({{{"type", "psk"}, {"preshared_key", kPsk}}}); }

// A rule requiring security between `me` and `peer` (transport mode), no default response.
json RequirePolicy(const std::string& me, const std::string& peer) {
  return {{"name", "faq"},
          {"filter_lists",
           json::array({{{"name", "peer"},
                         {"filters", json::array({{{"source", me}, {"destination", peer}}})}}})},
          {"filter_actions",
           json::array({{{"name", "secure"},
                         {"type", "negotiate"},
                         {"security_methods", json::array({{{"protocol", "esp"},
                                                            {"esp_encryption", "aes128gcm16"},
                                                            {"esp_integrity", "none"}}})}}})},
          {"rules", json::array({{{"name", "peer"},
                                  {"filter_list", "peer"},
                                  {"filter_action", "secure"},
                                  {"auth_methods", Psk()}}})},
          {"default_response_rule", {{"active", false}}}};
}

// One of docs/examples (the documented FAQ policies, with the lab's 10.99.1.0/24 and
// 10.99.2.0/24 pods and their example PSK), renamed "faq".
json Example(const std::string& file) {
  std::ifstream in(std::string(IPSEC_SOURCE_DIR) + "/docs/examples/" + file);
  std::stringstream text;
  text << in.rdbuf();
  auto j = api::dto::ParseYaml(text.str());
  if (!j.ok() || !j->is_object()) {
    ADD_FAILURE() << "docs/examples/" << file << " does not parse";
    return json::object();
  }
  json policy = *j;
  policy["name"] = "faq";
  return policy;
}

class FaqTrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = MissingTool({"tcpdump", "tshark", "nft", "ping", "curl"});
    ASSERT_TRUE(missing.empty()) << missing;
    std::string error;
    lab_ = Lab::Create(2, &error);
    ASSERT_NE(lab_, nullptr) << error;
  }

  void StartDaemon(int i) {
    d_[i] = std::make_unique<Daemon>(*lab_, i,
                                     Daemon::Options{.extra_args = {"--dataplane=userspace"}});
    ASSERT_TRUE(d_[i]->Start()) << "daemon " << i << " did not turn ready:\n" << d_[i]->Log();
  }

  void Apply(int i, const json& policy) {
    CommandResult put = d_[i]->Http("PUT", "/v1/policies/faq", policy.dump());
    ASSERT_TRUE(Status(put) == 200 || Status(put) == 201) << put.out << put.err;
    CommandResult assign = d_[i]->Http("PUT", "/v1/assignment", R"({"policy": "faq"})");
    ASSERT_EQ(Status(assign), 200) << assign.out << assign.err;
  }

  json Children(int i) {
    json j = Body(d_[i]->Http("GET", "/v1/sas"));
    json out = json::array();
    if (!j.is_object() || !j.contains("ike_sas")) return out;
    for (const auto& ike : j["ike_sas"]) {
      for (const auto& c : ike["child_sas"]) out.push_back(c);
    }
    return out;
  }

  json Stats(int i) { return Body(d_[i]->Http("GET", "/v1/stats")); }

  std::string Diagnostics() {
    std::string out;
    for (int i = 0; i < 2; ++i) {
      if (d_[i]) {
        out += "--- pod " + std::to_string(i) + " daemon log\n" + d_[i]->Log();
        out += "--- sas\n" + Body(d_[i]->Http("GET", "/v1/sas")).dump() + "\n";
      }
      out += "--- routes table 9700\n" +
             lab_->Exec(lab_->pod(i), {"ip", "route", "show", "table", "9700"}).out;
      out += "--- nft\n" + lab_->Exec(lab_->pod(i), {"nft", "list", "ruleset"}).out;
    }
    return out;
  }

  // ICMP echo requests (8) and replies (0) in clear in the capture, and ESP packets.
  struct Wire {
    size_t requests = 0, replies = 0, esp = 0;
  };
  Wire Count(const std::string& pcap) {
    Tshark tshark;
    std::string error;
    std::vector<DissectedPacket> icmp, esp;
    Wire w;
    EXPECT_TRUE(tshark.Dissect(pcap, "icmp && !esp", {"icmp.type"}, &icmp, &error)) << error;
    EXPECT_TRUE(tshark.Dissect(pcap, "esp", {"esp.spi"}, &esp, &error)) << error;
    for (const auto& p : icmp) {
      if (p.Get("icmp.type") == "8") ++w.requests;
      if (p.Get("icmp.type") == "0") ++w.replies;
    }
    w.esp = esp.size();
    return w;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> d_[2];
  TempDir dir_;
};

TEST_F(FaqTrafficTest, Faq16FallsBackToClearWithAPeerWithoutIpsec) {
  StartDaemon(0);  // pod B runs no IPsec
  ASSERT_EQ(lab_->PodV4(1).rfind("10.99.2.", 0), 0u) << "docs/examples' subnets";
  Apply(0, Example("fallback-to-clear.yaml"));
  std::string error;
  auto capture = Capture::Start(lab_->pod(0), "eth0", dir_.path() + "/fallback.pcap", &error,
                                "host " + lab_->PodV4(1));
  ASSERT_NE(capture, nullptr) << error;
  // 5 requests over 2 s: all wait for IKE (3 s fallback wait), then go in clear together.
  const auto start = std::chrono::steady_clock::now();
  CommandResult first =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "5", "-i", "0.5", "-W", "8", lab_->PodV4(1)}, "",
                 std::chrono::seconds(30));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err << Diagnostics();
  EXPECT_NE(first.out.find(" 0% packet loss"), std::string::npos) << first.out << Diagnostics();
  EXPECT_GE(took, 2900ms) << "the first packets did not wait for IKE's fallback wait";
  // During the fallback: at once, in clear.
  CommandResult then =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "3", "-i", "0.2", "-W", "1", lab_->PodV4(1)});
  EXPECT_EQ(then.exit_code, 0) << then.out << Diagnostics();
  ASSERT_TRUE(capture->Stop(&error)) << error;
  Wire w = Count(capture->path());
  EXPECT_EQ(w.requests, 8u);
  EXPECT_EQ(w.replies, 8u);
  EXPECT_EQ(w.esp, 0u);
  json stats = Stats(0);
  EXPECT_EQ(stats["ike"].value("fallbacks_to_clear_total", 0), 1) << stats.dump();
  EXPECT_TRUE(Children(0).empty());
  // B's plaintext is let in by the fallback's set only: the policy still drops plaintext from B.
  CommandResult set =
      lab_->Exec(lab_->pod(0), {"nft", "list", "set", "inet", "ipsec_ipsec0", "clear4"});
  EXPECT_NE(set.out.find(lab_->PodV4(1) + " timeout"), std::string::npos) << set.out;
  CommandResult chain =
      lab_->Exec(lab_->pod(0), {"nft", "list", "chain", "inet", "ipsec_ipsec0", "input"});
  // (Its counter may show B's ICMP "port unreachable" answers to our IKE_SA_INITs: B runs no
  // IKE. Those are not let in: only what the fallback's set names.)
  const size_t drop = chain.out.find("ip saddr 10.99.2.0/24");
  ASSERT_NE(drop, std::string::npos) << chain.out;
  EXPECT_NE(chain.out.find("drop comment \"plaintext entry", drop), std::string::npos) << chain.out;
  EXPECT_LT(chain.out.find("ip saddr @clear4 accept"), drop) << chain.out;
}

TEST_F(FaqTrafficTest, Faq17And19ServerRespondsOnlyWithIpsecToAClientsDefaultResponse) {
  StartDaemon(0);
  StartDaemon(1);
  ASSERT_EQ(lab_->PodV4(0).rfind("10.99.1.", 0), 0u) << "docs/examples' subnets";
  Apply(0, Example("default-response-client.yaml"));  // the client: no rule for B
  Apply(1, Example("respond-only-server.yaml"));
  std::string error;
  auto capture = Capture::Start(lab_->pod(0), "eth0", dir_.path() + "/respond.pcap", &error,
                                "host " + lab_->PodV4(1));
  ASSERT_NE(capture, nullptr) << error;
  CommandResult first = lab_->Exec(lab_->pod(0), {"ping", "-c", "1", "-W", "8", lab_->PodV4(1)}, "",
                                   std::chrono::seconds(30));
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return !Children(0).empty() && !Children(1).empty(); }))
      << Diagnostics();
  CommandResult more =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "10", "-i", "0.2", "-W", "2", lab_->PodV4(1)});
  EXPECT_EQ(more.exit_code, 0) << more.out << Diagnostics();
  EXPECT_NE(more.out.find(" 0% packet loss"), std::string::npos) << more.out;
  ASSERT_TRUE(capture->Stop(&error)) << error;
  Wire w = Count(capture->path());
  EXPECT_EQ(w.requests, 1u) << "only the first request may go in clear (FAQ 17)";
  EXPECT_EQ(w.replies, 0u) << "the server must always respond using IPsec (FAQ 17)";
  EXPECT_GE(w.esp, 21u);  // 1 reply + 10 requests + 10 replies
  // The client's child SA came from its default response rule, B's from its rule; traffic
  // counted both ways on A.
  json a = Children(0);
  ASSERT_EQ(a.size(), 1u) << a.dump();
  EXPECT_NE(a[0].value("rule", ""), "clients") << a.dump();
  EXPECT_GE(a[0].value("packets_out", 0), 10) << a.dump();
  EXPECT_GE(a[0].value("packets_in", 0), 11) << a.dump();
  json b = Children(1);
  ASSERT_EQ(b.size(), 1u) << b.dump();
  EXPECT_EQ(b[0].value("rule", ""), "clients") << b.dump();
  // The dynamic route for B on the client, since its filter table routes nothing.
  CommandResult routes = lab_->Exec(lab_->pod(0), {"ip", "route", "show", "table", "9700"});
  EXPECT_NE(routes.out.find(lab_->PodV4(1) + " dev ipsec0"), std::string::npos) << routes.out;
}

TEST_F(FaqTrafficTest, Faq19DefaultResponseAnswersAndRepliesThroughEsp) {
  StartDaemon(0);
  StartDaemon(1);
  Apply(0, RequirePolicy(lab_->PodV4(0), lab_->PodV4(1)));
  Apply(1, Example("default-response-client.yaml"));
  std::string error;
  auto capture = Capture::Start(lab_->pod(0), "eth0", dir_.path() + "/dr.pcap", &error,
                                "host " + lab_->PodV4(1));
  ASSERT_NE(capture, nullptr) << error;
  CommandResult ping =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "8", "-i", "0.25", "-W", "5", lab_->PodV4(1)}, "",
                 std::chrono::seconds(30));
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err << Diagnostics();
  EXPECT_NE(ping.out.find(" 0% packet loss"), std::string::npos) << ping.out << Diagnostics();
  ASSERT_TRUE(capture->Stop(&error)) << error;
  Wire w = Count(capture->path());
  EXPECT_EQ(w.requests, 0u);
  EXPECT_EQ(w.replies, 0u);
  EXPECT_GE(w.esp, 16u);
  // After the SA goes, the dynamic route goes with it.
  json b = Children(1);
  ASSERT_EQ(b.size(), 1u) << b.dump();
  CommandResult del = d_[0]->Http(
      "DELETE", "/v1/sas/" + Body(d_[0]->Http("GET", "/v1/sas"))["ike_sas"][0].value("id", ""));
  EXPECT_TRUE(Status(del) == 200 || Status(del) == 204) << del.out;
  ASSERT_TRUE(WaitFor([&] { return Children(1).empty(); })) << Diagnostics();
  EXPECT_TRUE(WaitFor([&] {
    return lab_->Exec(lab_->pod(1), {"ip", "route", "show", "table", "9700"})
               .out.find(lab_->PodV4(0)) == std::string::npos;
  })) << Diagnostics();
}

}  // namespace
}  // namespace ipsec::testing
