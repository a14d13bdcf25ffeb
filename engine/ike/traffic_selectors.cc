#include "engine/ike/traffic_selectors.h"

#include <algorithm>

#include "engine/policy/names.h"

namespace ipsec::engine::ike {

using dataplane::TrafficSelector;

Selectors FromPayload(const codec::TsPayload& ts) {
  Selectors out;
  for (const auto& s : ts.selectors) {
    if (!s.is_address_range() || s.start > s.end) continue;  // others are narrowed away (§2.9)
    out.push_back(TrafficSelector{IpRange{s.start, s.end}, s.ip_protocol, s.start_port,
                                  s.end_port});
  }
  return out;
}

codec::TsPayload ToPayload(const Selectors& selectors) {
  codec::TsPayload out;
  for (const auto& s : selectors) {
    out.selectors.push_back(codec::TrafficSelector::FromRange(s.addresses, s.protocol,
                                                              s.start_port, s.end_port));
  }
  return out;
}

std::optional<TrafficSelector> Intersect(const TrafficSelector& a, const TrafficSelector& b) {
  if (!a.addresses.Overlaps(b.addresses)) return std::nullopt;
  if (a.protocol != 0 && b.protocol != 0 && a.protocol != b.protocol) return std::nullopt;
  TrafficSelector out;
  out.addresses.first = std::max(a.addresses.first, b.addresses.first);
  out.addresses.last = std::min(a.addresses.last, b.addresses.last);
  out.protocol = a.protocol != 0 ? a.protocol : b.protocol;
  out.start_port = std::max(a.start_port, b.start_port);
  out.end_port = std::min(a.end_port, b.end_port);
  if (out.start_port > out.end_port) return std::nullopt;
  return out;
}

std::string ToString(const TrafficSelector& ts) {
  std::string s = ts.addresses.ToString();
  if (ts.protocol != 0 || ts.start_port != 0 || ts.end_port != 65535) {
    s += "[" + (ts.protocol ? policy::ProtocolName(ts.protocol) : std::string("any"));
    if (ts.start_port != 0 || ts.end_port != 65535) {
      s += "/" + std::to_string(ts.start_port);
      if (ts.end_port != ts.start_port) s += "-" + std::to_string(ts.end_port);
    }
    s += "]";
  }
  return s;
}

std::string ToString(const Selectors& selectors) {
  std::string out;
  for (const auto& s : selectors) out += (out.empty() ? "" : " ") + ToString(s);
  return out.empty() ? "(none)" : out;
}

namespace {
void AddUnique(Selectors& to, const TrafficSelector& ts) {
  if (std::find(to.begin(), to.end(), ts) == to.end()) to.push_back(ts);
}
}  // namespace

NarrowedTraffic Narrow(const std::vector<RuleTraffic>& allowed, const Selectors& tsi,
                       const Selectors& tsr) {
  NarrowedTraffic out;
  for (const RuleTraffic& traffic : allowed) {
    for (const auto& theirs : tsi) {
      auto remote = Intersect(theirs, traffic.remote);
      if (!remote) continue;
      for (const auto& ours : tsr) {
        auto local = Intersect(ours, traffic.local);
        if (!local) continue;
        AddUnique(out.local, *local);
        AddUnique(out.remote, *remote);
      }
    }
  }
  return out;
}

}  // namespace ipsec::engine::ike
