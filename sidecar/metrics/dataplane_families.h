#pragma once

// The userspace data path's figures as Prometheus families, built at scrape time from
// EngineService::DataPathCounters() / DataPathRulePeerCounters(). Absent when the data path
// carries no packets (--dataplane=recording). Bounded labels: reason and direction are fixed
// sets; (rule, peer) pairs are the policy's negotiating rules times the peers that had SAs,
// capped at kMaxRulePeerSeries.
//
//   ipsec_dataplane_drops_total{reason}            counter  replay, integrity, no_sa,
//        policy_block, plaintext, queue_full, ts_mismatch, malformed, too_big, send_error,
//        no_policy, reassembly, bundle_mismatch
//   ipsec_dataplane_packets_total{direction}       counter  inner packets protected / delivered
//   ipsec_dataplane_bytes_total{direction}         counter  inner bytes
//   ipsec_dataplane_acquires_total                 counter  negotiations asked of IKE
//   ipsec_dataplane_queued_total                   counter  packets that waited for an SA
//   ipsec_dataplane_passed_total                   counter  permitted packets sent on in clear
//   ipsec_dataplane_udp_gso_sends_total / _udp_gso_segments_total   counter  ESP in UDP batching
//   ipsec_dataplane_udp_gro_datagrams_total / _udp_gro_segments_total
//   ipsec_dataplane_tun_merged_segments_total      counter  TCP segments merged for the TUN
//   ipsec_dataplane_icmp_errors_sent_total / _suppressed_total      counter  path MTU guard
//   ipsec_child_sa_bytes_total{rule,peer,direction}    counter  over every SA of the pair:
//   ipsec_child_sa_packets_total{rule,peer,direction}  counter  rekeys never reset them

#include <prometheus/metric_family.h>

#include <cstddef>
#include <vector>

#include "engine/service/engine_service.h"

namespace ipsec::sidecar::metrics {

inline constexpr size_t kMaxRulePeerSeries = 1024;

void AddDataplaneFamilies(const engine::service::EngineService& service,
                          std::vector<prometheus::MetricFamily>& out);

}  // namespace ipsec::sidecar::metrics
