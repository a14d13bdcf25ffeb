// Admission of IKE_SA_INIT requests under load (issue 13, item 3): the decision reads no SA
// whatever the number of half-open ones (AdmissionTable keeps the counts), the global cap
// evicts the oldest half-open SA instead of refusing newcomers, the FAQ 59 limits hold across
// deaths and establishment, a legitimate peer establishes among 50,000 half-open SAs of a
// flood that answers cookies, and the incremental counts equal a recount after random events.
#include "engine/ike/admission.h"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <random>
#include <set>

#include "engine/ike/codec/message.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using namespace std::chrono_literals;
using testing::Datagram;
using testing::TwoPeers;

constexpr size_t kNoCookies = std::numeric_limits<size_t>::max();

Endpoint Source(uint32_t i, uint16_t port = 500) {
  return Endpoint{IpAddress::V4(0x0a800000u + i), port};  // 10.128.0.0/9
}

TEST(AdmissionTableTest, CountsFollowEveryChangeAndTheOldestComesFirst) {
  testing::SeededRandom random(7);
  AdmissionTable t(random);
  AdmissionTable::Slot a, b, c;
  const Endpoint p1 = Source(1), p1b = Source(1, 4500), p2 = Source(2);
  t.AddHalfOpen(a, 11, p1, 0xa);
  t.AddHalfOpen(b, 12, p1b, 0xb);
  t.AddHalfOpen(c, 13, p2, 0xc);
  EXPECT_EQ(t.half_open(), 3u);
  EXPECT_EQ(t.HalfOpenFrom(p1.address), 2u);
  EXPECT_EQ(t.HalfOpenFrom(p1), 1u);
  EXPECT_EQ(t.HalfOpenFrom(p1b), 1u);
  EXPECT_EQ(t.FindByRequest(p1b, 0xb), 12u);
  EXPECT_EQ(t.FindByRequest(p1, 0xb), 0u);
  EXPECT_EQ(t.Oldest(), 11u);
  // a is established; b dies; the oldest is c now.
  t.RemoveHalfOpen(a);
  t.SetEstablished(a, p1.address);
  t.RemoveHalfOpen(b);
  t.RemoveHalfOpen(b);  // twice: nothing more
  EXPECT_EQ(t.Oldest(), 13u);
  EXPECT_EQ(t.HalfOpenFrom(p1.address), 0u);
  EXPECT_TRUE(t.EstablishedWith(p1.address));
  EXPECT_FALSE(t.EstablishedWith(p2.address));
  // Established, a is still found by its request (§2.1: a late copy of it goes to a).
  EXPECT_EQ(t.FindByRequest(p1, 0xa), 11u);
  // The established SA's peer moves (NAT-T): counted under the new address only.
  t.SetEstablished(a, p2.address);
  EXPECT_FALSE(t.EstablishedWith(p1.address));
  EXPECT_TRUE(t.EstablishedWith(p2.address));
  t.SetEstablished(a, std::nullopt);
  t.RemoveHalfOpen(c);
  EXPECT_EQ(t.Dump().by_request.size(), 3u) << "until they are gone";
  for (AdmissionTable::Slot* s : {&a, &b, &c}) t.Forget(*s);
  t.Forget(b);  // twice: nothing more
  EXPECT_EQ(t.FindByRequest(p1, 0xa), 0u);
  auto d = t.Dump();
  EXPECT_TRUE(d.fifo.empty());
  EXPECT_TRUE(d.by_request.empty());
  EXPECT_TRUE(d.half_open_per_ip.empty()) << "per-IP entries must not outlive their counts";
  EXPECT_TRUE(d.established_per_ip.empty());
  EXPECT_TRUE(d.half_open_per_endpoint.empty());
  EXPECT_EQ(t.Oldest(), 0u);
}

// B as a responder under a flood of IKE_SA_INIT requests replayed from A's first one with
// other source addresses (and SPIs): every flood SA stays half-open (nobody sends IKE_AUTH).
class AdmissionTest : public ::testing::Test {
 protected:
  void Configure(DosLimits limits) {
    net_.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret"));
    auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
    b->dos = limits;
    net_.b.manager->SetConfig(b);
  }
  void SetBLimits(DosLimits limits) {
    auto b = std::make_shared<IkeConfig>(*net_.b.manager->config());
    b->dos = limits;
    net_.b.manager->SetConfig(b);
  }
  // A's first IKE_SA_INIT request (taken off the wire, not delivered).
  const Bytes& Template() {
    if (template_.empty()) {
      auto id = net_.a.manager->Initiate("r", net_.a.endpoint(9), net_.b.endpoint(), net_.now);
      EXPECT_TRUE(id.ok());
      template_ = net_.wire.back().data;
      net_.wire.pop_back();
      EXPECT_TRUE(net_.a.manager->Delete(*id, net_.now).ok());
    }
    return template_;
  }
  Bytes Request(uint64_t spi_i, const Bytes* cookie = nullptr) {
    auto m = codec::DecodeMessage(Template());
    EXPECT_TRUE(m.ok());
    m->header.initiator_spi = spi_i;
    if (cookie != nullptr) {
      codec::NotifyPayload n;
      n.type = codec::NotifyType::kCookie;
      n.data = *cookie;
      m->payloads.insert(m->payloads.begin(),
                         codec::PayloadEntry{codec::PayloadType::kNotify, false, n});
    }
    return codec::EncodeMessage(*m);
  }
  // One IKE_SA_INIT request from `from`; when B answers with N(COOKIE), the request again with
  // it, as an attacker that receives the answers at its addresses does.
  void Flood(const Endpoint& from, uint64_t spi_i) {
    net_.b.manager->OnDatagram(net_.b.endpoint(), from, Request(spi_i), net_.now);
    if (auto cookie = TakeAnswerTo(from)) {
      net_.b.manager->OnDatagram(net_.b.endpoint(), from, Request(spi_i, &*cookie), net_.now);
    }
    (void)TakeAnswerTo(from);
    net_.sent_log.clear();
  }
  // Takes B's answers to `from` off the wire; the cookie when one was N(COOKIE) alone.
  std::optional<Bytes> TakeAnswerTo(const Endpoint& from) {
    std::optional<Bytes> cookie;
    for (auto it = net_.wire.begin(); it != net_.wire.end();) {
      if (it->to != from) {
        ++it;
        continue;
      }
      auto m = codec::DecodeMessage(it->data);
      const auto* n = m.ok() ? codec::FindNotify(m->payloads, codec::NotifyType::kCookie) : nullptr;
      if (n != nullptr && m->payloads.size() == 1) cookie = n->data;
      it = net_.wire.erase(it);
    }
    return cookie;
  }
  size_t HalfOpen() { return net_.b.manager->Statistics().ike_sas_half_open; }
  int Drops(DosDropReason r) { return net_.b.observer.dos_drop_reasons[r]; }
  std::set<Endpoint> Remotes() {
    std::set<Endpoint> out;
    for (const auto& sa : net_.b.manager->Snapshot(net_.now)) {
      out.insert(
          Endpoint{*IpAddress::Parse(sa.remote.substr(0, sa.remote.find(':'))),
                   static_cast<uint16_t>(std::stoi(sa.remote.substr(sa.remote.find(':') + 1)))});
    }
    return out;
  }
  void EstablishA(uint16_t port = 500) {
    const int up = net_.b.observer.ike_up;
    auto id = net_.a.manager->Initiate("r", net_.a.endpoint(port), net_.b.endpoint(), net_.now);
    ASSERT_TRUE(id.ok()) << id.error().ToString();
    net_.DeliverAll();
    ASSERT_EQ(net_.b.observer.ike_up, up + 1) << net_.b.observer.Log();
  }

  TwoPeers net_;
  Bytes template_;
};

TEST_F(AdmissionTest, ADecisionReadsNoSaWhateverTheNumberHalfOpen) {
  DosLimits limits;
  limits.cookie_threshold = kNoCookies;
  limits.max_half_open = 0;  // no cap: every flood SA stays
  Configure(limits);
  constexpr uint32_t kFlood = 5000;
  for (uint32_t i = 0; i < kFlood; ++i) Flood(Source(i), 1000 + i);
  ASSERT_EQ(HalfOpen(), kFlood);
  // Admitted, and dropped by FAQ 59 (which consults the established SAs too): no SA is read.
  for (uint32_t i = 0; i < 40; ++i) Flood(Source(kFlood), 500000 + i);
  EstablishA();
  for (uint32_t i = 0; i < 8; ++i) Flood(Endpoint{net_.a.address, 700}, 600000 + i);
  EXPECT_EQ(HalfOpen(), kFlood + 35 + 5);
  EXPECT_EQ(Drops(DosDropReason::kHalfOpenPerPeer), 5);
  EXPECT_EQ(Drops(DosDropReason::kHalfOpenPerPeerPort), 3);
  EXPECT_EQ(net_.b.manager->admission_entries_read(), 0u);
  EXPECT_EQ(net_.b.manager->CheckAdmission(), "");
}

TEST_F(AdmissionTest, AtTheCapTheOldestHalfOpenSaIsEvictedAndALegitimatePeerGetsIn) {
  DosLimits limits;
  limits.cookie_threshold = kNoCookies;
  limits.max_half_open = 3;
  Configure(limits);
  for (uint32_t i = 0; i < 5; ++i) {
    Flood(Source(i), 100 + i);
    net_.now += 1s;
  }
  EXPECT_EQ(net_.b.manager->sa_count(), 3u);
  EXPECT_EQ(Remotes(), (std::set<Endpoint>{Source(2), Source(3), Source(4)}));
  EXPECT_EQ(Drops(DosDropReason::kEvicted), 2);
  EXPECT_EQ(net_.b.manager->Statistics().dos_drops_total, 2u);
  EXPECT_EQ(net_.b.manager->CheckAdmission(), "");
  // A's request evicts Source(2)'s SA; A's own lives on to IKE_AUTH.
  EstablishA();
  EXPECT_EQ(net_.a.observer.child_up, 1) << net_.a.observer.Log();
  EXPECT_EQ(Drops(DosDropReason::kEvicted), 3);
  EXPECT_EQ(Remotes(), (std::set<Endpoint>{Source(3), Source(4), net_.a.endpoint()}));
  // Established SAs do not count against the cap: two more half-open fit before an eviction.
  Flood(Source(10), 110);
  EXPECT_EQ(Drops(DosDropReason::kEvicted), 3);
  Flood(Source(11), 111);
  EXPECT_EQ(Drops(DosDropReason::kEvicted), 4);
  EXPECT_EQ(HalfOpen(), 3u);
  // The rest expire oldest first (30 s after each came), without a walk over the SAs.
  // Left: Source(4)'s (4 s after the first), Source(10)'s and Source(11)'s (5 s after).
  net_.b.manager->OnTimer(net_.now + 29s);
  EXPECT_EQ(HalfOpen(), 2u);
  EXPECT_EQ(net_.b.manager->CheckAdmission(), "");
  net_.b.manager->OnTimer(net_.now + 30s);
  EXPECT_EQ(HalfOpen(), 0u);
  EXPECT_EQ(net_.b.manager->sa_count(), 1u);
  EXPECT_EQ(net_.b.manager->CheckAdmission(), "");
  EXPECT_LE(net_.b.manager->admission_entries_read(), 4u);  // the evicted ones
}

TEST_F(AdmissionTest, Faq59LimitsHoldAcrossDeathsEstablishmentAndDeletion) {
  DosLimits limits;
  limits.cookie_threshold = kNoCookies;
  Configure(limits);
  const IpAddress ip = net_.a.address;
  uint64_t spi = 1;
  auto flood = [&](uint16_t port, int n) {
    for (int i = 0; i < n; ++i) Flood(Endpoint{ip, port}, spi++);
    EXPECT_EQ(net_.b.manager->CheckAdmission(), "");
  };
  // Nothing established with the IP: 35 per IP, whatever the ports.
  flood(2000, 20);
  flood(2001, 20);
  EXPECT_EQ(HalfOpen(), 35u);
  EXPECT_EQ(Drops(DosDropReason::kHalfOpenPerPeer), 5);
  // They expire: room again, for 35.
  net_.b.manager->OnTimer(net_.now + 31s);
  net_.now += 31s;
  EXPECT_EQ(HalfOpen(), 0u);
  flood(2002, 36);
  EXPECT_EQ(HalfOpen(), 35u);
  EXPECT_EQ(Drops(DosDropReason::kHalfOpenPerPeer), 6);
  net_.b.manager->OnTimer(net_.now + 31s);
  net_.now += 31s;
  // An IKE SA with the IP is up: 5 per IP:port.
  EstablishA();
  flood(3000, 6);
  flood(3001, 5);
  EXPECT_EQ(HalfOpen(), 10u);
  EXPECT_EQ(Drops(DosDropReason::kHalfOpenPerPeerPort), 1);
  // The IKE SA is deleted: 35 per IP again (10 half-open already).
  ASSERT_TRUE(net_.a.manager->Delete("ike-2", net_.now).ok()) << net_.a.observer.Log();
  net_.DeliverAll();
  ASSERT_EQ(net_.b.manager->sa_count(), 10u) << net_.b.observer.Log();
  flood(3002, 26);
  EXPECT_EQ(HalfOpen(), 35u);
  EXPECT_EQ(Drops(DosDropReason::kHalfOpenPerPeer), 7);
  EXPECT_EQ(net_.b.manager->admission_entries_read(), 0u);
}

TEST_F(AdmissionTest, ALegitimatePeerEstablishesAmong50000HalfOpenSasOfAFloodAnsweringCookies) {
  // 49,000 half-open SAs made without cookies (quicker), then cookies as shipped (above 10
  // half-open) and 1,000 more from a flood that answers them.
  DosLimits limits;
  limits.cookie_threshold = kNoCookies;
  limits.max_half_open = 50000;
  Configure(limits);
  constexpr uint32_t kFlood = 50000;
  for (uint32_t i = 0; i < kFlood - 1000; ++i) Flood(Source(i), 1000 + i);
  limits.cookie_threshold = DosLimits{}.cookie_threshold;
  SetBLimits(limits);
  for (uint32_t i = kFlood - 1000; i < kFlood; ++i) Flood(Source(i), 1000 + i);
  ASSERT_EQ(HalfOpen(), kFlood);
  EXPECT_EQ(net_.b.observer.cookies, 1000);
  const uint64_t read = net_.b.manager->admission_entries_read();
  EXPECT_EQ(read, 0u);
  // A is asked for a cookie too, answers it, evicts the oldest flood SA and completes.
  EstablishA();
  EXPECT_EQ(net_.a.observer.ike_up, 1);
  EXPECT_EQ(net_.a.observer.child_up, 1);
  EXPECT_EQ(net_.b.observer.cookies, 1001);
  EXPECT_EQ(HalfOpen(), kFlood - 1);
  EXPECT_EQ(Drops(DosDropReason::kEvicted), 1);
  EXPECT_EQ(net_.b.manager->admission_entries_read(), read + 1);  // the evicted one only
  EXPECT_EQ(net_.b.manager->CheckAdmission(), "");
}

// Random events between A and B and from forged sources; after each, both engines' counts
// equal a recount from their SAs. Seeded: a failure names the seed and the step.
class AdmissionRecountTest : public AdmissionTest, public ::testing::WithParamInterface<int> {};

TEST_P(AdmissionRecountTest, CountsEqualARecountAfterRandomEvents) {
  const int seed = GetParam();
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  DosLimits limits;
  limits.cookie_threshold = 4;
  limits.max_half_open_per_peer = 6;
  limits.max_half_open_per_peer_port = 2;
  limits.max_half_open = 6;
  Configure(limits);
  if (seed % 2 == 1) net_.PutABehindNat();  // addresses change when A floats to 4500
  (void)Template();
  net_.wire.clear();
  uint64_t spi = 1;
  bool lossy = false;
  net_.filter = [&](const Datagram&) { return !lossy || pick(4) != 0; };
  for (int step = 0; step < 1500; ++step) {
    const int what = pick(20);
    std::string did;
    if (what < 2) {
      const uint16_t port = static_cast<uint16_t>(500 + pick(3));
      (void)net_.a.manager->Initiate("r", net_.a.endpoint(port), net_.b.endpoint(), net_.now);
      did = "A initiates";
    } else if (what < 3) {
      Flood(Source(static_cast<uint32_t>(pick(3)), static_cast<uint16_t>(500 + pick(2))), spi++);
      did = "forged IKE_SA_INIT";
    } else if (what < 13) {
      net_.DeliverAll(1 + pick(6));
      did = "deliver";
    } else if (what < 15) {
      net_.Advance(std::chrono::milliseconds(pick(5) == 0 ? 20000 + pick(20000) : pick(3000)));
      did = "time passes";
    } else if (what == 15) {
      auto& peer = pick(2) == 0 ? net_.a : net_.b;
      auto sas = peer.manager->Snapshot(net_.now);
      if (!sas.empty())
        (void)peer.manager->Delete(sas[pick(static_cast<int>(sas.size()))].id, net_.now);
      did = "delete";
    } else if (what < 18) {
      auto& peer = pick(2) == 0 ? net_.a : net_.b;
      auto sas = peer.manager->Snapshot(net_.now);
      if (!sas.empty())
        (void)peer.manager->Rekey(sas[pick(static_cast<int>(sas.size()))].id, net_.now);
      did = "IKE rekey";
    } else if (what == 18) {
      lossy = pick(3) == 0;
      did = "loss changed";
    } else {
      DosLimits l = limits;
      l.max_half_open = static_cast<size_t>(pick(3)) * 6;  // 0: no cap
      SetBLimits(l);
      did = "B's cap changed";
    }
    ASSERT_EQ(net_.b.manager->CheckAdmission(), "")
        << "seed " << seed << " step " << step << " (" << did << ")\n"
        << net_.b.observer.Log();
    ASSERT_EQ(net_.a.manager->CheckAdmission(), "")
        << "seed " << seed << " step " << step << " (" << did << ")";
  }
  // Something happened: SAs came up, and some were evicted or dropped.
  EXPECT_GT(net_.b.observer.ike_up, 0);
  EXPECT_GT(net_.b.observer.dos_drops, 0);
  EXPECT_GT(Drops(DosDropReason::kEvicted), 0);
  EXPECT_GT(net_.a.observer.ike_rekeys, 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, AdmissionRecountTest, ::testing::Range(1, 9));

}  // namespace
}  // namespace ipsec::engine::ike
