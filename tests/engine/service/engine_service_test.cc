#include "engine/service/engine_service.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/fake_persistence.h"

namespace ipsec::engine::service {
namespace {

using policy::Action;
using policy::Direction;
using testing::FakePersistence;
using testing::RecordingEventSink;

const ChangeContext kCtx{"PUT /v1/policies/{name}", "test"};

// A policy with one rule: block (or permit) me -> `destination`.
Policy BlockPolicy(const std::string& name, const std::string& destination = "192.0.2.0",
                   policy::ActionType type = policy::ActionType::kBlock) {
  Policy p;
  p.name = name;
  policy::Filter f;
  f.source = policy::AddressSpec::Any(IpFamily::kV4);
  f.destination = policy::AddressSpec::Subnet(*IpAddress::Parse(destination), 24);
  p.filter_lists.push_back({"list", "", {f}});
  policy::FilterAction a;
  a.name = "act";
  a.type = type;
  p.filter_actions.push_back(a);
  policy::Rule r;
  r.name = "rule";
  r.filter_list = "list";
  r.filter_action = "act";
  p.rules.push_back(r);
  return p;
}

policy::PacketKey Packet(const std::string& dst) {
  policy::PacketKey k;
  k.direction = Direction::kOutbound;
  k.source = *IpAddress::Parse("10.0.0.1");
  k.destination = *IpAddress::Parse(dst);
  k.protocol = policy::kProtoUdp;
  k.destination_port = 9999;
  return k;
}

class EngineServiceTest : public ::testing::Test {
 protected:
  EngineService::Options Opts() {
    EngineService::Options o;
    o.persistence = &persistence_;
    o.events = &events_;
    return o;
  }
  FakePersistence persistence_;
  RecordingEventSink events_;
};

TEST_F(EngineServiceTest, CreateGetListWithRevisions) {
  EngineService s(Opts());
  auto a = s.CreatePolicy(BlockPolicy("a"), kCtx);
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->revision, 1u);
  auto b = s.CreatePolicy(BlockPolicy("b"), kCtx);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->revision, 2u);
  auto dup = s.CreatePolicy(BlockPolicy("a"), kCtx);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  ASSERT_EQ(s.ListPolicies().size(), 2u);
  EXPECT_EQ(s.GetPolicy("a")->policy, BlockPolicy("a"));
  EXPECT_EQ(s.GetPolicy("zzz").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(persistence_.last().policies.size(), 2u);
  EXPECT_EQ(events_.Count("audit.policy_change"), 2);
}

TEST_F(EngineServiceTest, StaleRevisionIsAbortedAndChangesNothing) {
  EngineService s(Opts());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  auto ok = s.PutPolicy("a", BlockPolicy("a", "198.51.100.0"), 1, kCtx);
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->revision, 2u);
  auto stale = s.PutPolicy("a", BlockPolicy("a", "203.0.113.0"), 1, kCtx);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  EXPECT_EQ(s.GetPolicy("a")->policy, BlockPolicy("a", "198.51.100.0"));
  EXPECT_EQ(s.Counters().policy_applies[static_cast<int>(ApplyResult::kConflict)], 1u);
  // If-Match on a policy that does not exist is stale too.
  EXPECT_EQ(s.PutPolicy("new", BlockPolicy("new"), 7, kCtx).error().code, ErrorCode::kAborted);
}

TEST_F(EngineServiceTest, InvalidPolicyIsRejectedWithPathAndNotStored) {
  EngineService s(Opts());
  Policy bad = BlockPolicy("a");
  bad.rules[0].filter_list = "missing";
  auto r = s.CreatePolicy(bad, kCtx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().path, "/rules/0/filter_list");
  EXPECT_TRUE(s.ListPolicies().empty());
  EXPECT_EQ(persistence_.saves(), 0);
  EXPECT_EQ(s.Counters().policy_applies[static_cast<int>(ApplyResult::kInvalid)], 1u);
  // A rename through the body is refused.
  EXPECT_EQ(s.PutPolicy("a", BlockPolicy("b"), std::nullopt, kCtx).error().path, "/name");
}

TEST_F(EngineServiceTest, PersistenceFailureAppliesNothing) {
  EngineService s(Opts());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  ASSERT_TRUE(s.AssignPodPolicy("a", kCtx).ok());
  uint64_t generation = s.GetEffective()->generation;
  persistence_.set_fail(true);
  auto r = s.PutPolicy("a", BlockPolicy("a", "198.51.100.0"), std::nullopt, kCtx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s.GetPolicy("a")->policy, BlockPolicy("a"));
  EXPECT_EQ(s.GetEffective()->generation, generation);
  EXPECT_EQ(s.Match(Packet("192.0.2.5")).action, Action::kBlock);
  EXPECT_EQ(s.Match(Packet("198.51.100.5")).action, Action::kPermit);
  EXPECT_FALSE(s.UnassignPodPolicy(kCtx).ok());
  EXPECT_EQ(s.GetAssignment().in_force_policy, "a");
  EXPECT_FALSE(s.DeleteAllLocalPolicy(kCtx).ok());
  EXPECT_EQ(s.ListPolicies().size(), 1u);
  EXPECT_EQ(s.Counters().policy_applies[static_cast<int>(ApplyResult::kPersistFailed)], 3u);
}

// The refusal says the state could not be saved and why (the store's reason, which names no
// file), and the log has it too.
TEST_F(EngineServiceTest, PersistenceFailureSaysTheStateWasNotSavedAndLogsIt) {
  EngineService s(Opts());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  persistence_.FailNext(ErrorCode::kUnavailable);
  auto r = s.PutPolicy("a", BlockPolicy("a", "198.51.100.0"), std::nullopt, kCtx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("could not be saved"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("the state volume is full (fake)"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("unchanged"), std::string::npos) << r.error().message;
  EXPECT_EQ(events_.Count("policy.persist_failed"), 1);
  // The next write goes through once the disk takes it.
  auto again = s.PutPolicy("a", BlockPolicy("a", "198.51.100.0"), std::nullopt, kCtx);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(persistence_.last().policies[0].policy, BlockPolicy("a", "198.51.100.0"));
}

// kDataLoss: the store renamed the new state into place but could not make it durable. The
// change is refused, so the file must hold the state in force again: the service saves that
// back, or a restart would bring up a policy the API refused.
TEST_F(EngineServiceTest, SaveThatMayHaveLandedIsRolledBackOnDisk) {
  EngineService s(Opts());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  ASSERT_TRUE(s.AssignPodPolicy("a", kCtx).ok());
  const LocalState before = persistence_.last();
  const int saves = persistence_.saves();
  persistence_.FailNext(ErrorCode::kDataLoss);
  auto r = s.PutPolicy("a", BlockPolicy("a", "198.51.100.0"), std::nullopt, kCtx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s.GetPolicy("a")->policy, BlockPolicy("a"));
  EXPECT_EQ(persistence_.saves(), saves + 2);  // the refused state, then the one in force
  const LocalState after = persistence_.last();
  EXPECT_EQ(after.last_revision, before.last_revision);
  ASSERT_EQ(after.policies.size(), 1u);
  EXPECT_EQ(after.policies[0].policy, BlockPolicy("a"));
  EXPECT_EQ(after.assigned, "a");
}

TEST_F(EngineServiceTest, AssignedPolicyDecidesAndCannotBeDeleted) {
  EngineService s(Opts());
  EXPECT_EQ(s.Match(Packet("192.0.2.5")).action, Action::kPermit);  // nothing in force (FAQ 6)
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  EXPECT_EQ(s.Match(Packet("192.0.2.5")).action, Action::kPermit);  // stored, not assigned
  uint64_t g0 = s.GetEffective()->generation;
  ASSERT_TRUE(s.AssignPodPolicy("a", kCtx).ok());
  MatchResult m = s.Match(Packet("192.0.2.5"));
  EXPECT_EQ(m.action, Action::kBlock);
  EXPECT_EQ(m.policy, "a");
  ASSERT_TRUE(m.entry.has_value());
  EXPECT_EQ(m.entry->origin.rule, "rule");
  EXPECT_GT(m.generation, g0);
  EXPECT_EQ(s.DeletePolicy("a", std::nullopt, kCtx).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(s.AssignPodPolicy("nope", kCtx).error().code, ErrorCode::kNotFound);
  // Editing the assigned policy recompiles; editing another one does not bump the generation.
  uint64_t g1 = s.GetEffective()->generation;
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("b"), kCtx).ok());
  EXPECT_EQ(s.GetEffective()->generation, g1);
  ASSERT_TRUE(s.UpdatePolicy(
                   "a", std::nullopt,
                   [](Policy& p) {
                     p.filter_actions[0].type = policy::ActionType::kPermit;
                     return Status::Ok();
                   },
                   kCtx)
                  .ok());
  EXPECT_GT(s.GetEffective()->generation, g1);
  EXPECT_EQ(s.Match(Packet("192.0.2.5")).action, Action::kPermit);
}

TEST_F(EngineServiceTest, FailedMutationChangesNothing) {
  EngineService s(Opts());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  auto r = s.UpdatePolicy(
      "a", std::nullopt,
      [](Policy& p) {
        p.description = "half";
        return Status(MakeError(ErrorCode::kNotFound, "no rule 'x'"));
      },
      kCtx);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.GetPolicy("a")->policy.description, "");
  EXPECT_EQ(s.GetPolicy("a")->revision, 1u);
  // A mutation that makes the policy invalid is refused as a whole.
  auto invalid = s.UpdatePolicy(
      "a", std::nullopt,
      [](Policy& p) {
        p.filter_lists.clear();
        return Status::Ok();
      },
      kCtx);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.GetPolicy("a")->policy, BlockPolicy("a"));
}

TEST_F(EngineServiceTest, ClosestScopeWinsAndPoliciesAreNeverMerged) {
  EngineService s(Opts());
  ChangeContext file{"file:/etc/x", "file-watcher"};
  EXPECT_FALSE(s.GetAssignment().in_force_scope.has_value());
  ASSERT_TRUE(s.SetScopePolicy(policy::Scope::kCluster, BlockPolicy("c", "192.0.2.0"),
                               "/etc/c/policy.yaml", file)
                  .ok());
  EXPECT_EQ(s.GetAssignment().in_force_scope, policy::Scope::kCluster);
  EXPECT_EQ(s.Match(Packet("192.0.2.5")).action, Action::kBlock);
  ASSERT_TRUE(s.SetScopePolicy(policy::Scope::kNamespace, BlockPolicy("n", "198.51.100.0"),
                               "/etc/n/policy.yaml", file)
                  .ok());
  AssignmentStatus a = s.GetAssignment();
  EXPECT_EQ(a.in_force_scope, policy::Scope::kNamespace);
  EXPECT_EQ(a.in_force_policy, "n");
  EXPECT_NE(a.reason.find("never merged"), std::string::npos);
  EXPECT_NE(a.reason.find("cluster scope's 'c'"), std::string::npos) << a.reason;
  // Not merged: the cluster policy's block is gone.
  EXPECT_EQ(s.Match(Packet("192.0.2.5")).action, Action::kPermit);
  EXPECT_EQ(s.Match(Packet("198.51.100.5")).action, Action::kBlock);

  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("p", "203.0.113.0"), kCtx).ok());
  ASSERT_TRUE(s.AssignPodPolicy("p", kCtx).ok());
  EXPECT_EQ(s.GetAssignment().in_force_scope, policy::Scope::kPod);
  EXPECT_EQ(s.Match(Packet("198.51.100.5")).action, Action::kPermit);

  // An invalid file keeps the previous policy of that scope and records the error.
  Policy broken = BlockPolicy("n2");
  broken.rules[0].filter_action = "nope";
  EXPECT_FALSE(s.SetScopePolicy(policy::Scope::kNamespace, broken, "/etc/n/policy.yaml", file)
                   .ok());
  ASSERT_TRUE(s.UnassignPodPolicy(kCtx).ok());
  a = s.GetAssignment();
  EXPECT_EQ(a.in_force_policy, "n");
  EXPECT_FALSE(a.scopes[1].error.empty());
  s.ReportScopeError(policy::Scope::kCluster, "/etc/c", "cannot parse");
  EXPECT_EQ(s.GetAssignment().scopes[0].error, "cannot parse");
  EXPECT_EQ(s.GetAssignment().scopes[0].policy, "c");
  ASSERT_TRUE(
      s.SetScopePolicy(policy::Scope::kNamespace, std::nullopt, "/etc/n", file).ok());
  EXPECT_EQ(s.GetAssignment().in_force_policy, "c");
}

TEST_F(EngineServiceTest, DeleteAllRemovesLocalPolicyOnly) {
  EngineService s(Opts());
  ASSERT_TRUE(s.SetScopePolicy(policy::Scope::kCluster, BlockPolicy("c"), "/etc/c",
                               {"file", "test"})
                  .ok());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("b"), kCtx).ok());
  ASSERT_TRUE(s.AssignPodPolicy("a", kCtx).ok());
  ASSERT_TRUE(s.DeleteAllLocalPolicy(kCtx).ok());
  EXPECT_TRUE(s.ListPolicies().empty());
  EXPECT_EQ(s.GetAssignment().in_force_policy, "c");
  // Revisions are never reused.
  EXPECT_EQ(s.CreatePolicy(BlockPolicy("a"), kCtx)->revision, 3u);
}

TEST_F(EngineServiceTest, RestartsFromPersistedState) {
  {
    EngineService s(Opts());
    ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
    ASSERT_TRUE(s.AssignPodPolicy("a", kCtx).ok());
  }
  EngineService::Options o = Opts();
  o.initial_state = persistence_.last();
  EngineService restarted(o);
  EXPECT_EQ(restarted.GetAssignment().in_force_policy, "a");
  EXPECT_EQ(restarted.Match(Packet("192.0.2.5")).action, Action::kBlock);
  EXPECT_EQ(restarted.CreatePolicy(BlockPolicy("b"), kCtx)->revision, 2u);
}

TEST_F(EngineServiceTest, IkeLoggingSwitchCallsBackOnce) {
  EngineService s(Opts());
  std::vector<bool> seen;
  s.OnIkeLoggingChanged([&](bool on) { seen.push_back(on); });
  s.SetIkeLogging(true, kCtx);
  s.SetIkeLogging(true, kCtx);
  s.SetIkeLogging(false, kCtx);
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
  EXPECT_FALSE(s.IkeLoggingEnabled());
}

TEST_F(EngineServiceTest, ConcurrentMatchesDuringWrites) {
  EngineService s(Opts());
  ASSERT_TRUE(s.CreatePolicy(BlockPolicy("a"), kCtx).ok());
  ASSERT_TRUE(s.AssignPodPolicy("a", kCtx).ok());
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      Action a = s.Match(Packet("192.0.2.5")).action;
      EXPECT_TRUE(a == Action::kBlock || a == Action::kPermit);
    }
  });
  for (int i = 0; i < 200; ++i) {
    auto type = i % 2 ? policy::ActionType::kBlock : policy::ActionType::kPermit;
    ASSERT_TRUE(s.PutPolicy("a", BlockPolicy("a", "192.0.2.0", type), std::nullopt, kCtx).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(s.Match(Packet("192.0.2.5")).action, Action::kBlock);
}

}  // namespace
}  // namespace ipsec::engine::service
