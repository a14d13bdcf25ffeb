// RFC 7296 §2.9 between two in-process peers: a child SA carries every combination of its TSi
// and TSr selectors, so what the responder answers, what the initiator offers and accepts, and
// what each data path gets (its policies) keep every (local, remote) combination inside one
// filter pair of the rule. Pairs that cannot share a child SA get their own when their traffic
// asks (an acquire). The default response rule (FAQ 19) narrows to the two IKE endpoints, so a
// server's SA with one client never carries its traffic with a third host.
#include <gtest/gtest.h>

#include "engine/ike/traffic_selectors.h"
#include "engine/policy/templates.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using dataplane::BackendEvents;
using dataplane::TrafficSelector;
using testing::Datagram;
using testing::IkePeer;
using testing::TwoPeers;

TrafficSelector Ts(const std::string& range) {
  const auto slash = range.find('/');
  const IpAddress a = *IpAddress::Parse(range.substr(0, slash));
  return TrafficSelector{slash == std::string::npos
                             ? IpRange::Single(a)
                             : IpRange::FromPrefix(a, std::stoi(range.substr(slash + 1)))};
}

// Rule "r" in tunnel mode to `endpoint` with these (local, remote) pairs; filter entries 7
// (ours) so that acquires name it.
std::shared_ptr<IkeConfig> PairsConfig(
    const std::string& endpoint, const std::vector<std::pair<std::string, std::string>>& pairs,
    const std::string& psk = "secret") {
  auto c = testing::SimpleConfig("10.1.0.1", endpoint, psk);
  c->rules[0].traffic.clear();
  for (const auto& [l, r] : pairs) c->rules[0].traffic.push_back({Ts(l), Ts(r)});
  c->rules[0].filter_entries = {7};
  return c;
}

NegotiateRule DefaultResponse(const std::string& psk) {
  NegotiateRule d;
  d.name = "default-response";
  d.dynamic_traffic = true;
  d.credentials.push_back({policy::AuthKind::kPreSharedKey, SecretBytes(psk), ""});
  d.security_methods = policy::DefaultSecurityMethods();
  return d;
}

BackendEvents::Acquire Packet(const std::string& from, const std::string& to, uint32_t entry,
                              uint16_t sport = 40000, uint16_t dport = 443) {
  BackendEvents::Acquire a;
  a.source = *IpAddress::Parse(from);
  a.destination = *IpAddress::Parse(to);
  a.protocol = 6;
  a.source_port = sport;
  a.destination_port = dport;
  a.filter_entry = entry;
  return a;
}

// Every policy `peer`'s data path got keeps its combinations inside `allowed`; returns how many
// child SAs (outbound policies) it has.
size_t ChildrenInsidePolicy(IkePeer& peer, const std::vector<RuleTraffic>& allowed) {
  size_t children = 0;
  for (const auto& p : peer.backend.Policies()) {
    EXPECT_TRUE(CrossProductAllowed(allowed, p.local_ts, p.remote_ts))
        << peer.address.ToString() << " reqid " << p.reqid << ": " << ToString(p.local_ts)
        << " <-> " << ToString(p.remote_ts) << "\n"
        << peer.observer.Log();
    children += p.direction == dataplane::SaDirection::kOutbound;
  }
  return children;
}

// Tunnel mode negotiations the data path starts run IKE from the peer's own address, not the
// packet's inner source (IkeManager::Options::local_address_for), as the service sets it up.
void RunIkeFromOwnAddress(IkePeer& peer) {
  IkeManager::Options o;
  o.random = &peer.random;
  o.observer = &peer.observer;
  o.sink = &peer;
  o.backend = &peer.backend;
  o.clock = &peer.clock;
  o.local_address_for = [address = peer.address](const IpAddress&) { return address; };
  peer.manager = std::make_unique<IkeManager>(o);
}

class NarrowingTest : public ::testing::Test {
 protected:
  NarrowingTest() { RunIkeFromOwnAddress(net_.a); }
  Result<IkeManager::AcquireResult> Acquire(IkePeer& peer, const BackendEvents::Acquire& a) {
    return peer.manager->OnAcquire(a, net_.now);
  }
  TwoPeers net_;
};

// A <-> B and C <-> D in one rule: one child SA each, never {A, C} x {B, D} (which carries
// A <-> D, allowed by no filter). IPv4 and IPv6 inner subnets.
TEST_F(NarrowingTest, TwoPairsGetAChildSaEachOnTrafficNeverTheirCrossProduct) {
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> pairs;
    std::string second_src, second_dst;
  };
  for (const Case& c : {Case{"ipv4",
                             {{"10.11.1.0/24", "10.22.1.0/24"}, {"10.11.2.0/24", "10.22.2.0/24"}},
                             "10.11.2.5",
                             "10.22.2.9"},
                        Case{"ipv6",
                             {{"fd11:1::/64", "fd22:1::/64"}, {"fd11:2::/64", "fd22:2::/64"}},
                             "fd11:2::5",
                             "fd22:2::9"}}) {
    SCOPED_TRACE(c.name);
    TwoPeers net;
    RunIkeFromOwnAddress(net.a);
    auto a = PairsConfig("10.2.0.1", c.pairs);
    std::vector<std::pair<std::string, std::string>> mirror;
    for (const auto& [l, r] : c.pairs) mirror.push_back({r, l});
    auto b = PairsConfig("10.1.0.1", mirror);
    net.a.manager->SetConfig(a);
    net.b.manager->SetConfig(b);
    ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
    net.DeliverAll();
    ASSERT_EQ(net.b.observer.child_up, 1) << net.b.observer.Log();
    auto first = net.a.manager->Snapshot(net.now)[0].children;
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].local_ts, std::vector<std::string>{c.pairs[0].first});
    EXPECT_EQ(first[0].remote_ts, std::vector<std::string>{c.pairs[0].second});
    // The second pair's traffic asks for its own child SA on the same IKE SA.
    auto r = net.a.manager->OnAcquire(Packet(c.second_src, c.second_dst, 7), net.now);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->sa, "ike-1");
    EXPECT_TRUE(r->started);
    net.DeliverAll();
    EXPECT_EQ(net.a.manager->sa_count(), 1u);
    auto children = net.a.manager->Snapshot(net.now)[0].children;
    ASSERT_EQ(children.size(), 2u) << net.a.observer.Log() << net.b.observer.Log();
    EXPECT_EQ(children[1].local_ts,
              (std::vector<std::string>{c.second_src + "[tcp/40000]", c.pairs[1].first}));
    EXPECT_EQ(children[1].remote_ts,
              (std::vector<std::string>{c.second_dst + "[tcp/443]", c.pairs[1].second}));
    // More of its traffic: carried, nothing new.
    r = net.a.manager->OnAcquire(Packet(c.second_src, c.second_dst, 7, 40001, 80), net.now);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->started);
    EXPECT_TRUE(net.wire.empty());
    EXPECT_EQ(ChildrenInsidePolicy(net.a, a->rules[0].traffic), 2u);
    EXPECT_EQ(ChildrenInsidePolicy(net.b, b->rules[0].traffic), 2u);
  }
}

// A packet of the second pair while IKE_SA_INIT/IKE_AUTH are still under way: its child SA is
// queued behind them, not forgotten.
TEST_F(NarrowingTest, SecondPairsTrafficDuringTheFirstNegotiationGetsItsChildSaToo) {
  const std::vector<std::pair<std::string, std::string>> pairs = {{"10.11.1.0/24", "10.22.1.0/24"},
                                                                  {"10.11.2.0/24", "10.22.2.0/24"}};
  auto a = PairsConfig("10.2.0.1", pairs);
  net_.a.manager->SetConfig(a);
  net_.b.manager->SetConfig(PairsConfig(
      "10.1.0.1", {{pairs[0].second, pairs[0].first}, {pairs[1].second, pairs[1].first}}));
  auto first = Acquire(net_.a, Packet("10.11.1.5", "10.22.1.9", 7));
  ASSERT_TRUE(first.ok() && first->started);
  auto second = Acquire(net_.a, Packet("10.11.2.5", "10.22.2.9", 7));
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_EQ(second->sa, first->sa);
  // A packet of the first pair again: the offer under way carries it.
  auto again = Acquire(net_.a, Packet("10.11.1.6", "10.22.1.9", 7));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->started);
  net_.DeliverAll();
  EXPECT_EQ(ChildrenInsidePolicy(net_.a, a->rules[0].traffic), 2u) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.child_up, 2) << net_.b.observer.Log();
}

// Our initiator offers everything (0.0.0.0/0 both ways); the responder's rule has two pairs:
// it answers one pair, the one holding our first selectors (the packet) when there is one.
TEST_F(NarrowingTest, ResponderNarrowsAWideOfferToOnePairPreferringTheFirstSelectors) {
  const std::vector<std::pair<std::string, std::string>> pairs = {{"10.22.1.0/24", "10.11.1.0/24"},
                                                                  {"10.22.2.0/24", "10.11.2.0/24"}};
  auto b = PairsConfig("10.1.0.1", pairs);
  for (bool with_packet : {false, true}) {
    SCOPED_TRACE(with_packet ? "acquire in the second pair" : "initiate");
    TwoPeers net;
    RunIkeFromOwnAddress(net.a);
    net.a.manager->SetConfig(PairsConfig("10.2.0.1", {{"0.0.0.0/0", "0.0.0.0/0"}}));
    net.b.manager->SetConfig(b);
    if (with_packet) {
      ASSERT_TRUE(net.a.manager->OnAcquire(Packet("10.11.2.5", "10.22.2.9", 7), net.now).ok());
    } else {
      ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
    }
    net.DeliverAll();
    auto s = net.b.manager->Snapshot(net.now);
    ASSERT_EQ(s.size(), 1u);
    ASSERT_EQ(s[0].children.size(), 1u) << net.b.observer.Log();
    const auto& child = s[0].children[0];
    if (with_packet) {
      EXPECT_EQ(child.local_ts, (std::vector<std::string>{"10.22.2.9[tcp/443]", "10.22.2.0/24"}));
      EXPECT_EQ(child.remote_ts,
                (std::vector<std::string>{"10.11.2.5[tcp/40000]", "10.11.2.0/24"}));
    } else {
      EXPECT_EQ(child.local_ts, std::vector<std::string>{"10.22.1.0/24"});
      EXPECT_EQ(child.remote_ts, std::vector<std::string>{"10.11.1.0/24"});
    }
    EXPECT_EQ(ChildrenInsidePolicy(net.b, b->rules[0].traffic), 1u);
    // The initiator installed exactly what the responder answered.
    auto ours = net.a.manager->Snapshot(net.now)[0].children;
    ASSERT_EQ(ours.size(), 1u);
    EXPECT_EQ(ours[0].local_ts, child.remote_ts);
    EXPECT_EQ(ours[0].remote_ts, child.local_ts);
  }
}

// Mirrored filters between two explicit subnets, kept both ways (the pod's addresses unknown):
// neither side's SA names the other's subnet as its own.
TEST_F(NarrowingTest, MirroredSubnetFiltersNeverPutThePeersSubnetOnOurSide) {
  auto a =
      PairsConfig("10.2.0.1", {{"10.11.0.0/16", "10.22.0.0/16"}, {"10.22.0.0/16", "10.11.0.0/16"}});
  auto b =
      PairsConfig("10.1.0.1", {{"10.22.0.0/16", "10.11.0.0/16"}, {"10.11.0.0/16", "10.22.0.0/16"}});
  net_.a.manager->SetConfig(a);
  net_.b.manager->SetConfig(b);
  ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  net_.DeliverAll();
  auto children = net_.a.manager->Snapshot(net_.now)[0].children;
  ASSERT_EQ(children.size(), 1u) << net_.a.observer.Log() << net_.b.observer.Log();
  EXPECT_EQ(children[0].local_ts, std::vector<std::string>{"10.11.0.0/16"});
  EXPECT_EQ(children[0].remote_ts, std::vector<std::string>{"10.22.0.0/16"});
  EXPECT_EQ(ChildrenInsidePolicy(net_.a, a->rules[0].traffic), 1u);
  EXPECT_EQ(ChildrenInsidePolicy(net_.b, b->rules[0].traffic), 1u);
}

// FAQ 19: the default response rule's dynamic filters are the two IKE endpoints, whatever the
// initiator proposes (here its whole subnets, in tunnel mode).
TEST_F(NarrowingTest, DefaultResponseNarrowsToTheTwoIkeEndpoints) {
  net_.a.manager->SetConfig(PairsConfig("10.2.0.1", {{"10.1.0.0/16", "10.2.0.0/16"}}));
  auto client = std::make_shared<IkeConfig>();
  client->ike_proposals = policy::DefaultIkeProposals();
  client->default_response = DefaultResponse("secret");
  net_.b.manager->SetConfig(client);
  ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  net_.DeliverAll();
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(b[0].children.size(), 1u) << net_.b.observer.Log();
  EXPECT_EQ(b[0].rule, "default-response");
  EXPECT_EQ(b[0].children[0].local_ts, std::vector<std::string>{"10.2.0.1"});
  EXPECT_EQ(b[0].children[0].remote_ts, std::vector<std::string>{"10.1.0.1"});
  auto a = net_.a.manager->Snapshot(net_.now)[0].children;
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].local_ts, std::vector<std::string>{"10.1.0.1"});
  EXPECT_EQ(a[0].remote_ts, std::vector<std::string>{"10.2.0.1"});
  // Traffic the initiator proposed that does not involve the endpoints is refused.
  TwoPeers net;
  net.a.manager->SetConfig(PairsConfig("10.2.0.1", {{"10.9.0.0/16", "10.8.0.0/16"}}));
  net.b.manager->SetConfig(client);
  ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
  net.DeliverAll();
  EXPECT_TRUE(net.b.observer.Failed(FailureReason::kTsUnacceptable)) << net.b.observer.Log();
  EXPECT_TRUE(net.b.backend.Policies().empty());
}

// docs/examples: a respond-only server (FAQ 17: "accept unsecured communication, but always
// respond using IPsec", transport mode, me -> the clients' /16) and a client with only its
// default response rule, plus a third host of that /16 without IPsec. The server's SA with the
// client carries client <-> server only: its replies to the third host are not sent to the
// client, and the third host's packet starts a negotiation with the third host (which never
// answers), as docs/ike.md says.
TEST_F(NarrowingTest, RespondOnlyServerAndDefaultResponseClientLeaveAThirdHostAlone) {
  auto server = std::make_shared<IkeConfig>();
  server->ike_proposals = policy::DefaultIkeProposals();
  NegotiateRule clients;
  clients.name = "clients";
  clients.credentials.push_back({policy::AuthKind::kPreSharedKey, SecretBytes("secret"), ""});
  clients.security_methods = policy::DefaultSecurityMethods();
  clients.accept_unsecured = true;  // FAQ 17; no tunnel endpoint: transport mode
  clients.traffic.push_back({Ts("10.2.0.1"), Ts("10.1.0.0/16")});
  clients.filter_entries = {3, 4};
  server->rules.push_back(clients);
  net_.b.manager->SetConfig(server);
  auto client = std::make_shared<IkeConfig>();
  client->ike_proposals = policy::DefaultIkeProposals();
  client->default_response = DefaultResponse("secret");
  net_.a.manager->SetConfig(client);
  const IpAddress third = *IpAddress::Parse("10.1.0.7");
  net_.filter = [&](const Datagram& d) { return d.to.address != third; };  // no IPsec there

  // The client's first packet reaches the server in clear; the server negotiates with it.
  auto r = Acquire(net_.b, Packet("10.1.0.1", "10.2.0.1", 4, 40000, 443));
  ASSERT_TRUE(r.ok() && r->started) << (r.ok() ? "" : r.error().ToString());
  net_.DeliverAll();
  ASSERT_EQ(net_.a.observer.child_up, 1) << net_.a.observer.Log();
  auto s = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].children.size(), 1u);
  EXPECT_EQ(s[0].children[0].local_ts, (std::vector<std::string>{"10.2.0.1[tcp/443]", "10.2.0.1"}));
  EXPECT_EQ(s[0].children[0].remote_ts,
            (std::vector<std::string>{"10.1.0.1[tcp/40000]", "10.1.0.1"}));
  // The server's data path: no policy of the SA with the client holds the third host.
  for (const auto& p : net_.b.backend.Policies()) {
    for (const auto& ts : p.remote_ts) {
      EXPECT_FALSE(ts.addresses.Contains(third)) << ToString(p.remote_ts);
    }
  }
  auto c = net_.a.manager->Snapshot(net_.now)[0].children;
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].local_ts, (std::vector<std::string>{"10.1.0.1[tcp/40000]", "10.1.0.1"}));
  EXPECT_EQ(c[0].remote_ts, (std::vector<std::string>{"10.2.0.1[tcp/443]", "10.2.0.1"}));

  // The third host's packet: a negotiation with the third host, not the client's SA.
  r = Acquire(net_.b, Packet("10.1.0.7", "10.2.0.1", 4, 40000, 443));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->started);
  EXPECT_NE(r->sa, s[0].id);
  ASSERT_FALSE(net_.wire.empty());
  EXPECT_EQ(net_.wire.back().to.address, third);
  net_.DeliverAll();
  for (const auto& sa : net_.b.manager->Snapshot(net_.now)) {
    EXPECT_EQ(sa.children.size(), sa.id == s[0].id ? 1u : 0u) << sa.id;
  }
  EXPECT_EQ(net_.a.observer.child_up, 1);
}

// The initiator's own offer in transport mode: only between the two IKE endpoints, whatever
// subnet the rule names (RFC 4301 §4.1), even toward a responder that would accept more.
TEST_F(NarrowingTest, TransportModeOfferIsBetweenTheEndpoints) {
  auto wide = [](const std::string& peer) {
    auto c = PairsConfig(peer, {{"10.0.0.0/8", "10.0.0.0/8"}, {"fd00::/8", "fd00::/8"}});
    c->rules[0].tunnel_endpoint.reset();
    return c;
  };
  net_.a.manager->SetConfig(wide("10.2.0.1"));
  net_.b.manager->SetConfig(wide("10.1.0.1"));
  ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  net_.DeliverAll();
  for (IkePeer* p : {&net_.a, &net_.b}) {
    auto s = p->manager->Snapshot(net_.now);
    ASSERT_EQ(s.size(), 1u);
    ASSERT_EQ(s[0].children.size(), 1u) << p->observer.Log();
    EXPECT_EQ(s[0].children[0].mode, "transport");
    EXPECT_EQ(s[0].children[0].local_ts,
              std::vector<std::string>{p == &net_.a ? "10.1.0.1" : "10.2.0.1"});
    EXPECT_EQ(s[0].children[0].remote_ts,
              std::vector<std::string>{p == &net_.a ? "10.2.0.1" : "10.1.0.1"});
  }
}

}  // namespace
}  // namespace ipsec::engine::ike
