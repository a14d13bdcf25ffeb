#pragma once

// Shared set-up of the rekey, lifetime and timer tests: two peers with one rule "r", an
// established IKE SA "ike-1" with one child SA, and checks that both data paths agree.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/policy/templates.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {

class RekeyFixture : public ::testing::Test {
 protected:
  // `pfs`: the rule asks for session key PFS (FAQ 18); `edit` changes both configurations.
  void Configure(bool pfs = false, const std::function<void(IkeConfig&)>& edit = nullptr) {
    auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
    auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
    for (auto* c : {a.get(), b.get()}) {
      c->rules[0].session_key_pfs = pfs;
      if (edit) edit(*c);
    }
    net_.a.manager->SetConfig(a);
    net_.b.manager->SetConfig(b);
    configured_ = true;
  }
  void Establish() {
    if (!configured_) Configure();
    auto id = net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now);
    ASSERT_TRUE(id.ok()) << id.error().ToString();
    net_.DeliverAll();
    ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
    ASSERT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
    ASSERT_EQ(net_.a.observer.child_up, 1);
  }
  static std::vector<ChildSaSnapshot> Children(testing::IkePeer& p,
                                               engine::ike::SteadyTime now = {}) {
    std::vector<ChildSaSnapshot> out;
    for (const auto& sa : p.manager->Snapshot(now)) {
      out.insert(out.end(), sa.children.begin(), sa.children.end());
    }
    return out;
  }
  // Every SA of each side has its partner at the other side, with the same keys (§2.17).
  void ExpectPaired() {
    for (auto [x, y] : {std::pair{&net_.a, &net_.b}, std::pair{&net_.b, &net_.a}}) {
      for (const auto& sa : x->backend.Sas()) {
        auto peer = y->backend.FindSa(sa.spi);
        ASSERT_TRUE(peer.has_value()) << "SPI " << sa.spi << " has no partner";
        EXPECT_NE(peer->direction, sa.direction);
        EXPECT_TRUE(peer->algorithms.encryption_key == sa.algorithms.encryption_key);
      }
      EXPECT_EQ(x->backend.Sas().size(), y->backend.Sas().size());
    }
  }
  // §2.8: every SA added before the first one deleted (no gap in protection).
  static void ExpectMakeBeforeBreak(testing::IkePeer& p) {
    auto calls = p.backend.Calls();
    auto last_add = std::find(calls.rbegin(), calls.rend(), "AddSa");
    auto first_delete = std::find(calls.begin(), calls.end(), "DeleteSa");
    ASSERT_NE(last_add, calls.rend());
    ASSERT_NE(first_delete, calls.end());
    EXPECT_LT(calls.rend() - last_add - 1, first_delete - calls.begin())
        << ::testing::PrintToString(calls);
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "AddSa"), 2);
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "DeleteSa"), 2);
  }

  testing::TwoPeers net_;
  bool configured_ = false;
};

}  // namespace ipsec::engine::ike
