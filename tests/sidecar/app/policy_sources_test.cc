#include "sidecar/app/policy_sources.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/support/process.h"

namespace ipsec::sidecar::app {
namespace {

using engine::policy::Scope;

constexpr const char* kYaml = R"(name: ns-policy
polling_interval_seconds: 30
filter_lists: [{name: l, filters: [{source: me, destination: 10.0.0.0/8}]}]
filter_actions: [{name: b, type: block}]
rules: [{name: r, filter_list: l, filter_action: b}]
)";

TEST(ScopeDirectoryTest, MissingDirectoryOrFileAssignsNothing) {
  testing::TempDir dir;
  auto none = ReadScopeDirectory(dir.path() + "/absent");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->policy.has_value());
  auto empty = ReadScopeDirectory(dir.path());
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->policy.has_value());
}

TEST(ScopeDirectoryTest, ReadsYamlAndJsonAndReportsFaultsWithTheFile) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/policy.yaml", kYaml);
  auto yaml = ReadScopeDirectory(dir.path());
  ASSERT_TRUE(yaml.ok()) << yaml.error().ToString();
  EXPECT_EQ(yaml->policy->name, "ns-policy");
  EXPECT_EQ(yaml->path, dir.path() + "/policy.yaml");

  testing::TempDir other;
  testing::WriteFile(other.path() + "/policy.json", R"({"name": "j", "rules": [{"name": 1}]})");
  auto bad = ReadScopeDirectory(other.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().path.find(other.path() + "/policy.json"), std::string::npos);
  EXPECT_NE(bad.error().path.find("/rules/0/name"), std::string::npos) << bad.error().path;
}

TEST(PolicySourcesTest, LoadsScopesKeepsPreviousOnErrorAndUsesPolicyInterval) {
  testing::TempDir cluster, ns;
  engine::service::EngineService service({});
  PolicySources sources(service, cluster.path(), ns.path(), std::chrono::seconds(100));
  auto t0 = std::chrono::steady_clock::now();
  sources.ReloadAll("test", t0);
  EXPECT_FALSE(service.GetAssignment().in_force_scope.has_value());

  testing::WriteFile(ns.path() + "/policy.yaml", kYaml);
  sources.ReloadAll("test", t0);
  auto a = service.GetAssignment();
  EXPECT_EQ(a.in_force_scope, Scope::kNamespace);
  EXPECT_EQ(a.scopes[1].source, ns.path() + "/policy.yaml");

  // The policy's own polling interval (30 s, FAQ 10) applies to its directory; the empty
  // cluster directory keeps the default (100 s).
  EXPECT_EQ(sources.PollDue(t0), t0 + std::chrono::seconds(30));
  testing::WriteFile(ns.path() + "/policy.yaml", "name: [unclosed");
  EXPECT_EQ(sources.PollDue(t0 + std::chrono::seconds(29)), t0 + std::chrono::seconds(30));
  EXPECT_EQ(service.GetAssignment().scopes[1].error, "");  // not re-read before it is due
  // Due: re-read; the broken file keeps the previous policy and falls back to the default.
  EXPECT_EQ(sources.PollDue(t0 + std::chrono::seconds(30)), t0 + std::chrono::seconds(100));
  sources.ReloadAll("test", t0);
  a = service.GetAssignment();
  EXPECT_EQ(a.in_force_policy, "ns-policy");
  EXPECT_FALSE(a.scopes[1].error.empty());
}

}  // namespace
}  // namespace ipsec::sidecar::app
