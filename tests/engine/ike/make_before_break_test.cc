// Child SA rekeys, make-before-break (RFC 7296 §2.8, §2.8.1), proven by the order of the data
// path's calls on both sides, message by message: the initiator adds both new SAs when the
// response arrives, then deletes the old pair; the responder adds the new inbound SA at once
// and the new outbound one only when the initiator's Delete of the old pair arrives (or the
// initiator sends on the new SA). At no step does a data path hold an outbound SA its peer has
// no inbound SA for. The child SA keeps its reqid (its API id) across rekeys, so its policies
// are never touched.
#include <gtest/gtest.h>

#include <map>

#include "tests/engine/ike/rekey_fixture.h"

namespace ipsec::engine::ike {
namespace {

using namespace std::chrono_literals;
using dataplane::SaDirection;
using dataplane::SaProtocol;
using testing::IkePeer;

class MakeBeforeBreakTest : public RekeyFixture, public ::testing::WithParamInterface<bool> {
 protected:
  // §2.8: the outbound SA each data path sends on for a child SA (of its reqid, the one added
  // last) can be read by the peer (its inbound SA is installed there), and every child SA's
  // reqid has an outbound SA at each side.
  void ExpectEveryOutboundReadable(const std::string& step) {
    for (auto [x, y] : {std::pair{&net_.a, &net_.b}, std::pair{&net_.b, &net_.a}}) {
      std::map<uint32_t, int> outbound_per_reqid;
      std::map<uint32_t, dataplane::SaConfig> sending;  // reqid -> newest outbound SA
      for (const auto& p : x->backend.Policies()) outbound_per_reqid[p.reqid] += 0;
      for (const auto& sa : x->backend.Sas()) {  // in installation order
        if (sa.direction != SaDirection::kOutbound) continue;
        ++outbound_per_reqid[sa.reqid];
        sending[sa.reqid] = sa;
      }
      for (const auto& [reqid, sa] : sending) {
        auto partner = y->backend.FindSa(sa.spi);
        EXPECT_TRUE(partner.has_value() && partner->direction == SaDirection::kInbound)
            << step << ": " << x->address.ToString() << " may send on SPI " << sa.spi
            << ", which its peer has not installed\n"
            << ::testing::PrintToString(x->backend.CallLog()) << "\n"
            << ::testing::PrintToString(y->backend.CallLog());
      }
      for (const auto& [reqid, n] : outbound_per_reqid) {
        EXPECT_GE(n, 1) << step << ": reqid " << reqid << " at " << x->address.ToString()
                        << " has no outbound SA (a gap in protection)";
      }
    }
  }
  // Delivers everything one datagram at a time, checking after each.
  void StepAll(const std::string& what) {
    for (int i = 0; net_.DeliverOne(); ++i) {
      ExpectEveryOutboundReadable(what + ", datagram " + std::to_string(i + 1));
    }
  }
  // The calls with their SA direction: "AddSa in", "AddSa out", "DeleteSa", ...
  static std::vector<std::string> Calls(IkePeer& p) {
    std::vector<std::string> out;
    for (const auto& line : p.backend.CallLog()) {
      std::string op = line.substr(0, line.find(' '));
      if (op == "AddSa") op += line.find(" in ") != std::string::npos ? " in" : " out";
      out.push_back(op);
    }
    return out;
  }
  static bool HasOutbound(IkePeer& p, uint32_t spi) {
    auto sa = p.backend.FindSa(spi);
    return sa && sa->direction == SaDirection::kOutbound;
  }
};

TEST_P(MakeBeforeBreakTest, ResponderSendsOnTheOldSaUntilTheInitiatorDeletesIt) {
  Configure(/*pfs=*/GetParam());
  Establish();
  const auto before_a = Children(net_.a)[0];
  const auto before_b = Children(net_.b)[0];
  const size_t policies_a = net_.a.backend.Policies().size();
  net_.a.backend.ClearCalls();
  net_.b.backend.ClearCalls();
  ASSERT_TRUE(net_.a.manager->Rekey(before_a.id, net_.now).ok());
  EXPECT_EQ(Calls(net_.a), (std::vector<std::string>{"AllocateSpi"}));

  // 1. CREATE_CHILD_SA request reaches B: its new inbound SA only.
  ASSERT_TRUE(net_.DeliverOne());
  ExpectEveryOutboundReadable("after the rekey request");
  EXPECT_EQ(Calls(net_.b), (std::vector<std::string>{"AllocateSpi", "AddSa in"}));
  auto mid_b = Children(net_.b);
  ASSERT_EQ(mid_b.size(), 2u) << net_.b.observer.Log();
  const ChildSaSnapshot& new_b = mid_b[1];
  EXPECT_EQ(mid_b[0].state, "rekeyed");
  EXPECT_EQ(new_b.state, "installed");
  EXPECT_EQ(new_b.id, before_b.id) << "a rekey keeps the child SA's id";
  EXPECT_EQ(new_b.reqid, before_b.reqid);
  EXPECT_EQ(new_b.pfs, GetParam());
  EXPECT_FALSE(HasOutbound(net_.b, new_b.spi_out)) << "§2.8: held back";
  EXPECT_TRUE(HasOutbound(net_.b, before_b.spi_out)) << "still sending on the old SA";
  EXPECT_EQ(net_.b.backend.FindSa(new_b.spi_in)->reqid, before_b.reqid);

  // 2. The response reaches A: both new SAs, no policy change; then A's Delete of the old pair.
  ASSERT_TRUE(net_.DeliverOne());
  ExpectEveryOutboundReadable("after the rekey response");
  EXPECT_EQ(Calls(net_.a), (std::vector<std::string>{"AllocateSpi", "AddSa in", "AddSa out"}));
  auto mid_a = Children(net_.a);
  ASSERT_EQ(mid_a.size(), 2u);
  EXPECT_EQ(mid_a[0].state, "deleting");  // A's Delete is under way
  EXPECT_EQ(mid_a[0].id, mid_a[1].id);
  EXPECT_TRUE(HasOutbound(net_.a, mid_a[1].spi_out));
  EXPECT_EQ(net_.wire.size(), 1u) << "A's INFORMATIONAL {D(old)}";

  // A few seconds pass before the Delete arrives (A retransmits it): B still holds its new
  // outbound SA back.
  net_.Advance(5s);
  EXPECT_FALSE(HasOutbound(net_.b, new_b.spi_out));
  ExpectEveryOutboundReadable("5 s later");

  // 3. The Delete reaches B: new outbound SA first, then the old pair; policies untouched.
  ASSERT_TRUE(net_.DeliverOne());
  ExpectEveryOutboundReadable("after the Delete");
  EXPECT_EQ(Calls(net_.b), (std::vector<std::string>{"AllocateSpi", "AddSa in", "AddSa out",
                                                     "DeleteSa", "DeleteSa"}));
  EXPECT_TRUE(HasOutbound(net_.b, new_b.spi_out));
  EXPECT_FALSE(net_.b.backend.FindSa(before_b.spi_out).has_value());
  EXPECT_FALSE(net_.b.backend.FindSa(before_b.spi_in).has_value());

  // 4. B's answer reaches A (and B answers A's retransmissions from its cache): the old pair
  // goes at A too.
  StepAll("the Delete response");
  EXPECT_EQ(Calls(net_.a), (std::vector<std::string>{"AllocateSpi", "AddSa in", "AddSa out",
                                                     "DeleteSa", "DeleteSa"}));
  EXPECT_TRUE(net_.wire.empty());
  ExpectPaired();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    auto children = Children(*p);
    ASSERT_EQ(children.size(), 1u);
    EXPECT_EQ(children[0].id, before_a.id);
    EXPECT_EQ(children[0].reqid, before_a.reqid);
    EXPECT_EQ(p->backend.Policies().size(), policies_a);
    EXPECT_TRUE(p->backend.FindPolicy(before_a.reqid, SaDirection::kOutbound).has_value());
    EXPECT_EQ(p->observer.child_up, 1);
    EXPECT_EQ(p->observer.child_down, 0);
    EXPECT_EQ(p->observer.child_rekeys, 1);
  }
}

TEST_P(MakeBeforeBreakTest, ResponderSwitchesWhenTrafficArrivesOnTheNewSaBeforeTheDelete) {
  Configure(/*pfs=*/GetParam());
  Establish();
  const auto before_b = Children(net_.b)[0];
  ASSERT_TRUE(net_.b.manager->Rekey(before_b.id, net_.now).ok());  // B initiates this time
  ASSERT_TRUE(net_.DeliverOne());                                  // request to A
  ASSERT_TRUE(net_.DeliverOne());                                  // response to B
  ASSERT_EQ(net_.wire.size(), 1u);                                 // B's Delete, held
  auto a = Children(net_.a);
  ASSERT_EQ(a.size(), 2u);
  const ChildSaSnapshot new_a = a[1];
  ASSERT_FALSE(HasOutbound(net_.a, new_a.spi_out));
  ExpectEveryOutboundReadable("B installed the new pair");
  // B sends on the new SA; A's data path counts it on the new inbound SA (§2.8: "... until it
  // receives traffic on it"). A's next timer sees it.
  ASSERT_TRUE(
      net_.a.backend.AddTraffic(SaProtocol::kEsp, new_a.spi_in, 100, 1, net_.a.clock.unix_seconds)
          .ok());
  net_.Advance(2s);
  EXPECT_TRUE(HasOutbound(net_.a, new_a.spi_out)) << net_.a.observer.Log();
  EXPECT_TRUE(HasOutbound(net_.a, a[0].spi_out)) << "the old pair stays until the Delete";
  ExpectEveryOutboundReadable("A switched on traffic");
  StepAll("the Delete");
  ExpectPaired();
  EXPECT_EQ(Children(net_.a).size(), 1u);
  EXPECT_EQ(Children(net_.a)[0].id, before_b.id);
  // Each SA was added once: the Delete did not add the outbound SA again.
  auto calls = Calls(net_.a);
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "AddSa out"), 2) << "establish + rekey";
}

// §2.8.1: both ends rekey the child SA at once; whichever exchange loses, every step keeps an
// outbound SA the peer can read, the redundant and old pairs go, and the reqid stays.
TEST_P(MakeBeforeBreakTest, CollisionKeepsEveryStepReadable) {
  Configure(/*pfs=*/GetParam());
  Establish();
  const auto first = Children(net_.a)[0];
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < round; ++i) net_.a.random.Uint64();  // vary the nonces' order
    net_.a.backend.ClearCalls();
    net_.b.backend.ClearCalls();
    ASSERT_TRUE(net_.a.manager->Rekey(first.id, net_.now).ok());
    ASSERT_TRUE(net_.b.manager->Rekey(first.id, net_.now).ok());
    StepAll("round " + std::to_string(round));
    ExpectPaired();
    for (IkePeer* p : {&net_.a, &net_.b}) {
      auto children = Children(*p);
      ASSERT_EQ(children.size(), 1u) << p->observer.Log();
      EXPECT_EQ(children[0].id, first.id);
      EXPECT_EQ(children[0].state, "installed");
      EXPECT_EQ(p->backend.Sas().size(), 2u);
      auto calls = Calls(*p);
      EXPECT_EQ(std::count(calls.begin(), calls.end(), "AddPolicy"), 0);
      EXPECT_EQ(std::count(calls.begin(), calls.end(), "DeletePolicy"), 0);
      // Both exchanges made a pair; each side added both inbound SAs but only the surviving
      // outbound one (the redundant pair's initiator and responder never send on it), and
      // removed the old pair and the redundant inbound SA.
      EXPECT_EQ(std::count(calls.begin(), calls.end(), "AddSa in"), 2)
          << ::testing::PrintToString(p->backend.CallLog());
      EXPECT_EQ(std::count(calls.begin(), calls.end(), "AddSa out"), 1)
          << ::testing::PrintToString(p->backend.CallLog());
      EXPECT_EQ(std::count(calls.begin(), calls.end(), "DeleteSa"), 3)
          << ::testing::PrintToString(p->backend.CallLog());
    }
  }
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_EQ(p->observer.child_up, 1);
    EXPECT_EQ(p->observer.child_down, 0);
  }
  const std::string log = net_.a.observer.Log();
  EXPECT_NE(log.find("our new child SA is redundant"), std::string::npos) << log;
  EXPECT_NE(log.find("the peer's new child SA is redundant"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Pfs, MakeBeforeBreakTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Pfs" : "NoPfs"; });

class ChildIdentityTest : public RekeyFixture {};

TEST_F(ChildIdentityTest, IdAndReqidSurviveRekeysByEitherSideAndIkeRekeys) {
  Establish();
  const auto first = Children(net_.a)[0];
  for (int i = 0; i < 4; ++i) {
    IkePeer& who = i % 2 ? net_.a : net_.b;
    if (i == 2) {
      ASSERT_TRUE(who.manager->Rekey(who.manager->Snapshot(net_.now)[0].id, net_.now).ok());
      net_.DeliverAll();
    }
    ASSERT_TRUE(who.manager->Rekey(first.id, net_.now).ok()) << "round " << i;
    net_.DeliverAll();
    for (IkePeer* p : {&net_.a, &net_.b}) {
      auto c = Children(*p);
      ASSERT_EQ(c.size(), 1u);
      EXPECT_EQ(c[0].id, first.id);
      EXPECT_EQ(c[0].reqid, first.reqid);
      for (const auto& sa : p->backend.Sas()) EXPECT_EQ(sa.reqid, first.reqid);
    }
  }
  EXPECT_NE(Children(net_.a)[0].spi_in, first.spi_in);
  // The API's Delete of the id removes the child SA (all its pairs) at both ends.
  ASSERT_TRUE(net_.a.manager->Rekey(first.id, net_.now).ok());
  net_.DeliverOne();
  net_.DeliverOne();  // the rekey is done, A's Delete of the old pair is on the wire
  ASSERT_EQ(Children(net_.a).size(), 2u);
  ASSERT_TRUE(net_.a.manager->Delete(first.id, net_.now).ok());
  net_.DeliverAll();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    EXPECT_TRUE(Children(*p).empty()) << p->observer.Log();
    EXPECT_TRUE(p->backend.Sas().empty());
    EXPECT_TRUE(p->backend.Policies().empty());
    EXPECT_EQ(p->observer.child_up, 1);
    EXPECT_EQ(p->observer.child_down, 1) << "one child SA, reported down once";
  }
}

}  // namespace
}  // namespace ipsec::engine::ike
