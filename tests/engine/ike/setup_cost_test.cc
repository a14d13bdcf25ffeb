// What makes a responder's IKE SA setup cheap must not change what it does:
//  - the responder's DH key pair reused for a bounded time (RFC 7296 §2.12, dh_reuse.h);
//  - its shared secret and keys derived when IKE_AUTH comes, not while answering IKE_SA_INIT
//    (§2.14; IkeSa::pending_dh), so a flood of IKE_SA_INIT costs no Diffie-Hellman;
//  - NextDeadline() from an index that OnDatagram keeps (ike_manager.h): it must give what a
//    scan of every SA gives, which any method that may change SAs falls back to.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/ike/codec/message.h"
#include "engine/ike/dh_reuse.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using namespace std::chrono_literals;
using crypto::Group;
using testing::TwoPeers;

const Bytes kPeer(32, 0x42);

TEST(DhReusePoolTest, ReusesWithinTheAgeAndUseBoundsOnly) {
  DhReusePool pool({.max_age = 1000ms, .max_uses = 3});
  const SteadyTime t0{};
  auto a = pool.Get(Group::kCurve25519, kPeer, t0);
  auto b = pool.Get(Group::kCurve25519, kPeer, t0 + 10ms);
  auto c = pool.Get(Group::kCurve25519, kPeer, t0 + 20ms);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(a->get(), c->get());
  // The fourth use is beyond max_uses: a fresh key pair.
  auto d = pool.Get(Group::kCurve25519, kPeer, t0 + 30ms);
  ASSERT_TRUE(d.ok());
  EXPECT_NE(a->get(), d->get());
  EXPECT_NE((*a)->PublicValue(), (*d)->PublicValue());
  EXPECT_EQ(pool.NextExpiry(), t0 + 30ms + 1000ms);
  // Past max_age: fresh again, and the old one is gone from the pool.
  auto e = pool.Get(Group::kCurve25519, kPeer, t0 + 30ms + 1000ms);
  ASSERT_TRUE(e.ok());
  EXPECT_NE(d->get(), e->get());
  EXPECT_EQ(pool.generated(), 3u);
  EXPECT_EQ(pool.reused(), 2u);
  pool.Expire(t0 + 10s);
  EXPECT_EQ(pool.NextExpiry(), SteadyTime::max());
}

TEST(DhReusePoolTest, GroupsAreKeptApartAndAReflectedPublicValueGetsAFreshPair) {
  DhReusePool pool;
  const SteadyTime t0{};
  auto x = pool.Get(Group::kCurve25519, kPeer, t0);
  auto p = pool.Get(Group::kEcp256, Bytes(64, 0x01), t0);
  ASSERT_TRUE(x.ok() && p.ok());
  EXPECT_EQ((*p)->group(), Group::kEcp256);
  EXPECT_EQ((*x)->group(), Group::kCurve25519);
  // The peer sends our own public value back: never combined with its private key.
  auto reflected = pool.Get(Group::kCurve25519, (*x)->PublicValue(), t0 + 1ms);
  ASSERT_TRUE(reflected.ok());
  EXPECT_NE(reflected->get(), x->get());
}

TEST(DhReusePoolTest, MaxAgeZeroNeverReuses) {
  DhReusePool pool({.max_age = 0ms, .max_uses = 100});
  auto a = pool.Get(Group::kCurve25519, kPeer, SteadyTime{});
  auto b = pool.Get(Group::kCurve25519, kPeer, SteadyTime{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_EQ(pool.NextExpiry(), SteadyTime::max());
}

// The responder's KE data (IKE_SA_INIT responses B sent), in order.
std::vector<Bytes> ResponderKes(const TwoPeers& net) {
  std::vector<Bytes> out;
  for (const auto& d : net.sent_log) {
    if (d.from.address != net.b.address) continue;
    auto m = codec::DecodeMessage(d.data);
    if (!m.ok() || m->header.exchange_type != codec::ExchangeType::kIkeSaInit) continue;
    if (const auto* ke =
            codec::FindPayload<codec::KePayload>(m->payloads, codec::PayloadType::kKe)) {
      out.push_back(ke->data);
    }
  }
  return out;
}

class SetupCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net_.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret"));
    net_.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret"));
  }
  void Initiate(uint16_t port) {
    auto id = net_.a.manager->Initiate("r", net_.a.endpoint(port), net_.b.endpoint(), net_.now);
    ASSERT_TRUE(id.ok()) << id.error().ToString();
  }
  TwoPeers net_;
};

TEST_F(SetupCostTest, TheResponderReusesItsKeyPairForOneSecondAndEverySaHasItsOwnKeys) {
  for (uint16_t i = 0; i < 3; ++i) Initiate(static_cast<uint16_t>(1000 + i));
  net_.DeliverAll(200);
  net_.Advance(1500ms);  // past max_age: the next SA gets a new key pair
  Initiate(2000);
  net_.DeliverAll(200);
  ASSERT_EQ(net_.b.observer.ike_up, 4) << net_.b.observer.Log();
  ASSERT_EQ(net_.a.observer.child_up, 4) << net_.a.observer.Log();
  auto kes = ResponderKes(net_);
  ASSERT_EQ(kes.size(), 4u);
  EXPECT_EQ(kes[0], kes[1]);
  EXPECT_EQ(kes[0], kes[2]);
  EXPECT_NE(kes[0], kes[3]);
  // The same g^ir, yet SKEYSEED differs (nonces and SPIs): so do the child SAs' keys.
  auto sas = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(sas.size(), 4u);
  std::set<std::string> spis;
  for (const auto& sa : sas) spis.insert(sa.spi_i + "/" + sa.spi_r);
  EXPECT_EQ(spis.size(), 4u);
  std::set<std::string> keys;
  const auto installed = net_.b.backend.Sas();
  for (const auto& sa : installed) keys.insert(std::string(sa.algorithms.encryption_key.view()));
  EXPECT_EQ(installed.size(), 8u);  // in and out per child SA
  EXPECT_EQ(keys.size(), installed.size());
}

// The IKE_AUTH request a forger sends for the SA (SPIi, SPIr): HDR, SK{...} of garbage.
Bytes ForgedIkeAuth(uint64_t spi_i, uint64_t spi_r) {
  Bytes d(28 + 4 + 64, 0x5a);
  for (int i = 0; i < 8; ++i) {
    d[i] = static_cast<uint8_t>(spi_i >> (56 - 8 * i));
    d[8 + i] = static_cast<uint8_t>(spi_r >> (56 - 8 * i));
  }
  d[16] = 46;    // SK
  d[17] = 0x20;  // IKEv2
  d[18] = 35;    // IKE_AUTH
  d[19] = 0x08;  // from the original initiator
  d[20] = d[21] = d[22] = 0;
  d[23] = 1;  // message ID 1
  d[24] = d[25] = 0;
  d[26] = static_cast<uint8_t>(d.size() >> 8);
  d[27] = static_cast<uint8_t>(d.size());
  d[28] = 35;  // IDi inside
  d[29] = 0;
  d[30] = 0;
  d[31] = 68;
  return d;
}

TEST_F(SetupCostTest, TheResponderAnswersIkeSaInitBeforeAnyDiffieHellman) {
  // A's KE replaced by a low-order X25519 point (all zeros): its shared secret is refused
  // (RFC 8031 §2.3), which shows when B computes it. B answers IKE_SA_INIT all the same...
  Initiate(500);
  ASSERT_EQ(net_.wire.size(), 1u);
  auto m = codec::DecodeMessage(net_.wire.front().data);
  ASSERT_TRUE(m.ok());
  net_.wire.clear();
  for (auto& p : m->payloads) {
    if (p.type == codec::PayloadType::kKe) std::get<codec::KePayload>(p.payload).data.assign(32, 0);
  }
  const Endpoint forger{*IpAddress::Parse("10.9.9.9"), 500};
  net_.b.manager->OnDatagram(net_.b.endpoint(), forger, codec::EncodeMessage(*m), net_.now);
  ASSERT_EQ(net_.wire.size(), 1u);
  auto answer = codec::DecodeMessage(net_.wire.front().data);
  ASSERT_TRUE(answer.ok());
  EXPECT_NE(codec::FindPayload<codec::KePayload>(answer->payloads, codec::PayloadType::kKe),
            nullptr)
      << "an IKE_SA_INIT response (SA, KE, Nr), not an error notification";
  EXPECT_EQ(net_.b.manager->Statistics().ike_sas_half_open, 1u);
  // ...and computes the shared secret only when IKE_AUTH comes: refused, the SA goes.
  const uint64_t dropped = net_.b.manager->Statistics().datagrams_dropped_total;
  net_.b.manager->OnDatagram(net_.b.endpoint(4500), Endpoint{forger.address, 4500},
                             ForgedIkeAuth(m->header.initiator_spi, answer->header.responder_spi),
                             net_.now);
  EXPECT_EQ(net_.b.manager->sa_count(), 0u) << net_.b.observer.Log();
  EXPECT_EQ(net_.b.manager->Statistics().datagrams_dropped_total, dropped + 1);
  EXPECT_NE(net_.b.observer.Log().find("peer's KE is invalid"), std::string::npos)
      << net_.b.observer.Log();
  // A valid setup derives the same keys on both sides from the deferred secret: IKE_AUTH
  // verifies and the child SAs pair up.
  net_.wire.clear();
  Initiate(501);
  net_.DeliverAll(200);
  EXPECT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
  EXPECT_EQ(net_.a.observer.child_up, 1) << net_.a.observer.Log();
}

TEST_F(SetupCostTest, NextDeadlineFromTheIndexIsWhatAScanGives) {
  // B sees datagrams only, so its index comes into use after a few of them; every step
  // compares it with a scan (SetConfig invalidates: the next call reads every SA).
  auto check = [this](const char* when) {
    const SteadyTime indexed = net_.b.manager->NextDeadline();
    net_.b.manager->SetConfig(net_.b.manager->config());
    const SteadyTime scanned = net_.b.manager->NextDeadline();
    EXPECT_EQ(indexed, scanned) << when;
    // Datagrams alone for a while: the index is rebuilt and used again.
    for (int i = 0; i < 20; ++i) (void)net_.b.manager->NextDeadline();
  };
  for (uint16_t i = 0; i < 30; ++i) {
    net_.now += 250ms;  // each SA's timers differ (no timer is due yet)
    Initiate(static_cast<uint16_t>(1000 + i));
    while (net_.DeliverOne()) {
      (void)net_.b.manager->NextDeadline();
      net_.now += 10ms;  // IKE_AUTH's timers are not IKE_SA_INIT's
    }
    if (i % 5 == 0) check("after a setup");
  }
  ASSERT_EQ(net_.b.observer.ike_up, 30) << net_.b.observer.Log();
  check("all up");
  // Half-open SAs at B: A's IKE_AUTH requests are lost.
  net_.filter = [this](const testing::Datagram& d) {
    auto m = codec::DecodeMessage(d.data);
    return !(d.from.address == net_.a.address && m.ok() &&
             m->header.exchange_type == codec::ExchangeType::kIkeAuth);
  };
  for (uint16_t i = 0; i < 5; ++i) {
    net_.now += 250ms;
    Initiate(static_cast<uint16_t>(3000 + i));
    while (net_.DeliverOne()) (void)net_.b.manager->NextDeadline();
  }
  check("half-open");
  net_.filter = nullptr;
  // Timers: half-open ones expire, DPD and rekeys run; deletes are INFORMATIONAL datagrams.
  for (int step = 0; step < 8; ++step) {
    net_.Run(20s);
    check("timers");
  }
  ASSERT_TRUE(net_.a.manager->Delete("ike-1", net_.now).ok());
  while (net_.DeliverOne()) (void)net_.b.manager->NextDeadline();
  check("after a delete");
}

}  // namespace
}  // namespace ipsec::engine::ike
