// The ipsecctl binary against a fake API (our own Server with canned answers): output, the
// requests it sends, and its exit codes.

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/http/server.h"
#include "tests/api/http/test_http.h"

#ifndef IPSECCTL_PATH
#error "IPSECCTL_PATH must name the ipsecctl binary"
#endif

namespace ipsec::api::http {
namespace {

using Json = nlohmann::json;
using testing::ProcessResult;
using testing::TempDir;

constexpr char kToken[] = "cli-token";

const char kAssignment[] = R"({"in_force": {"scope": "pod", "policy": "web-tier"},
 "reason": "pod scope assigns 'web-tier'; the closest assigned policy is in force",
 "scopes": [
   {"scope": "cluster", "policy": null, "source": "/etc/ipsec/cluster", "error": "", "updated": "2026-11-27T10:00:00Z"},
   {"scope": "namespace", "policy": "ns-default", "source": "/etc/ipsec/namespace/policy.yaml", "error": "", "updated": "2026-11-27T10:00:00Z"},
   {"scope": "pod", "policy": "web-tier", "source": "api", "error": "", "updated": "2026-11-27T10:01:00Z"}]})";

const char kSpecific[] = R"({"policy": "web-tier", "scope": "pod", "generation": 7,
 "default_action": "permit", "conflicts_resolved": 1,
 "entries": [{"id": 3, "direction": "outbound", "source": "10.99.1.2",
   "destination": "10.99.2.0/24", "protocol": "tcp", "source_ports": "any",
   "destination_ports": "5432", "interfaces": "all", "action": "negotiate", "weight": 123,
   "origin": {"kind": "rule", "rule": "db", "filter_list": "to-db", "filter_index": 0,
              "mirror": false},
   "filter_action": "require", "tunnel_endpoint": null,
   "overridden": [{"origin": {"kind": "rule", "rule": "allow-all"}, "action": "permit"}]},
  {"id": 4, "direction": "inbound", "source": "any", "destination": "any", "protocol": "udp",
   "source_ports": "any", "destination_ports": "53", "interfaces": "all", "action": "permit",
   "weight": 9, "origin": {"kind": "exemption", "exemption": "dns"}, "overridden": []}]})";

const char kStats[] = R"({"ike": {"ike_sas_active": 0, "child_sas_active": 0},
 "policy": {"generation": 7, "rules_in_force": 2}})";

struct Canned {
  int status = 200;
  std::string body;
};

class IpsecctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.Write("token", std::string(kToken) + "\n");
    Server::Options options;
    options.token_file = token_file_;
    server_ =
        testing::StartServer(options, [this](const Request& request) { return Serve(request); });
    Answer("GET /v1/assignment", 200, kAssignment);
    Answer("GET /v1/filters?specific=true", 200, kSpecific);
    Answer("GET /v1/stats", 200, kStats);
  }

  void Answer(const std::string& key, int status, const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    canned_[key] = {status, body};
  }

  std::pair<Response, std::string> Serve(const Request& request) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string key = std::string(request.method_string()) + " " + std::string(request.target());
    requests_.push_back(key + " " + request.body());
    auto it = canned_.find(key);
    Canned canned = it == canned_.end()
                        ? Canned{404, R"({"error":{"code":"not_found","message":"no route )" + key +
                                          R"(","path":""}})"}
                        : it->second;
    Response response(static_cast<beast_http::status>(canned.status), request.version());
    response.set(beast_http::field::content_type, "application/json");
    if (canned.status == 200 || canned.status == 201) response.set("ETag", "\"4\"");
    response.body() = canned.body;
    return {std::move(response), "/fake"};
  }

  // Runs ipsecctl against the fake server with the token file.
  ProcessResult Ctl(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {IPSECCTL_PATH, "--api",
                                     "127.0.0.1:" + std::to_string(server_->port()), "--token-file",
                                     token_file_};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProcess(argv, {}, input);
  }

  std::vector<std::string> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  TempDir dir_;
  std::string token_file_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::map<std::string, Canned> canned_;  // guarded by mu_
  std::vector<std::string> requests_;     // guarded by mu_
};

TEST_F(IpsecctlTest, ShowPolicyPrintsWhatIsInForceAndWhy) {
  ProcessResult r = Ctl({"show", "policy"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("In force:  web-tier (pod scope)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Reason:    pod scope assigns 'web-tier'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SCOPE      POLICY      SOURCE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cluster    -           /etc/ipsec/cluster"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(IpsecctlTest, ShowFiltersSpecificIsAnAlignedTable) {
  ProcessResult r = Ctl({"show", "filters", "--specific"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Policy web-tier (pod scope), generation 7; unmatched traffic: permit; "
                       "conflicts resolved: 1"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ID  DIRECTION  SOURCE     DESTINATION   PROTOCOL"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("3   outbound   10.99.1.2  10.99.2.0/24  tcp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rule db (to-db #0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("allow-all:permit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exemption dns"), std::string::npos) << r.out;
  for (size_t pos = 0; (pos = r.out.find(" \n", pos)) != std::string::npos; ++pos) {
    ADD_FAILURE() << "trailing blank at " << pos;
  }
  std::vector<std::string> requests = Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], "GET /v1/filters?specific=true ");
}

TEST_F(IpsecctlTest, JsonOutputIsTheApisJson) {
  ProcessResult r = Ctl({"show", "stats", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out), Json::parse(kStats));
  r = Ctl({"-o", "json", "show", "policy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out), Json::parse(kAssignment));
}

TEST_F(IpsecctlTest, StatsTableIsFlattened) {
  ProcessResult r = Ctl({"show", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ike.ike_sas_active:     0\n"
            "ike.child_sas_active:   0\n"
            "policy.generation:      7\n"
            "policy.rules_in_force:  2\n");
}

TEST_F(IpsecctlTest, MatchSendsThePacketAndPrintsTheDecision) {
  Answer("POST /v1/match", 200,
         R"json({"action":"negotiate","policy":"web-tier","generation":7,"rule":"db",
             "weight":123,"entry":null,
             "reason":"matched rule 'db' (filter list 'to-db', filter 0)"})json");
  ProcessResult r = Ctl({"match", "--direction", "out", "--src", "10.99.1.2", "--dst", "10.99.2.3",
                         "--proto", "tcp", "--sport", "40000", "--dport", "5432"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Action:  negotiate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Rule:    db"), std::string::npos) << r.out;
  std::vector<std::string> requests = Requests();
  ASSERT_EQ(requests.size(), 1u);
  std::string body = requests[0].substr(std::string("POST /v1/match ").size());
  EXPECT_EQ(Json::parse(body), Json::parse(R"({"direction":"outbound","source":"10.99.1.2",
      "destination":"10.99.2.3","protocol":"tcp","source_port":40000,
      "destination_port":5432})"));
}

TEST_F(IpsecctlTest, RejectedRequestExits2WithTheMessageAndPath) {
  Answer("PUT /v1/policies/web-tier", 400,
         R"({"error":{"code":"invalid_argument","message":"unknown filter list 'nope'",
             "path":"/rules/0/filter_list"}})");
  std::string file = dir_.Write("p.json", R"({"name": "web-tier", "rules": []})");
  ProcessResult r = Ctl({"policy", "apply", "-f", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("400 invalid_argument"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown filter list 'nope'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at /rules/0/filter_list"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(IpsecctlTest, PolicyApplyYamlAndAssign) {
  Answer("PUT /v1/policies/web-tier", 201, R"({"name":"web-tier"})");
  Answer("PUT /v1/assignment", 200, kAssignment);
  std::string file = dir_.Write("p.yaml", "name: web-tier\ndescription: from yaml\n");
  ProcessResult r = Ctl({"policy", "apply", "-f", file, "--assign"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("policy 'web-tier' created (revision 4)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("In force:"), std::string::npos) << r.out;
  std::vector<std::string> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(Json::parse(requests[0].substr(std::string("PUT /v1/policies/web-tier ").size())),
            Json::parse(R"({"name":"web-tier","description":"from yaml"})"));
  EXPECT_EQ(requests[1], R"(PUT /v1/assignment {"policy":"web-tier"})");
}

TEST_F(IpsecctlTest, UnreadablePolicyFileIsAUsageError) {
  ProcessResult r = Ctl({"policy", "apply", "-f", dir_.path() + "/missing.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.json"), std::string::npos) << r.err;
  std::string nameless = dir_.Write("nameless.json", R"({"description": "x"})");
  r = Ctl({"policy", "apply", "-f", nameless});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no \"name\""), std::string::npos) << r.err;
  EXPECT_TRUE(Requests().empty());
}

TEST_F(IpsecctlTest, WrongTokenExits4) {
  std::string wrong = dir_.Write("wrong", "nope\n");
  ProcessResult r =
      testing::RunProcess({IPSECCTL_PATH, "--api", "127.0.0.1:" + std::to_string(server_->port()),
                           "--token-file", wrong, "show", "policy"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("authentication failed (401 unauthenticated): invalid bearer token"),
            std::string::npos)
      << r.err;
}

TEST_F(IpsecctlTest, NoTokenExits4WithAHint) {
  ProcessResult r =
      testing::RunProcess({IPSECCTL_PATH, "show", "policy"},
                          {"IPSECCTL_API=127.0.0.1:" + std::to_string(server_->port()),
                           "IPSECCTL_TOKEN_FILE=" + dir_.path() + "/absent"});
  EXPECT_EQ(r.exit_code, 1) << "an explicit token file that cannot be read is a usage error";
  EXPECT_NE(r.err.find("absent"), std::string::npos) << r.err;
  r = testing::RunProcess({IPSECCTL_PATH, "show", "policy"},
                          {"IPSECCTL_API=127.0.0.1:" + std::to_string(server_->port())});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("no token was sent"), std::string::npos) << r.err;
  r = testing::RunProcess({IPSECCTL_PATH, "show", "policy"},
                          {"IPSECCTL_API=127.0.0.1:" + std::to_string(server_->port()),
                           "IPSECCTL_TOKEN_FILE=" + token_file_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(IpsecctlTest, ServerErrorExits5) {
  Answer("GET /v1/sas", 503,
         R"({"error":{"code":"unavailable","message":"state could not be persisted","path":""}})");
  ProcessResult r = Ctl({"show", "sa"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("the API failed to serve GET /v1/sas (503 unavailable): state could not "
                       "be persisted"),
            std::string::npos)
      << r.err;
}

TEST_F(IpsecctlTest, UnreachableDaemonExits3) {
  uint16_t port = server_->port();
  server_->Stop();
  ProcessResult r = testing::RunProcess(
      {IPSECCTL_PATH, "--api", "127.0.0.1:" + std::to_string(port), "--token", "x", "show", "sa"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("connection refused — is the daemon running?"), std::string::npos) << r.err;
}

TEST_F(IpsecctlTest, UsageErrorsExit1AndSendNothing) {
  EXPECT_EQ(Ctl({}).exit_code, 1);
  EXPECT_EQ(Ctl({"frobnicate"}).exit_code, 1);
  EXPECT_EQ(Ctl({"match", "--direction", "sideways", "--src", "a", "--dst", "b"}).exit_code, 1);
  EXPECT_EQ(Ctl({"set", "ike-logging", "maybe"}).exit_code, 1);
  EXPECT_EQ(Ctl({"show", "stats", "-o", "xml"}).exit_code, 1);
  ProcessResult r = Ctl({"delete", "all"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--yes"), std::string::npos);
  r = testing::RunProcess({IPSECCTL_PATH, "--api", "[::1", "show", "sa"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Requests().empty());
}

TEST_F(IpsecctlTest, HelpListsTheExitCodes) {
  ProcessResult r = testing::RunProcess({IPSECCTL_PATH, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4  authentication failed"), std::string::npos) << r.out;
}

TEST_F(IpsecctlTest, DeleteAllAndIkeLogging) {
  Answer("DELETE /v1/policies", 200, R"({"deleted":3})");
  Answer("PUT /v1/config/ike-logging", 200, R"({"enabled":true})");
  ProcessResult r = Ctl({"delete", "all", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("removed 3 pod-scope policies"), std::string::npos) << r.out;
  r = Ctl({"set", "ike-logging", "on"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "IKE logging: on\n");
  std::vector<std::string> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1], R"(PUT /v1/config/ike-logging {"enabled":true})");
}

TEST_F(IpsecctlTest, SaInitiateAndDelete) {
  Answer("POST /v1/sas", 201, R"({"id":"ike-7"})");
  Answer("DELETE /v1/sas/ike-7", 204, "");
  ProcessResult r = Ctl({"sa", "initiate", "--rule", "gw"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("initiated ike-7 for rule 'gw'"), std::string::npos) << r.out;
  r = Ctl({"sa", "initiate", "--rule", "db", "--peer", "10.99.2.7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("with 10.99.2.7"), std::string::npos) << r.out;
  r = Ctl({"sa", "delete", "ike-7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SA ike-7 deleted\n");
  r = Ctl({"-o", "json", "sa", "initiate", "--rule", "gw"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out), Json::parse(R"({"id":"ike-7"})")) << r.out;
  std::vector<std::string> requests = Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0], R"(POST /v1/sas {"rule":"gw"})");
  EXPECT_EQ(Json::parse(requests[1].substr(requests[1].find('{'))),
            Json::parse(R"({"rule":"db","peer":"10.99.2.7"})"));
  EXPECT_EQ(requests[2], "DELETE /v1/sas/ike-7 ");
  // An unknown SA, a rule that does not negotiate: rejected, exit 2 with the API's message.
  Answer("DELETE /v1/sas/ike-9", 404,
         R"({"error":{"code":"not_found","message":"no IKE SA 'ike-9'","path":""}})");
  r = Ctl({"sa", "delete", "ike-9"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no IKE SA 'ike-9'"), std::string::npos) << r.err;
  Answer(
      "POST /v1/sas", 409,
      R"({"error":{"code":"failed_precondition","message":"rule 'open' does not negotiate security","path":"/rule"}})");
  r = Ctl({"sa", "initiate", "--rule", "open"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does not negotiate"), std::string::npos) << r.err;
  // --rule is required; nothing is sent.
  const size_t sent = Requests().size();
  EXPECT_EQ(Ctl({"sa", "initiate"}).exit_code, 1);
  EXPECT_EQ(Ctl({"sa", "delete"}).exit_code, 1);
  EXPECT_EQ(Requests().size(), sent);
}

TEST_F(IpsecctlTest, SaRekey) {
  Answer("POST /v1/sas/child-3/rekey", 202, R"({"id":"child-3"})");
  ProcessResult r = Ctl({"sa", "rekey", "child-3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "rekeying child-3; see 'ipsecctl show sa' for the new SA\n");
  r = Ctl({"-o", "json", "sa", "rekey", "child-3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out), Json::parse(R"({"id":"child-3"})"));
  Answer("POST /v1/sas/ike-2/rekey", 409,
         R"({"error":{"code":"failed_precondition","message":"ike-2 is connecting","path":""}})");
  r = Ctl({"sa", "rekey", "ike-2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ike-2 is connecting"), std::string::npos) << r.err;
  std::vector<std::string> requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0], "POST /v1/sas/child-3/rekey ");
  EXPECT_EQ(Ctl({"sa", "rekey"}).exit_code, 1);
  EXPECT_EQ(Requests().size(), 3u);
}

TEST_F(IpsecctlTest, NotFoundExits2) {
  ProcessResult r = Ctl({"policy", "get", "a b"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("GET /v1/policies/a%20b (404 not_found)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ipsec::api::http
