// The IKE families of the exporter: built from a synthetic IkeStatistics (every label value,
// cumulative histogram buckets, the rule cardinality bound, promtool's lint), and live from two
// IKE runtimes negotiating over loopback through their EngineServices (the observer's counters
// reach the exposition; a wrong preshared key is counted as authentication_failed).

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "engine/service/engine_service.h"
#include "engine/service/ike_runtime.h"
#include "sidecar/metrics/ike_families.h"
#include "sidecar/metrics/service_collector.h"
#include "tests/engine/policy/policy_test_util.h"
#include "tests/sidecar/metrics/metrics_test_util.h"
#include "tests/sidecar/temp_dir.h"

namespace ipsec::sidecar::metrics {
namespace {

using namespace std::chrono_literals;
using engine::policy::testing::AddRule;
using engine::policy::testing::BasePolicy;
using engine::policy::testing::Ip;
using engine::policy::testing::MakeFilter;
using engine::policy::testing::One;
using testing::SampleValue;
namespace service = engine::service;

std::string Serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::string IkeText(const service::IkeStatistics& s) {
  std::vector<prometheus::MetricFamily> families;
  AddIkeFamilies(s, families);
  return Serialize(families);
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(IkeFamiliesTest, EveryCounterWithBoundedLabels) {
  service::IkeStatistics s;
  s.running = true;
  s.totals.ike_sas_active = 3;
  s.totals.ike_sas_half_open = 2;
  s.totals.child_sas_active = 5;
  s.totals.datagrams_dropped_total = 4;
  s.totals.datagrams_dropped[2] = 3;  // unprotected
  s.totals.datagrams_dropped[4] = 1;  // retransmit_mismatch
  s.totals.fallbacks_to_clear_total = 2;
  auto& c = s.counters;
  c.negotiations[0][0][0] = 7;    // ike_sa_init initiator success
  c.negotiations[1][1][2] = 2;    // ike_auth responder authentication_failed
  c.negotiations[2][0][5] = 1;    // create_child_sa initiator timeout
  c.duration_buckets[0][0] = 1;   // <= 1 ms
  c.duration_buckets[0][3] = 2;   // <= 10 ms
  c.duration_buckets[0][11] = 1;  // <= 10 s
  c.duration_count[0] = 5;        // one above the last bound
  c.duration_sum_seconds[0] = 12.5;
  c.retransmits[1] = 6;
  c.dos_drops[0] = 8;
  c.dos_drops[2] = 9;
  c.dos_drops[3] = 15;  // evicted at the global half-open cap
  c.cookies_sent = 10;
  c.rekeys_ike = 11;
  c.rekeys_child = 12;
  c.ike_sas_established = 13;
  c.child_sas_established = 14;
  s.rules = {{"gateway", true, 1, 0}, {"db", false, 2, 3}};
  const std::string text = IkeText(s);

  EXPECT_EQ(SampleValue(text, "ipsec_ike_running"), 1);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_sas_active"), 3);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_sas_half_open"), 2);
  EXPECT_EQ(SampleValue(text, "ipsec_child_sas_active"), 5);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(ipsec_ike_negotiations_total{exchange="ike_sa_init",result="success",role="initiator"})"),
      7);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(ipsec_ike_negotiations_total{exchange="ike_auth",result="authentication_failed",role="responder"})"),
      2);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(ipsec_ike_negotiations_total{exchange="create_child_sa",result="timeout",role="initiator"})"),
      1);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(ipsec_ike_negotiations_total{exchange="informational",result="unsupported_auth",role="responder"})"),
      0);
  // Every combination is present (zeros included), and nothing else.
  EXPECT_EQ(Count(text, "\nipsec_ike_negotiations_total{"),
            size_t{service::kExchangeCount * service::kRoleCount * service::kFailureReasonCount});
  EXPECT_EQ(SampleValue(text, "ipsec_ike_negotiation_failures_total"), 3);
  // Histogram buckets are cumulative, +Inf is the count.
  EXPECT_EQ(
      SampleValue(
          text,
          R"(ipsec_ike_negotiation_duration_seconds_bucket{exchange="ike_sa_init",le="0.001"})"),
      1);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(ipsec_ike_negotiation_duration_seconds_bucket{exchange="ike_sa_init",le="0.01"})"),
      3);
  EXPECT_EQ(
      SampleValue(
          text, R"(ipsec_ike_negotiation_duration_seconds_bucket{exchange="ike_sa_init",le="10"})"),
      4);
  EXPECT_EQ(
      SampleValue(
          text,
          R"(ipsec_ike_negotiation_duration_seconds_bucket{exchange="ike_sa_init",le="+Inf"})"),
      5);
  EXPECT_EQ(
      SampleValue(text, R"(ipsec_ike_negotiation_duration_seconds_count{exchange="ike_sa_init"})"),
      5);
  EXPECT_EQ(
      SampleValue(text, R"(ipsec_ike_negotiation_duration_seconds_sum{exchange="ike_sa_init"})"),
      12.5);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_retransmits_total{exchange="ike_auth"})"), 6);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_dos_drops_total{reason="half_open_per_peer"})"), 8);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_dos_drops_total{reason="half_open_per_peer_port"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_dos_drops_total{reason="invalid_cookie"})"), 9);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_dos_drops_total{reason="evicted"})"), 15);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_cookies_sent_total"), 10);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_rekeys_total{kind="ike"})"), 11);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_rekeys_total{kind="child"})"), 12);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_sas_established_total"), 13);
  EXPECT_EQ(SampleValue(text, "ipsec_child_sas_established_total"), 14);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_datagrams_dropped_total{reason="unprotected"})"), 3);
  EXPECT_EQ(
      SampleValue(text, R"(ipsec_ike_datagrams_dropped_total{reason="retransmit_mismatch"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_datagrams_dropped_total{reason="malformed"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_ike_datagrams_dropped_total{reason="dos"})"), 0);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_fallbacks_to_clear_total"), 2);
  EXPECT_EQ(SampleValue(text, R"(ipsec_rule_sas{kind="configured",rule="gateway"})"), 1);
  EXPECT_EQ(SampleValue(text, R"(ipsec_rule_sas{kind="established",rule="gateway"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_rule_sas{kind="configured",rule="db"})"), 0);
  EXPECT_EQ(SampleValue(text, R"(ipsec_rule_sas{kind="established",rule="db"})"), 3);

  ASSERT_TRUE(testing::OnPath("promtool"))
      << "promtool is not installed (Debian package `prometheus`); it is required to lint "
         "the /metrics exposition";
  sidecar::testing::TempDir dir;
  auto r = testing::PromtoolCheckMetrics(text, dir.File("ike.txt"));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n---\n" << text;
  EXPECT_EQ(r.output, "");
}

TEST(IkeFamiliesTest, RuleSeriesAreBounded) {
  service::IkeStatistics s;
  for (size_t i = 0; i < kMaxRuleSeries + 50; ++i) {
    s.rules.push_back({"rule-" + std::to_string(i), true, 0, 0});
  }
  const std::string text = IkeText(s);
  EXPECT_EQ(Count(text, "\nipsec_rule_sas{"), 2 * kMaxRuleSeries);
  EXPECT_EQ(SampleValue(text, "ipsec_ike_running"), 0);
}

// ---- live: two runtimes on loopback, each behind its EngineService ----

struct Side {
  std::unique_ptr<service::EngineService> service;
  std::unique_ptr<service::IkeRuntime> runtime;
  std::unique_ptr<ServiceCollector> collector;
  std::string Text() const {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, collector->Collect());
    return out.str();
  }
  ~Side() {
    if (service) service->AttachIke(nullptr);
  }
};

const service::ChangeContext kTest{"test", "test"};

std::unique_ptr<Side> StartSide(const std::string& me, const std::string& peer,
                                uint16_t peer_ike_port, const std::string& psk,
                                std::optional<size_t> cookie_threshold = std::nullopt) {
  auto side = std::make_unique<Side>();
  service::EngineService::Options so;
  so.context.interfaces = {engine::policy::PodInterface{"lo", {{Ip(me), 8}}}};
  side->service = std::make_unique<service::EngineService>(std::move(so));
  service::IkeRuntime::Options o;
  o.listen_addresses = {Ip(me)};
  o.ike_port = 0;
  o.nat_t_port = 0;
  o.peer_ike_port = peer_ike_port;
  if (cookie_threshold) o.build.dos.cookie_threshold = *cookie_threshold;
  auto rt = service::IkeRuntime::Start(std::move(o));
  EXPECT_TRUE(rt.ok()) << (rt.ok() ? "" : rt.error().ToString());
  if (!rt.ok()) return nullptr;
  side->runtime = std::move(rt).value();
  engine::policy::Policy p = BasePolicy("pair");
  engine::policy::Rule& r = AddRule(p, "tunnel", {MakeFilter(One(me), One(peer))}, "secure");
  r.auth_methods = {engine::policy::AuthMethod{engine::policy::AuthKind::kPreSharedKey,
                                               SecretBytes(psk), "", ""}};
  r.tunnel_endpoint = Ip(peer);
  auto created = side->service->CreatePolicy(p, kTest);
  EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().ToString());
  EXPECT_TRUE(side->service->AssignPodPolicy("pair", kTest).ok());
  side->service->AttachIke(side->runtime.get());
  side->collector = std::make_unique<ServiceCollector>(*side->service);
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

double Value(const Side& side, const std::string& series) {
  return SampleValue(side.Text(), series).value_or(-1);
}

TEST(IkeMetricsLiveTest, ANegotiationShowsInBothExporters) {
  auto responder = StartSide("127.0.0.2", "127.0.0.1", 500, "metrics-test-psk-0123456789");
  ASSERT_NE(responder, nullptr);
  auto initiator = StartSide("127.0.0.1", "127.0.0.2", responder->runtime->ike_port(),
                             "metrics-test-psk-0123456789");
  ASSERT_NE(initiator, nullptr);
  EXPECT_EQ(Value(*initiator, R"(ipsec_rule_sas{kind="configured",rule="tunnel"})"), 1);
  EXPECT_EQ(Value(*initiator, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 0);

  auto id = initiator->service->InitiateSa("tunnel", std::nullopt, kTest);
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  for (const Side* side : {initiator.get(), responder.get()}) {
    EXPECT_TRUE(WaitFor([&] { return Value(*side, "ipsec_child_sas_active") == 1; }))
        << side->Text();
  }
  const std::string i = initiator->Text();
  const std::string r = responder->Text();
  EXPECT_EQ(SampleValue(i, "ipsec_ike_running"), 1);
  EXPECT_EQ(SampleValue(i, "ipsec_ike_sas_active"), 1);
  EXPECT_EQ(SampleValue(r, "ipsec_ike_sas_active"), 1);
  EXPECT_EQ(SampleValue(i, "ipsec_ike_sas_half_open"), 0);
  EXPECT_EQ(
      SampleValue(
          i,
          R"(ipsec_ike_negotiations_total{exchange="ike_sa_init",result="success",role="initiator"})"),
      1);
  EXPECT_EQ(
      SampleValue(
          i,
          R"(ipsec_ike_negotiations_total{exchange="ike_auth",result="success",role="initiator"})"),
      1);
  EXPECT_EQ(
      SampleValue(
          r,
          R"(ipsec_ike_negotiations_total{exchange="ike_sa_init",result="success",role="responder"})"),
      1);
  EXPECT_EQ(
      SampleValue(
          r,
          R"(ipsec_ike_negotiations_total{exchange="ike_auth",result="success",role="responder"})"),
      1);
  EXPECT_EQ(SampleValue(i, "ipsec_ike_negotiation_failures_total"), 0);
  EXPECT_EQ(SampleValue(i, R"(ipsec_ike_negotiation_duration_seconds_count{exchange="ike_auth"})"),
            1);
  // The histogram is the initiator's view: the responder's exchanges are not in it.
  EXPECT_EQ(SampleValue(r, R"(ipsec_ike_negotiation_duration_seconds_count{exchange="ike_auth"})"),
            0);
  EXPECT_GT(
      *SampleValue(i, R"(ipsec_ike_negotiation_duration_seconds_sum{exchange="ike_sa_init"})"), 0);
  EXPECT_EQ(SampleValue(i, "ipsec_ike_sas_established_total"), 1);
  EXPECT_EQ(SampleValue(r, "ipsec_child_sas_established_total"), 1);
  EXPECT_EQ(SampleValue(i, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 1);
  EXPECT_EQ(SampleValue(r, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 1);
  EXPECT_EQ(i.find("metrics-test-psk"), std::string::npos) << "the PSK reached the metrics";

  ASSERT_TRUE(initiator->service->DeleteSa(*id, kTest).ok());
  for (const Side* side : {initiator.get(), responder.get()}) {
    EXPECT_TRUE(WaitFor([&] { return Value(*side, "ipsec_ike_sas_active") == 0; })) << side->Text();
    EXPECT_EQ(Value(*side, "ipsec_child_sas_active"), 0);
    EXPECT_EQ(Value(*side, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 0);
  }
  EXPECT_TRUE(WaitFor([&] {
    return Value(
               *initiator,
               R"(ipsec_ike_negotiations_total{exchange="informational",result="success",role="initiator"})") ==
           1;
  })) << initiator->Text();
}

TEST(IkeMetricsLiveTest, AWrongPresharedKeyIsCountedOnBothSides) {
  auto responder = StartSide("127.0.0.2", "127.0.0.1", 500, "the-responders-key-1234");
  ASSERT_NE(responder, nullptr);
  auto initiator = StartSide("127.0.0.1", "127.0.0.2", responder->runtime->ike_port(),
                             "the-initiators-key-5678");
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->service->InitiateSa("tunnel", std::nullopt, kTest).ok());
  EXPECT_TRUE(WaitFor([&] {
    return Value(
               *responder,
               R"(ipsec_ike_negotiations_total{exchange="ike_auth",result="authentication_failed",role="responder"})") ==
           1;
  })) << responder->Text();
  EXPECT_TRUE(WaitFor([&] {
    return Value(
               *initiator,
               R"(ipsec_ike_negotiations_total{exchange="ike_auth",result="authentication_failed",role="initiator"})") ==
           1;
  })) << initiator->Text();
  EXPECT_EQ(Value(*initiator, "ipsec_ike_negotiation_failures_total"), 1);
  EXPECT_EQ(Value(*responder, "ipsec_ike_sas_established_total"), 0);
  EXPECT_EQ(Value(*initiator, R"(ipsec_rule_sas{kind="established",rule="tunnel"})"), 0);
}

// Cookies (RFC 7296 §2.6) with a threshold of 0: every IKE_SA_INIT is answered with one, the
// initiator retries with it, and the negotiation still succeeds.
TEST(IkeMetricsLiveTest, CookiesAreCountedAndTheNegotiationGoesOn) {
  auto responder = StartSide("127.0.0.2", "127.0.0.1", 500, "metrics-test-psk-0123456789", 0);
  ASSERT_NE(responder, nullptr);
  auto initiator = StartSide("127.0.0.1", "127.0.0.2", responder->runtime->ike_port(),
                             "metrics-test-psk-0123456789");
  ASSERT_NE(initiator, nullptr);
  ASSERT_TRUE(initiator->service->InitiateSa("tunnel", std::nullopt, kTest).ok());
  EXPECT_TRUE(WaitFor([&] { return Value(*initiator, "ipsec_child_sas_active") == 1; }))
      << initiator->Text();
  EXPECT_EQ(Value(*responder, "ipsec_ike_cookies_sent_total"), 1) << responder->Text();
  EXPECT_EQ(Value(*responder, R"(ipsec_ike_dos_drops_total{reason="invalid_cookie"})"), 0);
}

// A peer that never answers: the IKE_SA_INIT request is retransmitted (RFC 7296 §2.1) and the
// SA shows as half-open meanwhile.
TEST(IkeMetricsLiveTest, RetransmitsOfAnUnansweredRequestAreCounted) {
  auto lonely = StartSide("127.0.0.1", "127.0.0.2", 9, "metrics-test-psk-0123456789");
  ASSERT_NE(lonely, nullptr);
  ASSERT_TRUE(lonely->service->InitiateSa("tunnel", std::nullopt, kTest).ok());
  EXPECT_EQ(Value(*lonely, "ipsec_ike_sas_active"), 0);
  EXPECT_EQ(Value(*lonely, "ipsec_ike_sas_half_open"), 1);
  EXPECT_TRUE(WaitFor(
      [&] { return Value(*lonely, R"(ipsec_ike_retransmits_total{exchange="ike_sa_init"})") >= 1; },
      4s))
      << lonely->Text();
}

}  // namespace
}  // namespace ipsec::sidecar::metrics
