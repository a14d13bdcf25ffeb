// IkeRuntime end to end over real UDP sockets on loopback: two runtimes, each an IKE manager on
// its own event loop thread, negotiate an IKE SA and a child SA from compiled policies, show it
// in snapshots and statistics, count it, and tear it down on both sides.

#include "engine/service/ike_runtime.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/policy/compiler.h"
#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::service {
namespace {

using namespace std::chrono_literals;
using policy::testing::AddRule;
using policy::testing::BasePolicy;
using policy::testing::Ip;
using policy::testing::MakeFilter;
using policy::testing::One;

class CollectingSink final : public telemetry::EventSink {
 public:
  void Emit(const telemetry::Event& e) override {
    std::lock_guard lock(mu_);
    names_.push_back(e.type);
    for (const auto& [k, v] : e.fields) text_ += k + "=" + v + " ";
    text_ += e.message + "\n";
  }
  bool Saw(const std::string& name) const {
    std::lock_guard lock(mu_);
    for (const auto& n : names_) {
      if (n == name) return true;
    }
    return false;
  }
  std::string Text() const {
    std::lock_guard lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> names_;
  std::string text_;
};

constexpr const char kPsk[] = "runtime-test-psk-0123456789";

// A policy securing everything between `me` and `peer` with a preshared key.
policy::Policy PolicyBetween(const std::string& me, const std::string& peer,
                             const std::string& psk) {
  policy::Policy p = BasePolicy("pair");
  policy::Rule& r = AddRule(p, "pair", {MakeFilter(One(me), One(peer))}, "secure");
  r.auth_methods = {policy::AuthMethod{policy::AuthKind::kPreSharedKey, SecretBytes(psk), "", ""}};
  return p;
}

struct Side {
  CollectingSink events;
  std::unique_ptr<IkeRuntime> runtime;
};

std::unique_ptr<Side> StartSide(const std::string& address, uint16_t peer_ike_port,
                                const std::string& peer, const std::string& psk) {
  auto side = std::make_unique<Side>();
  IkeRuntime::Options o;
  o.listen_addresses = {Ip(address)};
  o.ike_port = 0;
  o.nat_t_port = 0;
  o.peer_ike_port = peer_ike_port;
  o.events = &side->events;
  auto rt = IkeRuntime::Start(std::move(o));
  EXPECT_TRUE(rt.ok()) << (rt.ok() ? "" : rt.error().ToString());
  if (!rt.ok()) return nullptr;
  side->runtime = std::move(rt).value();
  policy::Policy p = PolicyBetween(address, peer, psk);
  policy::CompileContext c;
  c.interfaces = {policy::PodInterface{"lo", {{Ip(address), 8}}}};
  auto table = policy::CompilePolicy(p, c);
  EXPECT_TRUE(table.ok()) << (table.ok() ? "" : table.error().ToString());
  if (!table.ok()) return nullptr;
  side->runtime->ApplyPolicy(&p, *table);
  return side;
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds budget = 5s) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

std::vector<ike::IkeSaSnapshot> Sas(IkeRuntime& rt) {
  auto s = rt.Snapshot();
  return s.ok() ? *s : std::vector<ike::IkeSaSnapshot>{};
}

bool Established(IkeRuntime& rt) {
  auto sas = Sas(rt);
  return sas.size() == 1 && sas[0].state == "established" && sas[0].children.size() == 1;
}

TEST(IkeRuntimeTest, TwoRuntimesNegotiateOverUdpAndDeleteOnBothSides) {
  auto responder = StartSide("127.0.0.2", 500, "127.0.0.1", kPsk);
  ASSERT_NE(responder, nullptr);
  auto initiator = StartSide("127.0.0.1", responder->runtime->ike_port(), "127.0.0.2", kPsk);
  ASSERT_NE(initiator, nullptr);

  auto id = initiator->runtime->Initiate("pair", Ip("127.0.0.2"));
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  ASSERT_TRUE(WaitFor([&] { return Established(*initiator->runtime); }))
      << initiator->events.Text();
  ASSERT_TRUE(WaitFor([&] { return Established(*responder->runtime); }))
      << responder->events.Text();

  const auto i = Sas(*initiator->runtime)[0];
  const auto r = Sas(*responder->runtime)[0];
  EXPECT_EQ(i.id, *id);
  EXPECT_EQ(i.role, "initiator");
  EXPECT_EQ(r.role, "responder");
  EXPECT_EQ(i.spi_i, r.spi_i);
  EXPECT_EQ(i.spi_r, r.spi_r);
  EXPECT_EQ(i.rule, "pair");
  EXPECT_EQ(r.rule, "pair");
  EXPECT_FALSE(i.nat_local || i.nat_remote || i.udp_4500);
  // The pair of child SAs: one side's inbound SPI is the other's outbound.
  EXPECT_EQ(i.children[0].spi_in, r.children[0].spi_out);
  EXPECT_EQ(i.children[0].spi_out, r.children[0].spi_in);
  EXPECT_EQ(i.children[0].algorithms, r.children[0].algorithms);
  EXPECT_GT(i.expire_in_seconds, 0);

  // Counted and reported, and the rule shows as established.
  IkeCounters c = initiator->runtime->Counters();
  EXPECT_EQ(c.ike_sas_established, 1u);
  EXPECT_EQ(c.child_sas_established, 1u);
  EXPECT_EQ(c.negotiations[0][0][0], 1u) << "IKE_SA_INIT, initiator, success";
  EXPECT_EQ(c.negotiations[1][0][0], 1u) << "IKE_AUTH, initiator, success";
  EXPECT_EQ(responder->runtime->Counters().negotiations[1][1][0], 1u);
  auto status = initiator->runtime->RuleStatus();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].rule, "pair");
  EXPECT_EQ(status[0].ike_sas, 1u);
  EXPECT_EQ(status[0].child_sas, 1u);
  EXPECT_EQ(initiator->runtime->Statistics().ike_sas_active, 1u);
  EXPECT_TRUE(initiator->events.Saw("ike.sa_up"));
  EXPECT_TRUE(responder->events.Saw("ike.child_up"));
  EXPECT_EQ(initiator->events.Text().find(kPsk), std::string::npos) << "the PSK reached a log";

  // A Delete from the initiator removes the SA on both sides (RFC 7296 §1.4.1).
  ASSERT_TRUE(initiator->runtime->Delete(*id).ok());
  EXPECT_TRUE(WaitFor([&] { return Sas(*initiator->runtime).empty(); }))
      << initiator->events.Text();
  EXPECT_TRUE(WaitFor([&] { return Sas(*responder->runtime).empty(); }))
      << responder->events.Text();
  EXPECT_TRUE(responder->events.Saw("ike.sa_down"));
}

TEST(IkeRuntimeTest, WrongPresharedKeyFailsOnBothSidesAndIsCounted) {
  auto responder = StartSide("127.0.0.2", 500, "127.0.0.1", "the-responders-key-1234");
  ASSERT_NE(responder, nullptr);
  auto initiator = StartSide("127.0.0.1", responder->runtime->ike_port(), "127.0.0.2",
                             "the-initiators-key-5678");
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->runtime->Initiate("pair", Ip("127.0.0.2")).ok());
  auto failed = [](IkeRuntime& rt) {
    IkeCounters c = rt.Counters();
    uint64_t failures = 0;
    for (int role = 0; role < kRoleCount; ++role) {
      for (int f = 1; f < kFailureReasonCount; ++f) failures += c.negotiations[1][role][f];
    }
    return failures > 0;
  };
  EXPECT_TRUE(WaitFor([&] { return failed(*responder->runtime); })) << responder->events.Text();
  EXPECT_TRUE(WaitFor([&] { return failed(*initiator->runtime); })) << initiator->events.Text();
  EXPECT_TRUE(WaitFor([&] { return Sas(*initiator->runtime).empty(); }));
  EXPECT_TRUE(WaitFor([&] { return Sas(*responder->runtime).empty(); }));
  EXPECT_EQ(initiator->runtime->Counters().ike_sas_established, 0u);
  EXPECT_EQ(responder->runtime->Counters().ike_sas_established, 0u);
}

TEST(IkeRuntimeTest, InitiatingAnUnknownRuleIsAClearError) {
  auto side = StartSide("127.0.0.1", 500, "127.0.0.2", kPsk);
  ASSERT_NE(side, nullptr);
  auto id = side->runtime->Initiate("nope", Ip("127.0.0.2"));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, ErrorCode::kNotFound);
  EXPECT_NE(id.error().ToString().find("'nope'"), std::string::npos);
}

TEST(IkeRuntimeTest, DrainDeletesEverySa) {
  auto responder = StartSide("127.0.0.2", 500, "127.0.0.1", kPsk);
  ASSERT_NE(responder, nullptr);
  auto initiator = StartSide("127.0.0.1", responder->runtime->ike_port(), "127.0.0.2", kPsk);
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->runtime->Initiate("pair", Ip("127.0.0.2")).ok());
  ASSERT_TRUE(WaitFor([&] { return Established(*responder->runtime); }));
  responder->runtime->Drain(3s);
  EXPECT_TRUE(Sas(*responder->runtime).empty());
  EXPECT_TRUE(WaitFor([&] { return Sas(*initiator->runtime).empty(); }))
      << initiator->events.Text();
}

}  // namespace
}  // namespace ipsec::engine::service

namespace ipsec::engine::service {
namespace {

// Sends `payload` over UDP from loopback to 127.0.0.1:`port`.
void SendUdp(uint16_t port, const Bytes& payload) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof(to)),
            static_cast<ssize_t>(payload.size()));
  ::close(fd);
}

// Every datagram discarded on the IKE ports is counted by reason, whether the UDP transport
// dropped it (empty on 500, a NAT-T datagram too short for its marker) or the engine did (no
// decode, an SPI of no SA): statistics `datagrams_dropped` (ipsec_ike_datagrams_dropped_total).
TEST(IkeRuntimeTest, DatagramsDroppedOnTheIkePortsAreCountedByReason) {
  auto side = StartSide("127.0.0.1", 9, "127.0.0.2", kPsk);
  ASSERT_NE(side, nullptr);
  IkeRuntime& rt = *side->runtime;
  SendUdp(rt.ike_port(), Bytes{});                   // transport: malformed
  SendUdp(rt.nat_t_port(), Bytes{0, 0});             // transport: malformed (short marker)
  SendUdp(rt.ike_port(), Bytes{1, 2, 3, 4, 5});      // engine: malformed
  Bytes unknown(28, 0);                              // a header naming no SA
  unknown[0] = 0x11;                                 // SPIi
  unknown[8] = 0x22;                                 // SPIr
  unknown[17] = 0x20;                                // version 2.0
  unknown[18] = 37;                                  // INFORMATIONAL
  unknown[27] = 28;                                  // length
  SendUdp(rt.ike_port(), unknown);
  const auto malformed = static_cast<size_t>(ike::IkeDropReason::kMalformed);
  const auto unknown_spi = static_cast<size_t>(ike::IkeDropReason::kUnknownSpi);
  EXPECT_TRUE(WaitFor([&] {
    const auto s = rt.Statistics();
    return s.datagrams_dropped[malformed] == 3 && s.datagrams_dropped[unknown_spi] == 1;
  })) << rt.Statistics().datagrams_dropped[malformed] << " malformed, "
      << rt.Statistics().datagrams_dropped[unknown_spi] << " unknown_spi";
  EXPECT_EQ(rt.Statistics().datagrams_dropped_total, 4u);
}

}  // namespace
}  // namespace ipsec::engine::service
