#include "sidecar/metrics/dataplane_families.h"

#include <cstdint>

#include "sidecar/metrics/families.h"

namespace ipsec::sidecar::metrics {

namespace dp = engine::dataplane;

void AddDataplaneFamilies(const engine::service::EngineService& service,
                          std::vector<prometheus::MetricFamily>& out) {
  const auto counters = service.DataPathCounters();
  if (!counters) return;
  auto drops =
      CounterFamily("ipsec_dataplane_drops_total", "Packets the data path dropped, by reason.");
  for (int r = 0; r < dp::kDropReasonCount; ++r) {
    AddSample(drops, static_cast<double>(counters->drops[r]),
              {{"reason", dp::Name(static_cast<dp::DropReason>(r))}});
  }
  out.push_back(std::move(drops));
  auto packets = CounterFamily("ipsec_dataplane_packets_total",
                               "Inner packets protected (outbound) or delivered (inbound).");
  auto bytes = CounterFamily("ipsec_dataplane_bytes_total",
                             "Inner bytes protected (outbound) or delivered (inbound).");
  for (int d = 0; d < 2; ++d) {
    const Labels l = {{"direction", dp::Name(static_cast<dp::TrafficDirection>(d))}};
    AddSample(packets, static_cast<double>(counters->packets[d]), l);
    AddSample(bytes, static_cast<double>(counters->bytes[d]), l);
  }
  out.push_back(std::move(packets));
  out.push_back(std::move(bytes));
  out.push_back(Counter("ipsec_dataplane_acquires_total",
                        "Negotiations the data path asked IKE for (a packet with no SA).",
                        static_cast<double>(counters->acquires)));
  out.push_back(Counter("ipsec_dataplane_queued_total", "Packets that waited for an SA.",
                        static_cast<double>(counters->queued)));
  out.push_back(Counter("ipsec_dataplane_passed_total",
                        "Permitted packets that reached the TUN and were sent on in clear.",
                        static_cast<double>(counters->passed)));
  const auto& o = counters->offload;
  const struct {
    const char* name;
    const char* help;
    uint64_t value;
  } plain[] = {
      {"ipsec_dataplane_udp_gso_sends_total",
       "UDP GSO sends of ESP in UDP (each one system call for two or more ESP packets).",
       o.udp_gso_sends},
      {"ipsec_dataplane_udp_gso_segments_total", "ESP packets sent in UDP GSO sends.",
       o.udp_gso_segments},
      {"ipsec_dataplane_udp_gro_datagrams_total",
       "UDP GRO datagrams received holding two or more ESP packets.", o.udp_gro_datagrams},
      {"ipsec_dataplane_udp_gro_segments_total", "ESP packets received in UDP GRO datagrams.",
       o.udp_gro_segments},
      {"ipsec_dataplane_tun_merged_segments_total",
       "Decrypted TCP segments merged into an earlier one for a single TUN write.",
       o.tun_merged_segments},
      {"ipsec_dataplane_icmp_errors_sent_total",
       "ICMP fragmentation needed / packet too big the data path sent to the pod (path MTU).",
       counters->icmp_errors_sent},
      {"ipsec_dataplane_icmp_errors_suppressed_total",
       "ICMP errors not sent: rate limit, or not allowed about that packet (RFC 1122 3.2.2).",
       counters->icmp_errors_suppressed}};
  for (const auto& c : plain) out.push_back(Counter(c.name, c.help, static_cast<double>(c.value)));
  auto rp_bytes = CounterFamily("ipsec_child_sa_bytes_total",
                                "Bytes per rule and peer over all their child SAs (monotonic "
                                "across rekeys).");
  auto rp_packets = CounterFamily("ipsec_child_sa_packets_total",
                                  "Packets per rule and peer over all their child SAs "
                                  "(monotonic across rekeys).");
  size_t series = 0;
  for (const auto& t : service.DataPathRulePeerCounters()) {
    if (++series > kMaxRulePeerSeries) break;
    for (int d = 0; d < 2; ++d) {
      const Labels l = {{"direction", dp::Name(static_cast<dp::TrafficDirection>(d))},
                        {"peer", t.peer},
                        {"rule", t.rule}};
      AddSample(rp_bytes, static_cast<double>(t.bytes[d]), l);
      AddSample(rp_packets, static_cast<double>(t.packets[d]), l);
    }
  }
  out.push_back(std::move(rp_bytes));
  out.push_back(std::move(rp_packets));
}

}  // namespace ipsec::sidecar::metrics
