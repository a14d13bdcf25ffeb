// The FAQ's negotiation behaviours (FAQ 16-19) against the RecordingBackend: negotiate on the
// first packet that needs an SA (an acquire), fall back to clear when the peer does not answer,
// accept an unsecured inbound packet and answer with a negotiation, and the default response
// rule answering it.
#include <gtest/gtest.h>

#include "engine/ike/auth_cert.h"
#include "engine/ike/config_builder.h"
#include "engine/policy/compiler.h"
#include "engine/policy/templates.h"
#include "tests/engine/crypto/test_pki.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using namespace std::chrono_literals;
using dataplane::BackendEvents;
using testing::Datagram;
using testing::IkePeer;
using testing::TwoPeers;

// What the service does with the data path's events: hand them to the IKE engine (on its
// thread; here, the test's).
class ForwardAcquires final : public BackendEvents {
 public:
  ForwardAcquires(IkePeer& peer, TwoPeers& net) : peer_(peer), net_(net) {}
  void OnAcquire(const Acquire& acquire) override {
    results.push_back(peer_.manager->OnAcquire(acquire, net_.now));
  }
  void OnExpire(dataplane::SaProtocol, uint32_t, bool) override {}
  std::vector<Result<IkeManager::AcquireResult>> results;

 private:
  IkePeer& peer_;
  TwoPeers& net_;
};

BackendEvents::Acquire Packet(const char* from, const char* to, uint32_t entry,
                              uint8_t protocol = 6, uint16_t sport = 40000, uint16_t dport = 80) {
  BackendEvents::Acquire a;
  a.source = *IpAddress::Parse(from);
  a.destination = *IpAddress::Parse(to);
  a.protocol = protocol;
  a.source_port = sport;
  a.destination_port = dport;
  a.filter_entry = entry;
  return a;
}

NegotiateRule DefaultResponse(const std::string& psk) {
  NegotiateRule d;
  d.name = "default-response";
  d.dynamic_traffic = true;
  d.credentials.push_back({policy::AuthKind::kPreSharedKey, SecretBytes(psk), ""});
  d.security_methods = policy::DefaultSecurityMethods();
  return d;
}

class AcquireTest : public ::testing::Test {
 protected:
  AcquireTest() : a_events_(net_.a, net_), b_events_(net_.b, net_) {
    net_.a.backend.SetEvents(&a_events_);
    net_.b.backend.SetEvents(&b_events_);
  }
  // A: rule "r" from filter entries 7 (outbound) and 8 (inbound); B: the mirror rule.
  std::shared_ptr<IkeConfig> ConfigA() {
    auto a = testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret");
    a->rules[0].filter_entries = {7, 8};
    return a;
  }
  void ConfigureB() {
    net_.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret"));
  }
  const IkeManager::AcquireResult& Last(ForwardAcquires& events) {
    EXPECT_FALSE(events.results.empty());
    EXPECT_TRUE(events.results.back().ok()) << events.results.back().error().ToString();
    return *events.results.back();
  }

  TwoPeers net_;
  ForwardAcquires a_events_;
  ForwardAcquires b_events_;
};

TEST_F(AcquireTest, FirstPacketStartsTheNegotiationOfItsRule) {
  net_.a.manager->SetConfig(ConfigA());
  ConfigureB();
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 7)));
  const auto& first = Last(a_events_);
  EXPECT_TRUE(first.started);
  EXPECT_FALSE(first.clear);
  EXPECT_EQ(first.sa, "ike-1");
  // More packets before the SA is up join the negotiation under way.
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 7, 6, 40001, 80)));
  EXPECT_FALSE(Last(a_events_).started);
  EXPECT_EQ(Last(a_events_).sa, "ike-1");
  net_.DeliverAll();
  ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  ASSERT_EQ(net_.b.observer.child_up, 1) << net_.b.observer.Log();
  auto s = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].rule, "r");
  EXPECT_EQ(s[0].remote, "10.2.0.1:500");
  EXPECT_EQ(net_.a.backend.Sas().size(), 2u);
  EXPECT_EQ(net_.a.manager->Statistics().acquires_total, 2u);
}

// Tunnel mode between inner addresses: the packet's source (10.199.1.1) is not where IKE runs;
// the IKE SA goes between our address toward the tunnel endpoint and the endpoint.
TEST_F(AcquireTest, TunnelModeAcquireRunsIkeFromOurAddressTowardTheEndpoint) {
  auto inner = [](const char* local, const char* remote, const char* endpoint) {
    auto c = testing::SimpleConfig(local, remote, "secret");
    c->rules[0].tunnel_endpoint = IpAddress::Parse(endpoint);
    c->rules[0].filter_entries = {7, 8};
    return c;
  };
  IkeManager::Options o;
  o.random = &net_.a.random;
  o.observer = &net_.a.observer;
  o.sink = &net_.a;
  o.backend = &net_.a.backend;
  o.clock = &net_.a.clock;
  std::vector<IpAddress> asked;
  o.local_address_for = [&](const IpAddress& peer) -> std::optional<IpAddress> {
    asked.push_back(peer);
    return IpAddress::Parse("10.1.0.1");
  };
  net_.a.manager = std::make_unique<IkeManager>(o);
  net_.a.manager->SetConfig(inner("10.199.1.1", "10.199.2.1", "10.2.0.1"));
  net_.b.manager->SetConfig(inner("10.199.2.1", "10.199.1.1", "10.1.0.1"));
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.199.1.1", "10.199.2.1", 7)));
  EXPECT_TRUE(Last(a_events_).started);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].ToString(), "10.2.0.1");
  net_.DeliverAll();
  ASSERT_EQ(net_.b.observer.child_up, 1) << net_.b.observer.Log();
  auto s = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].local, "10.1.0.1:500");
  EXPECT_EQ(s[0].remote, "10.2.0.1:500");
  ASSERT_EQ(s[0].children.size(), 1u);
  // §2.9: the packet's selector first, then the rule's.
  EXPECT_EQ(s[0].children[0].local_ts,
            (std::vector<std::string>{"10.199.1.1[tcp/40000]", "10.199.1.1"}));
}

TEST_F(AcquireTest, AcquiresThatNoRuleOwnsAreRefused) {
  net_.a.manager->SetConfig(ConfigA());
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 99)));
  ASSERT_FALSE(a_events_.results.back().ok());
  EXPECT_EQ(a_events_.results.back().error().code, ErrorCode::kNotFound);
  // An entry of the rule, but traffic the rule does not cover.
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.7.0.1", 7)));
  ASSERT_FALSE(a_events_.results.back().ok());
  EXPECT_EQ(net_.a.manager->sa_count(), 0u);
  EXPECT_TRUE(net_.wire.empty());
}

TEST_F(AcquireTest, InboundUnsecuredPacketIsRefusedUnlessTheRuleAcceptsIt) {
  net_.a.manager->SetConfig(ConfigA());
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.2.0.1", "10.1.0.1", 8)));
  ASSERT_FALSE(a_events_.results.back().ok());
  EXPECT_EQ(a_events_.results.back().error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(a_events_.results.back().error().message.find("does not accept unsecured"),
            std::string::npos);
  EXPECT_TRUE(net_.wire.empty());
}

// FAQ 17 with FAQ 19: the server accepts the client's first packet in clear and answers with
// a negotiation; the client has no rule for the server, only its default response rule.
TEST_F(AcquireTest, AcceptUnsecuredAnswersWithANegotiationTheDefaultResponseRuleAccepts) {
  auto server = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  server->rules[0].accept_unsecured = true;
  server->rules[0].filter_entries = {3, 4};
  net_.b.manager->SetConfig(server);
  auto client = std::make_shared<IkeConfig>();
  client->ike_proposals = policy::DefaultIkeProposals();
  client->default_response = DefaultResponse("secret");
  net_.a.manager->SetConfig(client);
  // The client's packet reaches the server unsecured (inbound for the server's rule).
  ASSERT_TRUE(net_.b.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 4, 6, 40000, 443)));
  const auto& r = Last(b_events_);
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.clear);
  net_.DeliverAll();
  ASSERT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
  ASSERT_EQ(net_.a.observer.child_up, 1) << net_.a.observer.Log();
  auto server_view = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(server_view.size(), 1u);
  EXPECT_EQ(server_view[0].role, "initiator");
  EXPECT_EQ(server_view[0].rule, "r");
  EXPECT_EQ(server_view[0].remote, "10.1.0.1:500");
  auto client_view = net_.a.manager->Snapshot(net_.now);
  ASSERT_EQ(client_view.size(), 1u);
  EXPECT_EQ(client_view[0].rule, "default-response");
  EXPECT_EQ(client_view[0].role, "responder");
  // The child SA secures the packet's flow (RFC 7296 §2.9: its selectors come first) and the
  // rest of the rule's traffic, which the default response rule takes as proposed.
  ASSERT_EQ(client_view[0].children.size(), 1u);
  EXPECT_EQ(client_view[0].children[0].local_ts,
            (std::vector<std::string>{"10.1.0.1[tcp/40000]", "10.1.0.1"}));
  EXPECT_EQ(client_view[0].children[0].remote_ts,
            (std::vector<std::string>{"10.2.0.1[tcp/443]", "10.2.0.1"}));
}

TEST_F(AcquireTest, DefaultResponseDeactivatedLeavesTheRequestUnanswered) {
  auto server = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  server->rules[0].accept_unsecured = true;
  server->rules[0].filter_entries = {4};
  net_.b.manager->SetConfig(server);
  auto client = std::make_shared<IkeConfig>();
  client->ike_proposals = policy::DefaultIkeProposals();
  net_.a.manager->SetConfig(client);  // no rule, no default response
  ASSERT_TRUE(net_.b.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 4)));
  net_.DeliverAll();
  EXPECT_EQ(net_.b.observer.ike_up, 0);
  EXPECT_TRUE(net_.a.observer.Failed(FailureReason::kAuthenticationFailed))
      << net_.a.observer.Log();
}

TEST_F(AcquireTest, FallsBackToClearWhenThePeerDoesNotAnswer) {
  auto a = ConfigA();
  a->rules[0].allow_fallback_to_clear = true;
  a->timers.fallback_wait = 3000ms;
  net_.a.manager->SetConfig(a);
  net_.filter = [](const Datagram&) { return false; };  // B is not IPsec-aware: no answer
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 7)));
  EXPECT_TRUE(Last(a_events_).started);
  net_.Advance(2999ms);
  EXPECT_EQ(net_.a.manager->sa_count(), 1u);  // still negotiating (retransmitting)
  EXPECT_TRUE(net_.a.manager->ClearFallbacks(net_.now).empty());
  net_.Advance(1ms);
  EXPECT_EQ(net_.a.manager->sa_count(), 0u);
  EXPECT_EQ(net_.a.observer.fallbacks, 1);
  EXPECT_EQ(net_.a.manager->Statistics().fallbacks_to_clear_total, 1u);
  auto clear = net_.a.manager->ClearFallbacks(net_.now);
  ASSERT_EQ(clear.size(), 1u);
  EXPECT_EQ(clear[0].rule, "r");
  EXPECT_EQ(clear[0].peer, "10.2.0.1");
  EXPECT_EQ(clear[0].expire_in_seconds, 300);  // FAQ 55: the idle timeout
  EXPECT_NE(net_.a.observer.Log().find("falls back to clear"), std::string::npos);
  // The data path is told: the peer's own address (transport mode), until the idle timeout.
  auto told = net_.a.backend.ClearFallbacks();
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].rule, "r");
  EXPECT_EQ(told[0].peer.ToString(), "10.2.0.1");
  ASSERT_EQ(told[0].destinations.size(), 1u);
  EXPECT_EQ(told[0].destinations[0].ToString(), "10.2.0.1");
  EXPECT_EQ(told[0].until - net_.now, std::chrono::seconds(300));
  // Meanwhile the traffic goes in clear: no negotiation, nothing sent.
  net_.wire.clear();
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 7)));
  EXPECT_TRUE(Last(a_events_).clear);
  EXPECT_FALSE(Last(a_events_).started);
  EXPECT_TRUE(net_.wire.empty());
  // After the idle timeout the next packet tries IPsec again.
  net_.Advance(300s);
  EXPECT_TRUE(net_.a.manager->ClearFallbacks(net_.now).empty());
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 7)));
  EXPECT_TRUE(Last(a_events_).started);
  EXPECT_EQ(net_.a.observer.fallbacks_ended, 1);
  EXPECT_TRUE(net_.a.backend.ClearFallbacks().empty());
}

TEST_F(AcquireTest, NoFallbackWithoutTheOptionOrOnceThePeerAnswered) {
  // Without the option: the negotiation keeps retransmitting past the wait.
  net_.a.manager->SetConfig(ConfigA());
  net_.filter = [](const Datagram&) { return false; };
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 7)));
  net_.Advance(3500ms);
  EXPECT_EQ(net_.a.manager->sa_count(), 1u);
  EXPECT_EQ(net_.a.observer.fallbacks, 0);

  // With it, a peer that answered IKE_SA_INIT is IPsec-aware: a slow IKE_AUTH is no reason.
  TwoPeers net;
  ForwardAcquires events(net.a, net);
  net.a.backend.SetEvents(&events);
  auto a = ConfigA();
  a->rules[0].allow_fallback_to_clear = true;
  net.a.manager->SetConfig(a);
  net.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret"));
  int delivered = 0;
  net.filter = [&delivered](const Datagram&) { return ++delivered <= 2; };  // IKE_SA_INIT only
  ASSERT_TRUE(net.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", 7)));
  net.DeliverAll();
  net.Advance(3500ms);
  EXPECT_EQ(net.a.manager->sa_count(), 1u);
  EXPECT_EQ(net.a.observer.fallbacks, 0);
  EXPECT_TRUE(net.a.manager->ClearFallbacks(net.now).empty());
}

// From a policy to an acquire: the "request security" template (FAQ 12) compiled to the filter
// table, built into IkeConfig with a certificate method, and an acquire naming one of the
// table's entries.
TEST_F(AcquireTest, RequestSecurityTemplateFromPolicyToAcquire) {
  policy::AuthMethod cert;
  cert.kind = policy::AuthKind::kCertificate;
  cert.certificate_authority = "corp";
  auto p = policy::MakeTemplate("request-security", "server", {cert});
  ASSERT_TRUE(p.has_value());
  policy::CompileContext context;
  context.interfaces.push_back({"eth0", {{*IpAddress::Parse("10.1.0.1"), 24}}});
  auto table = policy::CompilePolicy(*p, context);
  ASSERT_TRUE(table.ok()) << table.error().ToString();
  crypto::testing::TestChain chain = crypto::testing::MakeChain(crypto::testing::KeyKind::kEcP256);
  ConfigBuildOptions options;
  options.load_certificates = [&chain](std::vector<std::string>*) {
    CertificateStore store;
    store.trust_bundles["corp"] = {chain.root.cert};
    store.local.push_back(std::make_shared<LocalCertificate>(
        LocalCertificate{"pod", {chain.leaf.cert, chain.intermediate.cert}, chain.leaf.key}));
    return store;
  };
  std::vector<std::string> warnings;
  auto config = BuildIkeConfig(*p, *table, options, &warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  ASSERT_EQ(config->rules.size(), 1u);
  const NegotiateRule& rule = config->rules[0];
  EXPECT_TRUE(rule.accept_unsecured);
  EXPECT_TRUE(rule.allow_fallback_to_clear);
  ASSERT_EQ(rule.credentials.size(), 1u);
  EXPECT_TRUE(CertificateUsable(rule.credentials[0]));
  // The outbound negotiate entry of the rule.
  uint32_t outbound = 0, inbound = 0;
  for (const auto& e : table->entries) {
    if (e.action != policy::Action::kNegotiate || e.origin.rule != rule.name) continue;
    if (e.destination.Contains(*IpAddress::Parse("10.2.0.1"))) {
      (e.direction == policy::Direction::kOutbound ? outbound : inbound) = e.id;
    }
    if (e.source.Contains(*IpAddress::Parse("10.2.0.1"))) {
      (e.direction == policy::Direction::kOutbound ? outbound : inbound) = e.id;
    }
  }
  ASSERT_NE(outbound, 0u);
  ASSERT_NE(inbound, 0u);
  EXPECT_EQ(config->FindRuleByFilterEntry(outbound), &rule);
  EXPECT_EQ(config->FindRuleByFilterEntry(inbound), &rule);
  net_.a.manager->SetConfig(config);
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.1.0.1", "10.2.0.1", outbound)));
  EXPECT_TRUE(Last(a_events_).started);
  ASSERT_EQ(net_.wire.size(), 1u);  // IKE_SA_INIT to 10.2.0.1
  EXPECT_EQ(net_.wire.front().to, net_.b.endpoint());
  // An unsecured packet from another peer is accepted too (FAQ 17): a second negotiation.
  ASSERT_TRUE(net_.a.backend.FireAcquire(Packet("10.3.0.1", "10.1.0.1", inbound)));
  EXPECT_TRUE(Last(a_events_).started);
  EXPECT_EQ(net_.a.manager->sa_count(), 2u);
  // A configured identity the certificate does not name is warned about at build time.
  options.local_identity = *Identity::Parse("@other.example");
  std::vector<std::string> id_warnings;
  BuildIkeConfig(*p, *table, options, &id_warnings);
  ASSERT_EQ(id_warnings.size(), 2u);  // the rule and the default response rule
  for (const auto& w : id_warnings) {
    EXPECT_NE(w.find("our identity other.example is not named by certificate 'pod'"),
              std::string::npos)
        << w;
  }
  options.local_identity = *Identity::Parse("@peer.example");
  id_warnings.clear();
  BuildIkeConfig(*p, *table, options, &id_warnings);
  EXPECT_TRUE(id_warnings.empty());
}

// A mirrored filter between two explicit addresses compiles to an outbound entry each way; the
// reversed one (peer -> us) never matches a packet of ours, so it does not widen the rule's
// traffic (our TSi/TSr, RFC 7296 §2.9) with the peer's address as ours. Written from the peer's
// side, the reversed copy is the one kept. With the pod's addresses unknown, or neither side
// one of them, both are kept.
TEST(ConfigBuild, MirroredFilterBetweenTwoAddressesKeepsOnlyTrafficFromOurs) {
  const IpAddress us = *IpAddress::Parse("10.1.0.1"), peer = *IpAddress::Parse("10.2.0.1");
  auto traffic_of = [&](const IpAddress& source, const IpAddress& destination,
                        bool interfaces_known, bool mirrored = true) {
    policy::Policy p;
    p.name = "p";
    policy::Filter f;
    f.source = policy::AddressSpec::Single(source);
    f.destination = policy::AddressSpec::Single(destination);
    f.mirrored = mirrored;
    p.filter_lists = {{"peer", "", {f}}};
    policy::FilterAction a;
    a.name = "secure";
    p.filter_actions = {a};
    policy::Rule r;
    r.name = "r";
    r.filter_list = "peer";
    r.filter_action = "secure";
    r.auth_methods = {{policy::AuthKind::kPreSharedKey}};
    r.auth_methods[0].preshared_key = SecretBytes(std::string("k"));
    p.rules = {r};
    policy::CompileContext context;
    if (interfaces_known) context.interfaces.push_back({"eth0", {{us, 24}}});
    auto table = policy::CompilePolicy(p, context);
    EXPECT_TRUE(table.ok()) << table.error().ToString();
    std::vector<std::string> warnings;
    auto config = BuildIkeConfig(p, *table, ConfigBuildOptions{}, &warnings);
    EXPECT_EQ(config->rules.size(), 1u);
    return config->rules.empty() ? std::vector<RuleTraffic>{} : config->rules[0].traffic;
  };
  for (bool ours_first : {true, false}) {
    SCOPED_TRACE(ours_first ? "us -> peer" : "peer -> us");
    const auto t = ours_first ? traffic_of(us, peer, true) : traffic_of(peer, us, true);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].local.addresses, IpRange::Single(us));
    EXPECT_EQ(t[0].remote.addresses, IpRange::Single(peer));
  }
  EXPECT_EQ(traffic_of(us, peer, false).size(), 2u);
  // Neither side is an address the pod's interfaces list (a loopback address, say): both kept.
  EXPECT_EQ(traffic_of(*IpAddress::Parse("10.3.0.1"), peer, true).size(), 2u);
  // A filter toward us only, not mirrored: kept rather than leaving the rule no traffic.
  EXPECT_EQ(traffic_of(peer, us, true, /*mirrored=*/false).size(), 1u);
}

}  // namespace
}  // namespace ipsec::engine::ike
