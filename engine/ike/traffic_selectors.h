#pragma once

// Traffic selectors (RFC 7296 §2.9, §3.13): conversion between the codec's TS payloads and the
// data path's selectors, intersection, and the responder's narrowing.

#include <optional>
#include <vector>

#include "engine/dataplane/backend.h"
#include "engine/ike/codec/ts_payload.h"
#include "engine/ike/ike_config.h"

namespace ipsec::engine::ike {

using Selectors = std::vector<dataplane::TrafficSelector>;

Selectors FromPayload(const codec::TsPayload& ts);
codec::TsPayload ToPayload(const Selectors& selectors);

// The intersection of two selectors (same family, overlapping addresses, compatible protocol
// and ports), or nullopt.
std::optional<dataplane::TrafficSelector> Intersect(const dataplane::TrafficSelector& a,
                                                    const dataplane::TrafficSelector& b);

// "10.0.0.0/24[tcp/443]" for logs and the API.
std::string ToString(const dataplane::TrafficSelector& ts);
std::string ToString(const Selectors& selectors);

// Whether `inner` lies entirely inside `outer`: addresses, protocol (0 in `outer`: any) and
// ports.
bool Contains(const dataplane::TrafficSelector& outer, const dataplane::TrafficSelector& inner);

// RFC 7296 §2.9: a child SA carries every combination of one of its TSi and one of its TSr
// selectors (the data path matches a packet's source and destination separately), so the
// answer, and our offer, must keep every such (local, remote) combination inside ONE pair of
// the policy. A combination no packet can match (other address families, two different
// protocols) is harmless. `local` and `remote` are our view.
bool CombinationAllowed(const std::vector<RuleTraffic>& allowed,
                        const dataplane::TrafficSelector& local,
                        const dataplane::TrafficSelector& remote);
bool CrossProductAllowed(const std::vector<RuleTraffic>& allowed, const Selectors& local,
                         const Selectors& remote);

// The rule's pairs restricted to what lies between the two IKE endpoints `local` and `remote`
// (RFC 4301 §4.1: a transport mode SA protects the traffic of its two endpoints; the default
// response rule's "dynamic" filters, FAQ 19). Pairs that hold neither address are left out.
std::vector<RuleTraffic> BetweenEndpoints(const std::vector<RuleTraffic>& allowed,
                                          const IpAddress& local, const IpAddress& remote);

// The responder's narrowing (§2.9): what of the initiator's TSi (its side: our remote) and TSr
// (our side: our local) the allowed pairs allow, with every combination inside one pair. The
// pair that holds the initiator's first selectors (the packet that started it) comes first;
// other pairs join only while the cross product stays inside the policy (what they leave out
// needs a child SA of its own). Empty when nothing overlaps.
struct NarrowedTraffic {
  Selectors local;   // our TSr reply
  Selectors remote;  // our TSi reply
};
NarrowedTraffic Narrow(const std::vector<RuleTraffic>& allowed, const Selectors& tsi,
                       const Selectors& tsr);

// The initiator's offer (§2.9): `first` (the packet that asked for the SA, narrowed to its pair)
// if any, then the pair that holds it (or the first pair), then every further pair that keeps
// the cross product inside the policy. Empty when `allowed` is.
NarrowedTraffic Offer(const std::vector<RuleTraffic>& allowed,
                      const std::optional<RuleTraffic>& first);

// Whether a child SA with these selectors carries `packet` (single addresses, with its protocol
// and ports).
bool Carries(const Selectors& local, const Selectors& remote, const RuleTraffic& packet);

}  // namespace ipsec::engine::ike
