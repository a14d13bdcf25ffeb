#include "sidecar/metrics/ike_families.h"

#include <limits>
#include <string>

#include "sidecar/metrics/families.h"

namespace ipsec::sidecar::metrics {
namespace {

namespace service = engine::service;

prometheus::MetricFamily Histogram(const service::IkeCounters& c) {
  prometheus::MetricFamily f;
  f.name = "ipsec_ike_negotiation_duration_seconds";
  f.help =
      "Duration of IKE exchanges we initiated, by exchange type, from the first request to the "
      "last answer (retransmissions included).";
  f.type = prometheus::MetricType::Histogram;
  for (int e = 0; e < service::kExchangeCount; ++e) {
    prometheus::ClientMetric m;
    m.label.push_back({"exchange", service::ExchangeLabel(e)});
    uint64_t cumulative = 0;
    for (size_t b = 0; b < service::kDurationBuckets.size(); ++b) {
      cumulative += c.duration_buckets[e][b];
      m.histogram.bucket.push_back({cumulative, service::kDurationBuckets[b]});
    }
    m.histogram.bucket.push_back({c.duration_count[e], std::numeric_limits<double>::infinity()});
    m.histogram.sample_count = c.duration_count[e];
    m.histogram.sample_sum = c.duration_sum_seconds[e];
    f.metric.push_back(std::move(m));
  }
  return f;
}

void AddNegotiations(const service::IkeCounters& c, std::vector<prometheus::MetricFamily>& out) {
  auto negotiations = CounterFamily(
      "ipsec_ike_negotiations_total",
      "IKE exchanges finished, by exchange, our role and result (success or the failure "
      "reason).");
  uint64_t failures = 0;
  for (int e = 0; e < service::kExchangeCount; ++e) {
    for (int r = 0; r < service::kRoleCount; ++r) {
      for (int f = 0; f < service::kFailureReasonCount; ++f) {
        const uint64_t n = c.negotiations[e][r][f];
        if (f != 0) failures += n;
        AddSample(negotiations, static_cast<double>(n),
                  {{"exchange", service::ExchangeLabel(e)},
                   {"role", service::RoleLabel(r)},
                   {"result", service::ResultLabel(f)}});
      }
    }
  }
  out.push_back(std::move(negotiations));
  out.push_back(Counter("ipsec_ike_negotiation_failures_total",
                        "IKE exchanges that failed, all reasons (the sum of "
                        "ipsec_ike_negotiations_total{result!=\"success\"}).",
                        static_cast<double>(failures)));
  out.push_back(Histogram(c));
  auto retransmits = CounterFamily("ipsec_ike_retransmits_total",
                                   "IKE requests retransmitted, by exchange (RFC 7296 §2.1).");
  for (int e = 0; e < service::kExchangeCount; ++e) {
    AddSample(retransmits, static_cast<double>(c.retransmits[e]),
              {{"exchange", service::ExchangeLabel(e)}});
  }
  out.push_back(std::move(retransmits));
}

void AddDefences(const service::IkeStatistics& s, std::vector<prometheus::MetricFamily>& out) {
  const service::IkeCounters& c = s.counters;
  auto drops = CounterFamily("ipsec_ike_dos_drops_total",
                             "Initial IKE messages dropped by the denial-of-service limits "
                             "(FAQ 59: outstanding negotiations per peer IP or IP:port) or for "
                             "an invalid cookie, and half-open IKE SAs evicted at the global "
                             "cap.");
  for (int d = 0; d < service::kDosReasonCount; ++d) {
    AddSample(drops, static_cast<double>(c.dos_drops[d]), {{"reason", service::DosReasonLabel(d)}});
  }
  out.push_back(std::move(drops));
  out.push_back(Counter("ipsec_ike_cookies_sent_total",
                        "IKE_SA_INIT requests answered with a cookie (RFC 7296 §2.6).",
                        static_cast<double>(c.cookies_sent)));
  auto dropped = CounterFamily(
      "ipsec_ike_datagrams_dropped_total",
      "Inbound IKE datagrams discarded without effect, by the first check they failed: "
      "malformed, unknown_spi, unprotected (no SK payload once keys exist), integrity, "
      "retransmit_mismatch (an old message ID whose bytes or sender differ from the request "
      "answered), out_of_window, duplicate, unexpected_exchange, dos; and before IKE, on its "
      "ports: too_large, receive_queue_full (the kernel's socket queue overflowed).");
  for (int r = 0; r < service::kIkeDropReasonCount; ++r) {
    AddSample(dropped, static_cast<double>(s.totals.datagrams_dropped[r]),
              {{"reason", service::IkeDropReasonLabel(r)}});
  }
  out.push_back(std::move(dropped));
  out.push_back(Counter("ipsec_ike_fallbacks_to_clear_total",
                        "Negotiations whose peer did not answer, so that the rule's traffic with "
                        "it went in clear (FAQ 16: allow unsecured communication).",
                        static_cast<double>(s.totals.fallbacks_to_clear_total)));
}

void AddRules(const service::IkeStatistics& s, std::vector<prometheus::MetricFamily>& out) {
  auto rules = GaugeFamily(
      "ipsec_rule_sas",
      "Per negotiating rule in force: configured is 1 for a rule with a tunnel endpoint (it "
      "should always be up), 0 for a transport rule negotiated on demand; established is the "
      "number of its child SAs.");
  size_t n = 0;
  for (const auto& r : s.rules) {
    if (n++ == kMaxRuleSeries) break;
    AddSample(rules, r.tunnel ? 1 : 0, {{"rule", r.rule}, {"kind", "configured"}});
    AddSample(rules, r.child_sas, {{"rule", r.rule}, {"kind", "established"}});
  }
  out.push_back(std::move(rules));
  auto expiry = GaugeFamily(
      "ipsec_rule_child_sa_expiry_seconds",
      "Per negotiating rule: seconds until the soonest hard expiry among its installed child SAs "
      "(absent while it has none). Rekeys start at 85-90% of the lifetime, so a small value is "
      "an SA about to expire without a rekey.");
  n = 0;
  for (const auto& r : s.rules) {
    if (n++ == kMaxRuleSeries) break;
    if (r.min_expire_in_seconds >= 0) {
      AddSample(expiry, static_cast<double>(r.min_expire_in_seconds), {{"rule", r.rule}});
    }
  }
  out.push_back(std::move(expiry));
}

}  // namespace

void AddIkeFamilies(const service::IkeStatistics& s, std::vector<prometheus::MetricFamily>& out) {
  const service::IkeCounters& c = s.counters;
  out.push_back(Gauge("ipsec_ike_running", "1 while the IKE engine runs.", s.running ? 1 : 0));
  out.push_back(Gauge("ipsec_ike_sas_active",
                      "Established IKE SAs (main mode SAs in the FAQ's words).",
                      static_cast<double>(s.totals.ike_sas_active)));
  out.push_back(Gauge("ipsec_ike_sas_half_open", "IKE SAs still negotiating (half-open).",
                      static_cast<double>(s.totals.ike_sas_half_open)));
  out.push_back(Gauge("ipsec_child_sas_active",
                      "Established child SAs (quick mode SA pairs in the FAQ's words).",
                      static_cast<double>(s.totals.child_sas_active)));
  AddNegotiations(c, out);
  AddDefences(s, out);
  auto rekeys = CounterFamily("ipsec_ike_rekeys_total", "Rekeys completed, of IKE or child SAs.");
  AddSample(rekeys, static_cast<double>(c.rekeys_ike), {{"kind", "ike"}});
  AddSample(rekeys, static_cast<double>(c.rekeys_child), {{"kind", "child"}});
  out.push_back(std::move(rekeys));
  out.push_back(Counter("ipsec_ike_sas_established_total", "IKE SAs established since start.",
                        static_cast<double>(c.ike_sas_established)));
  out.push_back(Counter("ipsec_child_sas_established_total", "Child SAs established since start.",
                        static_cast<double>(c.child_sas_established)));
  AddRules(s, out);
}

}  // namespace ipsec::sidecar::metrics
