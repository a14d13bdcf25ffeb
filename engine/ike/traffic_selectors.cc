#include "engine/ike/traffic_selectors.h"

#include <algorithm>

#include "engine/policy/names.h"

namespace ipsec::engine::ike {

using dataplane::TrafficSelector;

Selectors FromPayload(const codec::TsPayload& ts) {
  Selectors out;
  for (const auto& s : ts.selectors) {
    if (!s.is_address_range() || s.start > s.end) continue;  // others are narrowed away (§2.9)
    out.push_back(
        TrafficSelector{IpRange{s.start, s.end}, s.ip_protocol, s.start_port, s.end_port});
  }
  return out;
}

codec::TsPayload ToPayload(const Selectors& selectors) {
  codec::TsPayload out;
  for (const auto& s : selectors) {
    out.selectors.push_back(
        codec::TrafficSelector::FromRange(s.addresses, s.protocol, s.start_port, s.end_port));
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

bool Contains(const TrafficSelector& outer, const TrafficSelector& inner) {
  return inner.addresses.ContainedIn(outer.addresses) &&
         (outer.protocol == 0 || outer.protocol == inner.protocol) &&
         inner.start_port <= inner.end_port && inner.start_port >= outer.start_port &&
         inner.end_port <= outer.end_port;
}

namespace {

void AddUnique(Selectors& to, const TrafficSelector& ts) {
  if (std::find(to.begin(), to.end(), ts) == to.end()) to.push_back(ts);
}

// The packets a (local, remote) combination matches, as two selectors with the protocol they
// share; nullopt when none can (other families, two different protocols, empty port ranges).
std::optional<std::pair<TrafficSelector, TrafficSelector>> Effective(TrafficSelector local,
                                                                     TrafficSelector remote) {
  if (local.addresses.family() != remote.addresses.family()) return std::nullopt;
  if (local.protocol != 0 && remote.protocol != 0 && local.protocol != remote.protocol) {
    return std::nullopt;
  }
  if (local.start_port > local.end_port || remote.start_port > remote.end_port) {
    return std::nullopt;
  }
  local.protocol = remote.protocol = local.protocol != 0 ? local.protocol : remote.protocol;
  return std::make_pair(local, remote);
}

// The combination matches packets, all of them inside `pair`.
bool InsidePair(const RuleTraffic& pair, const TrafficSelector& local,
                const TrafficSelector& remote) {
  auto e = Effective(local, remote);
  return e && Contains(pair.local, e->first) && Contains(pair.remote, e->second);
}

bool Overlaps(const RuleTraffic& pair, const TrafficSelector& local,
              const TrafficSelector& remote) {
  return Intersect(local, pair.local) && Intersect(remote, pair.remote);
}

// Adds `more` to `out` when every combination stays inside the policy; selectors that one of
// `out` already holds are not repeated.
void Extend(const std::vector<RuleTraffic>& allowed, NarrowedTraffic& out,
            const NarrowedTraffic& more) {
  if (more.local.empty() || more.remote.empty()) return;
  NarrowedTraffic candidate = out;
  auto add = [](Selectors& to, const Selectors& from) {
    for (const auto& s : from) {
      if (std::none_of(to.begin(), to.end(), [&](const auto& t) { return Contains(t, s); })) {
        to.push_back(s);
      }
    }
  };
  add(candidate.local, more.local);
  add(candidate.remote, more.remote);
  if (candidate.local.size() == out.local.size() && candidate.remote.size() == out.remote.size()) {
    return;
  }
  if (CrossProductAllowed(allowed, candidate.local, candidate.remote)) out = std::move(candidate);
}

}  // namespace

bool CombinationAllowed(const std::vector<RuleTraffic>& allowed, const TrafficSelector& local,
                        const TrafficSelector& remote) {
  auto e = Effective(local, remote);
  if (!e) return true;  // no packet has both
  return std::any_of(allowed.begin(), allowed.end(), [&](const RuleTraffic& pair) {
    return Contains(pair.local, e->first) && Contains(pair.remote, e->second);
  });
}

bool CrossProductAllowed(const std::vector<RuleTraffic>& allowed, const Selectors& local,
                         const Selectors& remote) {
  for (const auto& l : local) {
    for (const auto& r : remote) {
      if (!CombinationAllowed(allowed, l, r)) return false;
    }
  }
  return true;
}

std::vector<RuleTraffic> BetweenEndpoints(const std::vector<RuleTraffic>& allowed,
                                          const IpAddress& local, const IpAddress& remote) {
  const TrafficSelector ours{IpRange::Single(local)};
  const TrafficSelector theirs{IpRange::Single(remote)};
  std::vector<RuleTraffic> out;
  for (const RuleTraffic& pair : allowed) {
    auto l = Intersect(pair.local, ours);
    auto r = Intersect(pair.remote, theirs);
    if (!l || !r) continue;
    if (std::none_of(out.begin(), out.end(),
                     [&](const RuleTraffic& t) { return t.local == *l && t.remote == *r; })) {
      out.push_back({*l, *r});
    }
  }
  return out;
}

NarrowedTraffic Narrow(const std::vector<RuleTraffic>& allowed, const Selectors& tsi,
                       const Selectors& tsr) {
  // What of the request one pair allows: every combination inside that pair.
  auto pieces = [&](const RuleTraffic& pair) {
    NarrowedTraffic p;
    for (const auto& ours : tsr) {
      if (auto l = Intersect(ours, pair.local)) AddUnique(p.local, *l);
    }
    for (const auto& theirs : tsi) {
      if (auto r = Intersect(theirs, pair.remote)) AddUnique(p.remote, *r);
    }
    return p.local.empty() || p.remote.empty() ? NarrowedTraffic{} : p;
  };
  // §2.9: the pair that holds the initiator's first selectors (each inside its side, else as
  // the packets they match), else one that overlaps them, else the first that overlaps
  // anything.
  std::optional<size_t> anchor;
  if (!tsi.empty() && !tsr.empty()) {
    for (size_t k = 0; k < allowed.size() && !anchor; ++k) {
      if (Contains(allowed[k].local, tsr[0]) && Contains(allowed[k].remote, tsi[0])) anchor = k;
    }
    for (size_t k = 0; k < allowed.size() && !anchor; ++k) {
      if (InsidePair(allowed[k], tsr[0], tsi[0])) anchor = k;
    }
    for (size_t k = 0; k < allowed.size() && !anchor; ++k) {
      if (Overlaps(allowed[k], tsr[0], tsi[0])) anchor = k;
    }
  }
  for (size_t k = 0; k < allowed.size() && !anchor; ++k) {
    if (!pieces(allowed[k]).local.empty()) anchor = k;
  }
  if (!anchor) return {};
  NarrowedTraffic out = pieces(allowed[*anchor]);
  for (size_t k = 0; k < allowed.size(); ++k) {
    if (k != *anchor) Extend(allowed, out, pieces(allowed[k]));
  }
  return out;
}

NarrowedTraffic Offer(const std::vector<RuleTraffic>& allowed,
                      const std::optional<RuleTraffic>& first) {
  if (allowed.empty()) return {};
  size_t anchor = 0;
  std::optional<RuleTraffic> packet;
  if (first) {
    for (size_t k = 0; k < allowed.size() && !packet; ++k) {
      if (InsidePair(allowed[k], first->local, first->remote)) {
        anchor = k;
        packet = first;
      }
    }
    for (size_t k = 0; k < allowed.size() && !packet; ++k) {
      auto l = Intersect(first->local, allowed[k].local);
      auto r = Intersect(first->remote, allowed[k].remote);
      if (l && r) {
        anchor = k;
        packet = RuleTraffic{*l, *r};
      }
    }
  }
  NarrowedTraffic out;
  if (packet) {
    out.local.push_back(packet->local);
    out.remote.push_back(packet->remote);
  }
  AddUnique(out.local, allowed[anchor].local);
  AddUnique(out.remote, allowed[anchor].remote);
  for (size_t k = 0; k < allowed.size(); ++k) {
    if (k != anchor) Extend(allowed, out, NarrowedTraffic{{allowed[k].local}, {allowed[k].remote}});
  }
  return out;
}

bool Carries(const Selectors& local, const Selectors& remote, const RuleTraffic& packet) {
  auto holds = [](const Selectors& list, const TrafficSelector& s) {
    return std::any_of(list.begin(), list.end(), [&](const auto& t) { return Contains(t, s); });
  };
  return holds(local, packet.local) && holds(remote, packet.remote);
}

}  // namespace ipsec::engine::ike
