// Integration tests of issue 2: the daemon in a pod (a network namespace of the lab), driven by
// REST and ipsecctl from inside that namespace; the filter table and match decisions against
// the FAQ's rules; closest-scope assignment; durability across SIGKILL; metrics from the node.
// They need root and iproute2; without them they fail with the reason (never skip).

#include <gtest/gtest.h>
#include <signal.h>

#include <sys/wait.h>

#include <atomic>
#include <set>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/integration_util.h"
#include "tests/support/lab.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;

std::string PolicyPath(const std::string& name) {
  return std::string(IPSEC_TEST_POLICIES) + "/" + name;
}


class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    lab_ = Lab::Create(2, &error);
    ASSERT_NE(lab_, nullptr) << error;
  }
  std::unique_ptr<Daemon> StartDaemon(int pod, Daemon::Options options = {}) {
    auto d = std::make_unique<Daemon>(*lab_, pod, std::move(options));
    EXPECT_TRUE(d->Start()) << "daemon did not turn ready; its log:\n" << d->Log();
    return d;
  }
  json Match(const Daemon& d, const json& packet) {
    CommandResult r = d.Http("POST", "/v1/match", packet.dump());
    EXPECT_EQ(Status(r), 200) << r.out << r.err;
    return Body(r);
  }
  std::unique_ptr<Lab> lab_;
};

TEST_F(DaemonTest, PolicyAppliedThroughCliGivesFaqTableAndDecisions) {
  auto d = StartDaemon(0, {.node_address = lab_->NodeV4(0)});
  CommandResult apply = d->Ctl({"policy", "apply", "-f", PolicyPath("tiers.yaml"), "--assign"});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;

  CommandResult table = d->Ctl({"-o", "json", "show", "filters", "--specific"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  json t = json::parse(table.out);
  EXPECT_EQ(t["policy"], "tiers");
  EXPECT_EQ(t["default_action"], "permit");
  ASSERT_FALSE(t["entries"].empty());
  // Ordered by weight, highest first (FAQ 22).
  for (size_t i = 1; i < t["entries"].size(); ++i) {
    EXPECT_GE(t["entries"][i - 1]["weight"].get<uint64_t>(),
              t["entries"][i]["weight"].get<uint64_t>());
  }
  // The db rule and db-permit rule conflict (same filter); the more restrictive action wins and
  // the loser is recorded (FAQ 23).
  EXPECT_GE(t["conflicts_resolved"].get<int>(), 1);

  std::string me = lab_->PodV4(0);
  json db = Match(*d, {{"direction", "outbound"}, {"source", me}, {"destination", "10.99.2.2"},
                       {"protocol", "tcp"}, {"source_port", 40000}, {"destination_port", 5432}});
  EXPECT_EQ(db["action"], "negotiate") << db.dump();
  EXPECT_EQ(db["rule"], "db");
  ASSERT_TRUE(db["entry"].is_object());
  EXPECT_FALSE(db["entry"]["overridden"].empty()) << "db-permit lost the conflict";

  // More specific wins: a single address beats the /16 (FAQ 11, 22).
  json bad = Match(*d, {{"direction", "outbound"}, {"source", me}, {"destination", "10.99.2.66"},
                        {"protocol", "tcp"}, {"destination_port", 80}});
  EXPECT_EQ(bad["action"], "block") << bad.dump();
  json lab = Match(*d, {{"direction", "outbound"}, {"source", me}, {"destination", "10.99.2.7"},
                        {"protocol", "tcp"}, {"destination_port", 80}});
  EXPECT_EQ(lab["action"], "permit");
  EXPECT_EQ(lab["rule"], "lab");
  // Mirrored: the reply direction of the db filter also negotiates.
  json back = Match(*d, {{"direction", "inbound"}, {"source", "10.99.2.2"}, {"destination", me},
                         {"protocol", "tcp"}, {"source_port", 5432}, {"destination_port", 40000}});
  EXPECT_EQ(back["action"], "negotiate") << back.dump();
  // Unmatched traffic is permitted (FAQ 6).
  json other = Match(*d, {{"direction", "outbound"}, {"source", me}, {"destination", "192.0.2.1"},
                          {"protocol", "udp"}, {"destination_port", 9}});
  EXPECT_EQ(other["action"], "permit");
  EXPECT_TRUE(other["rule"].is_null());
  // DNS is exempt even towards the secured db subnet (FAQ 24).
  json dns = Match(*d, {{"direction", "outbound"}, {"source", me}, {"destination", "10.99.2.2"},
                        {"protocol", "udp"}, {"destination_port", 53}});
  EXPECT_EQ(dns["action"], "permit");
  EXPECT_EQ(dns["entry"]["origin"]["exemption"], "dns") << dns.dump();
  // The kubelet's probe from the node address is exempt.
  json probe = Match(*d, {{"direction", "inbound"}, {"source", lab_->NodeV4(0)},
                          {"destination", me}, {"protocol", "tcp"}, {"source_port", 51000},
                          {"destination_port", 8080}});
  EXPECT_EQ(probe["action"], "permit");
  EXPECT_EQ(probe["entry"]["origin"]["kind"], "exemption") << probe.dump();
  // Blocking multicast works (FAQ 21).
  json mcast = Match(*d, {{"direction", "outbound"}, {"source", me},
                          {"destination", "239.1.2.3"}, {"protocol", "udp"}});
  EXPECT_EQ(mcast["action"], "block");

  // Securing multicast is rejected with a clear error, and nothing changes (FAQ 21).
  CommandResult refused = d->Ctl({"policy", "apply", "-f", PolicyPath("secure-multicast.json")});
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("multicast"), std::string::npos) << refused.err;
  EXPECT_EQ(Status(d->Http("GET", "/v1/policies/bad-mcast")), 404);

  // The preshared key never comes back, and never reaches the log.
  CommandResult got = d->Http("GET", "/v1/policies/tiers");
  EXPECT_EQ(got.out.find("not-a-real-key-but-secret"), std::string::npos);
  EXPECT_NE(got.out.find("<redacted>"), std::string::npos);
  EXPECT_EQ(d->Log().find("not-a-real-key-but-secret"), std::string::npos);
}

TEST_F(DaemonTest, ClosestAssignedScopeIsInForceAndNeverMerged) {
  auto d = StartDaemon(0);
  auto write_scope = [&](const std::string& dir, const std::string& name) {
    WriteFile(dir + "/policy.json",
              json{{"name", name},
                   {"filter_lists", {{{"name", "all"}, {"filters", {{{"source", "me"},
                                                                     {"destination", "any"}}}}}}},
                   {"filter_actions", {{{"name", "b"}, {"type", "block"}}}},
                   {"rules", {{{"name", "r"}, {"filter_list", "all"}, {"filter_action", "b"}}}}}
                  .dump());
  };
  auto in_force = [&]() {
    json a = Body(d->Http("GET", "/v1/assignment"));
    return a["in_force"].is_null() ? std::string("none")
                                   : a["in_force"]["scope"].get<std::string>() + ":" +
                                         a["in_force"]["policy"].get<std::string>();
  };
  EXPECT_EQ(in_force(), "none");
  write_scope(d->cluster_dir(), "cluster-default");
  kill(d->pid(), SIGHUP);
  WaitFor([&] { return in_force() != "none"; }, std::chrono::seconds(5));
  EXPECT_EQ(in_force(), "cluster:cluster-default");

  write_scope(d->namespace_dir(), "ns-default");  // picked up by polling (1 s here)
  WaitFor([&] { return in_force() == "namespace:ns-default"; }, std::chrono::seconds(5));
  EXPECT_EQ(in_force(), "namespace:ns-default");
  json a = Body(d->Http("GET", "/v1/assignment"));
  EXPECT_NE(a["reason"].get<std::string>().find("never merged"), std::string::npos) << a.dump();

  CommandResult apply = d->Ctl({"policy", "apply", "-f", PolicyPath("tiers.yaml"), "--assign"});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_EQ(in_force(), "pod:tiers");
  // Not merged: the namespace policy's block-all does not leak into the pod policy's table.
  json m = Match(*d, {{"direction", "outbound"}, {"source", lab_->PodV4(0)},
                      {"destination", "192.0.2.1"}, {"protocol", "udp"}});
  EXPECT_EQ(m["action"], "permit");

  ASSERT_EQ(d->Ctl({"policy", "unassign"}).exit_code, 0);
  EXPECT_EQ(in_force(), "namespace:ns-default");
  std::filesystem::remove(d->namespace_dir() + "/policy.json");
  kill(d->pid(), SIGHUP);
  WaitFor([&] { return in_force() == "cluster:cluster-default"; }, std::chrono::seconds(5));
  EXPECT_EQ(in_force(), "cluster:cluster-default");
  // A broken file keeps the previous policy and reports the error.
  WriteFile(d->cluster_dir() + "/policy.json", "{not json");
  kill(d->pid(), SIGHUP);
  json st;
  EXPECT_TRUE(WaitFor([&] {  // the reload is asynchronous: wait until it reports the error
    st = Body(d->Http("GET", "/v1/assignment"));
    return st.is_object() && st["scopes"].is_array() && !st["scopes"].empty() &&
           st["scopes"][0]["error"].is_string() &&
           !st["scopes"][0]["error"].get<std::string>().empty();
  })) << st.dump();
  EXPECT_EQ(in_force(), "cluster:cluster-default");
}

TEST_F(DaemonTest, EveryAcknowledgedWriteSurvivesSigkill) {
  auto d = StartDaemon(0);
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::string name = "p";
      name += std::to_string(i);
      json p = {{"name", name}, {"description", "write"}};
      CommandResult r = d->Http("PUT", "/v1/policies/" + name, p.dump());
      if (Status(r) != 201) break;  // the daemon died mid-request: not acknowledged
      acknowledged = i + 1;
    }
  });
  while (acknowledged < 20) usleep(10000);
  d->Kill();
  stop = true;
  writer.join();
  int acked = acknowledged;
  ASSERT_GE(acked, 20);
  ASSERT_TRUE(d->Start()) << d->Log();
  json list = Body(d->Http("GET", "/v1/policies"));
  std::set<std::string> names;
  for (const auto& item : list["policies"]) names.insert(item["policy"]["name"]);
  for (int i = 0; i < acked; ++i) {
    std::string name = "p";
    name += std::to_string(i);
    EXPECT_TRUE(names.count(name)) << "acknowledged write " << name << " lost";
  }
}

TEST_F(DaemonTest, CorruptStateFileStopsStartupNamingTheFile) {
  Daemon d(*lab_, 0, {});
  std::filesystem::create_directories(d.state_dir());
  WriteFile(d.state_dir() + "/state.json", "{\"format\": \"ipsec-sidecar-state\", \"vers");
  int code = d.StartExpectingExit();
  EXPECT_NE(code, 0);
  EXPECT_NE(d.Log().find(d.state_dir() + "/state.json"), std::string::npos) << d.Log();

  Daemon empty(*lab_, 0, {.extra_args = {"--start-empty"}});
  std::filesystem::create_directories(empty.state_dir());
  WriteFile(empty.state_dir() + "/state.json", "garbage");
  EXPECT_TRUE(empty.Start()) << empty.Log();
}

TEST_F(DaemonTest, MetricsScrapedFromTheNodePassPromtool) {
  auto d = StartDaemon(0);
  ASSERT_EQ(d->Ctl({"policy", "apply", "-f", PolicyPath("tiers.yaml"), "--assign"}).exit_code, 0);
  d->Http("GET", "/v1/filters");
  CommandResult scrape = lab_->Exec(lab_->node(), {"curl", "-sS", "--max-time", "10",
                                                   "http://" + lab_->PodV4(0) + ":9090/metrics"});
  ASSERT_EQ(scrape.exit_code, 0) << scrape.err;
  for (const char* name :
       {"ipsec_build_info", "ipsec_policy_rules_in_force", "ipsec_policy_filters",
        "ipsec_policy_applies_total", "ipsec_policy_conflicts_resolved",
        "ipsec_api_requests_total", "ipsec_api_request_duration_seconds_bucket"}) {
    EXPECT_NE(scrape.out.find(name), std::string::npos) << name << " missing";
  }
  EXPECT_NE(scrape.out.find("ipsec_policy_rules_in_force 5"), std::string::npos) << scrape.out;
  CommandResult lint = ipsec::testing::Run({"promtool", "check", "metrics"}, scrape.out);
  ASSERT_NE(lint.exit_code, 127) << "promtool is missing: run scripts/install-deps.sh";
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
}

TEST_F(DaemonTest, CliExitCodesScriptsCanTrust) {
  auto d = StartDaemon(0);
  EXPECT_EQ(d->Ctl({"show", "policy"}).exit_code, 0);
  // Wrong token: 4.
  CommandResult wrong = lab_->Exec(lab_->pod(0), {IpsecctlBinary(), "--api=127.0.0.1:9443",
                                                  "--token=wrong", "show", "filters"});
  EXPECT_EQ(wrong.exit_code, 4) << wrong.out << wrong.err;
  // No daemon in pod 1: 3, with a message saying so.
  CommandResult down = lab_->Exec(lab_->pod(1), {IpsecctlBinary(), "--api=127.0.0.1:9443",
                                                 "--token=x", "show", "filters"});
  EXPECT_EQ(down.exit_code, 3) << down.out << down.err;
  // Invalid body: 400 with the JSON path of the fault.
  CommandResult bad = d->Http("POST", "/v1/policies", R"({"name":"x","rules":[{"name":"r"}]})");
  EXPECT_EQ(Status(bad), 400);
  EXPECT_NE(Body(bad)["error"]["path"].get<std::string>().find("/rules/0"), std::string::npos)
      << bad.out;
  // Unauthenticated API call: 401; probes need no token.
  EXPECT_EQ(Status(d->Http("GET", "/v1/filters", "", false)), 401);
  EXPECT_EQ(Status(d->Http("GET", "/healthz", "", false)), 200);
  // Remove all local policy (FAQ 44).
  ASSERT_EQ(d->Ctl({"policy", "apply", "-f", PolicyPath("tiers.yaml"), "--assign"}).exit_code, 0);
  EXPECT_EQ(d->Ctl({"delete", "all", "--yes"}).exit_code, 0);
  json list = Body(d->Http("GET", "/v1/policies"));
  EXPECT_TRUE(list["policies"].empty()) << list.dump();
}

TEST_F(DaemonTest, SigtermStopsCleanly) {
  auto d = StartDaemon(0);
  int status = d->Terminate();
  ASSERT_NE(status, -1) << "daemon did not stop within the grace period";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << d->Log();
}

}  // namespace
}  // namespace ipsec::testing
