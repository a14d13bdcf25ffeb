// RFC 7296 §2.9 narrowing and offers (traffic_selectors.h): a child SA carries every
// combination of one TSi and one TSr selector, so neither our answer nor our offer may hold a
// (local, remote) combination that no filter pair of the policy allows. Table cases (wide
// offers, several pairs, mirrored, IPv4 and IPv6, ports and protocols) and a property test
// checked packet by packet against the policy.
#include "engine/ike/traffic_selectors.h"

#include <gtest/gtest.h>

#include <random>

namespace ipsec::engine::ike {
namespace {

using dataplane::TrafficSelector;

TrafficSelector Ts(const std::string& range, uint8_t protocol = 0, uint16_t start_port = 0,
                   uint16_t end_port = 65535) {
  TrafficSelector ts;
  const auto slash = range.find('/');
  const IpAddress a = *IpAddress::Parse(range.substr(0, slash));
  ts.addresses = slash == std::string::npos
                     ? IpRange::Single(a)
                     : IpRange::FromPrefix(a, std::stoi(range.substr(slash + 1)));
  ts.protocol = protocol;
  ts.start_port = start_port;
  ts.end_port = end_port;
  return ts;
}

// A filter pair; a port of 0 means every port.
RuleTraffic Pair(const std::string& local, const std::string& remote, uint8_t protocol = 0,
                 uint16_t local_port = 0, uint16_t remote_port = 0) {
  auto ts = [&](const std::string& range, uint16_t port) {
    return port == 0 ? Ts(range, protocol) : Ts(range, protocol, port, port);
  };
  return {ts(local, local_port), ts(remote, remote_port)};
}

std::vector<std::string> Str(const Selectors& s) {
  std::vector<std::string> out;
  for (const auto& t : s) out.push_back(ToString(t));
  return out;
}

// A and C are ours, B and D theirs: pairs A<->B and C<->D.
const std::vector<RuleTraffic> kTwoPairs = {Pair("10.1.1.0/24", "10.2.1.0/24"),
                                            Pair("10.1.2.0/24", "10.2.2.0/24")};

TEST(Narrow, TwoPairsAnswerOnePairNotTheirCrossProduct) {
  // The initiator (on the 10.2 side) offers both pairs at once.
  NarrowedTraffic n = Narrow(kTwoPairs, {Ts("10.2.1.0/24"), Ts("10.2.2.0/24")},
                             {Ts("10.1.1.0/24"), Ts("10.1.2.0/24")});
  EXPECT_EQ(Str(n.local), std::vector<std::string>{"10.1.1.0/24"});
  EXPECT_EQ(Str(n.remote), std::vector<std::string>{"10.2.1.0/24"});
  EXPECT_TRUE(CrossProductAllowed(kTwoPairs, n.local, n.remote));
  // A <-> D, allowed by no filter, is what the cross product of both pairs would carry.
  EXPECT_FALSE(CombinationAllowed(kTwoPairs, Ts("10.1.1.0/24"), Ts("10.2.2.0/24")));
  EXPECT_FALSE(CrossProductAllowed(kTwoPairs, {Ts("10.1.1.0/24"), Ts("10.1.2.0/24")},
                                   {Ts("10.2.1.0/24"), Ts("10.2.2.0/24")}));
}

TEST(Narrow, ThePairHoldingTheInitiatorsFirstSelectorsWins) {
  // §2.9: the first selectors are the packet that triggered the request.
  NarrowedTraffic n = Narrow(kTwoPairs, {Ts("10.2.2.9", 6, 80, 80), Ts("0.0.0.0/0")},
                             {Ts("10.1.2.7", 6, 40000, 40000), Ts("0.0.0.0/0")});
  EXPECT_EQ(Str(n.local), (std::vector<std::string>{"10.1.2.7[tcp/40000]", "10.1.2.0/24"}));
  EXPECT_EQ(Str(n.remote), (std::vector<std::string>{"10.2.2.9[tcp/80]", "10.2.2.0/24"}));
}

TEST(Narrow, WideOffersAreNarrowedToOnePair) {
  for (const char* wide : {"0.0.0.0/0", "10.0.0.0/8"}) {
    SCOPED_TRACE(wide);
    NarrowedTraffic n = Narrow(kTwoPairs, {Ts(wide)}, {Ts(wide)});
    EXPECT_EQ(Str(n.local), std::vector<std::string>{"10.1.1.0/24"});
    EXPECT_EQ(Str(n.remote), std::vector<std::string>{"10.2.1.0/24"});
  }
  // A v4 pair and a v6 pair share an SA: their mixed combinations match no packet.
  const std::vector<RuleTraffic> dual = {Pair("10.1.1.0/24", "10.2.1.0/24"),
                                         Pair("fd01::/64", "fd02::/64")};
  NarrowedTraffic n = Narrow(dual, {Ts("0.0.0.0/0"), Ts("::/0")}, {Ts("0.0.0.0/0"), Ts("::/0")});
  EXPECT_EQ(Str(n.local), (std::vector<std::string>{"10.1.1.0/24", "fd01::/64"}));
  EXPECT_EQ(Str(n.remote), (std::vector<std::string>{"10.2.1.0/24", "fd02::/64"}));
  EXPECT_TRUE(CrossProductAllowed(dual, n.local, n.remote));
  // Nothing overlaps: nothing.
  EXPECT_TRUE(Narrow(kTwoPairs, {Ts("192.0.2.0/24")}, {Ts("0.0.0.0/0")}).local.empty());
  EXPECT_TRUE(Narrow(kTwoPairs, {Ts("::/0")}, {Ts("::/0")}).local.empty());
}

TEST(Narrow, IPv6PairsAreNarrowedLikeIPv4) {
  const std::vector<RuleTraffic> v6 = {Pair("fd01:1::/64", "fd02:1::/64"),
                                       Pair("fd01:2::/64", "fd02:2::/64")};
  NarrowedTraffic n = Narrow(v6, {Ts("::/0")}, {Ts("fd01::/16")});
  EXPECT_EQ(Str(n.local), std::vector<std::string>{"fd01:1::/64"});
  EXPECT_EQ(Str(n.remote), std::vector<std::string>{"fd02:1::/64"});
  n = Narrow(v6, {Ts("fd02:2::5"), Ts("::/0")}, {Ts("fd01:2::9"), Ts("::/0")});
  EXPECT_EQ(Str(n.local), (std::vector<std::string>{"fd01:2::9", "fd01:2::/64"}));
  EXPECT_EQ(Str(n.remote), (std::vector<std::string>{"fd02:2::5", "fd02:2::/64"}));
}

TEST(Narrow, MirroredFiltersBetweenSubnetsNeverNameThePeersSubnetAsOurs) {
  // A mirrored filter kept both ways (the pod's addresses unknown): us -> peer and peer -> us.
  const std::vector<RuleTraffic> mirrored = {Pair("10.1.0.0/16", "10.2.0.0/16"),
                                             Pair("10.2.0.0/16", "10.1.0.0/16")};
  NarrowedTraffic n = Narrow(mirrored, {Ts("0.0.0.0/0")}, {Ts("0.0.0.0/0")});
  EXPECT_EQ(Str(n.local), std::vector<std::string>{"10.1.0.0/16"});
  EXPECT_EQ(Str(n.remote), std::vector<std::string>{"10.2.0.0/16"});
  // What the peer proposes for its own side stays its side.
  n = Narrow(mirrored, {Ts("10.2.0.0/16")}, {Ts("10.1.0.0/16")});
  EXPECT_EQ(Str(n.local), std::vector<std::string>{"10.1.0.0/16"});
  EXPECT_EQ(Str(n.remote), std::vector<std::string>{"10.2.0.0/16"});
}

TEST(Narrow, PairsThatCombineShareOneAnswer) {
  // One local side, two remote ones: {A} x {B, D} is inside the policy.
  const std::vector<RuleTraffic> fan = {Pair("10.1.1.0/24", "10.2.1.0/24"),
                                        Pair("10.1.1.0/24", "10.2.2.0/24")};
  NarrowedTraffic n = Narrow(fan, {Ts("0.0.0.0/0")}, {Ts("0.0.0.0/0")});
  EXPECT_EQ(Str(n.local), std::vector<std::string>{"10.1.1.0/24"});
  EXPECT_EQ(Str(n.remote), (std::vector<std::string>{"10.2.1.0/24", "10.2.2.0/24"}));
}

TEST(Narrow, PortsAndProtocolsKeepTheirPairs) {
  // tcp/80 toward B, tcp/443 toward C: (80, C) belongs to no filter.
  const std::vector<RuleTraffic> ports = {Pair("10.1.0.1", "10.2.0.0/24", 6, 80, 0),
                                          Pair("10.1.0.1", "10.3.0.0/24", 6, 443, 0)};
  NarrowedTraffic n = Narrow(ports, {Ts("0.0.0.0/0")}, {Ts("10.1.0.1")});
  EXPECT_EQ(Str(n.local), std::vector<std::string>{"10.1.0.1[tcp/80]"});
  EXPECT_EQ(Str(n.remote), std::vector<std::string>{"10.2.0.0/24[tcp]"});
  // The initiator's first selectors name the other pair: that one.
  n = Narrow(ports, {Ts("10.3.0.4", 6, 5000, 5000)}, {Ts("10.1.0.1", 6, 443, 443)});
  EXPECT_EQ(Str(n.local), std::vector<std::string>{"10.1.0.1[tcp/443]"});
  EXPECT_EQ(Str(n.remote), std::vector<std::string>{"10.3.0.4[tcp/5000]"});
  // Different protocols combine harmlessly (no packet is both tcp and udp).
  const std::vector<RuleTraffic> protocols = {Pair("10.1.0.1", "10.2.0.0/24", 6),
                                              Pair("10.1.0.1", "10.3.0.0/24", 17)};
  n = Narrow(protocols, {Ts("0.0.0.0/0")}, {Ts("10.1.0.1")});
  EXPECT_EQ(Str(n.local), (std::vector<std::string>{"10.1.0.1[tcp]", "10.1.0.1[udp]"}));
  EXPECT_EQ(Str(n.remote), (std::vector<std::string>{"10.2.0.0/24[tcp]", "10.3.0.0/24[udp]"}));
  EXPECT_TRUE(CrossProductAllowed(protocols, n.local, n.remote));
}

TEST(Offer, OnePairAndWhatCombinesWithItThePacketFirst) {
  NarrowedTraffic o = Offer(kTwoPairs, std::nullopt);
  EXPECT_EQ(Str(o.local), std::vector<std::string>{"10.1.1.0/24"});
  EXPECT_EQ(Str(o.remote), std::vector<std::string>{"10.2.1.0/24"});
  o = Offer(kTwoPairs, RuleTraffic{Ts("10.1.2.3", 6, 40000, 40000), Ts("10.2.2.4", 6, 80, 80)});
  EXPECT_EQ(Str(o.local), (std::vector<std::string>{"10.1.2.3[tcp/40000]", "10.1.2.0/24"}));
  EXPECT_EQ(Str(o.remote), (std::vector<std::string>{"10.2.2.4[tcp/80]", "10.2.2.0/24"}));
  EXPECT_TRUE(Carries(o.local, o.remote,
                      RuleTraffic{Ts("10.1.2.3", 6, 40000, 40000), Ts("10.2.2.4", 6, 80, 80)}));
  EXPECT_FALSE(Carries(o.local, o.remote, RuleTraffic{Ts("10.1.1.3", 6), Ts("10.2.1.4", 6)}));
  EXPECT_TRUE(Offer({}, std::nullopt).local.empty());
}

TEST(BetweenEndpoints, KeepsOnlyTheTwoAddresses) {
  const std::vector<RuleTraffic> subnet = {Pair("10.1.0.0/16", "10.2.0.0/16", 6, 0, 443),
                                           Pair("fd01::/64", "fd02::/64")};
  auto t = BetweenEndpoints(subnet, *IpAddress::Parse("10.1.0.5"), *IpAddress::Parse("10.2.0.9"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(ToString(t[0].local), "10.1.0.5[tcp]");
  EXPECT_EQ(ToString(t[0].remote), "10.2.0.9[tcp/443]");
  EXPECT_TRUE(BetweenEndpoints(subnet, *IpAddress::Parse("10.9.0.5"), *IpAddress::Parse("10.2.0.9"))
                  .empty());
}

// ---- Property: random policies and requests, checked packet by packet ---------------------

// Small universes, so that every packet can be enumerated: 8 addresses per family, a few
// protocols and ports.
const std::vector<std::string> kPrefixes4 = {"10.0.0.0/29", "10.0.0.0/30", "10.0.0.4/30",
                                             "10.0.0.0/31", "10.0.0.2/31", "10.0.0.5",
                                             "10.0.0.7",    "0.0.0.0/0"};
const std::vector<std::string> kPrefixes6 = {"fd00::/125", "fd00::/126", "fd00::4/126", "fd00::3",
                                             "::/0"};
const std::vector<uint8_t> kProtocols = {0, 6, 17};
const std::vector<std::pair<uint16_t, uint16_t>> kPorts = {
    {0, 65535}, {80, 80}, {443, 443}, {80, 443}, {1024, 65535}};
const std::vector<uint16_t> kPacketPorts = {0, 80, 81, 443, 444, 1024, 65535};
const std::vector<uint8_t> kPacketProtocols = {1, 6, 17};

TrafficSelector RandomTs(std::mt19937& rng, bool v6) {
  const auto& prefixes = v6 ? kPrefixes6 : kPrefixes4;
  TrafficSelector ts = Ts(prefixes[rng() % prefixes.size()]);
  ts.protocol = kProtocols[rng() % kProtocols.size()];
  if (ts.protocol != 0) std::tie(ts.start_port, ts.end_port) = kPorts[rng() % kPorts.size()];
  return ts;
}

bool Matches(const TrafficSelector& ts, const IpAddress& a, uint8_t protocol, uint16_t port) {
  return ts.addresses.family() == a.family() && ts.addresses.first.value() <= a.value() &&
         a.value() <= ts.addresses.last.value() && (ts.protocol == 0 || ts.protocol == protocol) &&
         ts.start_port <= port && port <= ts.end_port;
}

// Every packet the SA (local x remote) carries, some filter pair allows; the SA lies inside the
// request. Independent of the code under test: it only enumerates packets.
void CheckPacketByPacket(const std::vector<RuleTraffic>& allowed, const NarrowedTraffic& n,
                         const Selectors& tsi, const Selectors& tsr) {
  auto any = [](const Selectors& list, const IpAddress& a, uint8_t p, uint16_t port) {
    return std::any_of(list.begin(), list.end(),
                       [&](const auto& ts) { return Matches(ts, a, p, port); });
  };
  for (bool v6 : {false, true}) {
    const IpAddress base = *IpAddress::Parse(v6 ? "fd00::" : "10.0.0.0");
    for (int s = 0; s < 8; ++s) {
      for (int d = 0; d < 8; ++d) {
        const IpAddress src(base.family(), base.value() + s);
        const IpAddress dst(base.family(), base.value() + d);
        for (uint8_t p : kPacketProtocols) {
          for (uint16_t sp : kPacketPorts) {
            for (uint16_t dp : kPacketPorts) {
              if (!any(n.local, src, p, sp) || !any(n.remote, dst, p, dp)) continue;
              const bool allowed_by_a_filter =
                  std::any_of(allowed.begin(), allowed.end(), [&](const RuleTraffic& t) {
                    return Matches(t.local, src, p, sp) && Matches(t.remote, dst, p, dp);
                  });
              ASSERT_TRUE(allowed_by_a_filter)
                  << "the SA " << ToString(n.local) << " <-> " << ToString(n.remote) << " carries "
                  << src.ToString() << ":" << sp << " -> " << dst.ToString() << ":" << dp
                  << " proto " << int(p) << ", which no filter allows";
              ASSERT_TRUE(tsi.empty() || (any(tsr, src, p, sp) && any(tsi, dst, p, dp)))
                  << "the answer leaves the request";
            }
          }
        }
      }
    }
  }
}

TEST(NarrowProperty, NeverACombinationOutsideThePolicy) {
  std::mt19937 rng(13);
  int answered = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<RuleTraffic> allowed;
    const int pairs = 1 + rng() % 4;
    for (int i = 0; i < pairs; ++i) {
      const bool v6 = rng() % 4 == 0;
      RuleTraffic t{RandomTs(rng, v6), RandomTs(rng, v6)};
      t.remote.protocol = t.local.protocol;  // one filter: one protocol
      if (t.local.protocol == 0) {
        t.local.start_port = t.remote.start_port = 0;
        t.local.end_port = t.remote.end_port = 65535;
      }
      allowed.push_back(t);
    }
    Selectors tsi, tsr;
    const int n_tsi = 1 + rng() % 3, n_tsr = 1 + rng() % 3;
    for (int i = 0; i < n_tsi; ++i) tsi.push_back(RandomTs(rng, rng() % 4 == 0));
    for (int i = 0; i < n_tsr; ++i) tsr.push_back(RandomTs(rng, rng() % 4 == 0));
    SCOPED_TRACE("round " + std::to_string(round) + ": TSi " + ToString(tsi) + " TSr " +
                 ToString(tsr));
    NarrowedTraffic n = Narrow(allowed, tsi, tsr);
    if (!n.local.empty()) ++answered;
    EXPECT_EQ(n.local.empty(), n.remote.empty());
    EXPECT_TRUE(CrossProductAllowed(allowed, n.local, n.remote));
    ASSERT_NO_FATAL_FAILURE(CheckPacketByPacket(allowed, n, tsi, tsr));
    // §2.9: when a pair holds the first selectors, the answer carries them.
    const RuleTraffic first{tsr[0], tsi[0]};
    if (std::any_of(allowed.begin(), allowed.end(),
                    [&](const RuleTraffic& t) { return Carries({t.local}, {t.remote}, first); })) {
      EXPECT_TRUE(Carries(n.local, n.remote, first));
    }
    // Our own offer for the same policy, with and without a packet.
    NarrowedTraffic o = Offer(allowed, std::nullopt);
    EXPECT_FALSE(o.local.empty());
    ASSERT_NO_FATAL_FAILURE(CheckPacketByPacket(allowed, o, {}, {}));
    RuleTraffic packet{tsr[0], tsi[0]};
    o = Offer(allowed, packet);
    ASSERT_NO_FATAL_FAILURE(CheckPacketByPacket(allowed, o, {}, {}));
  }
  EXPECT_GT(answered, 100);  // the generator overlaps often enough to mean something
}

}  // namespace
}  // namespace ipsec::engine::ike
