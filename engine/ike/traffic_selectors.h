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

// The responder's narrowing (§2.9): what of the initiator's TSi (its side: our remote) and TSr
// (our side: our local) the rule's traffic allows. Empty when nothing overlaps.
struct NarrowedTraffic {
  Selectors local;   // our TSr reply
  Selectors remote;  // our TSi reply
};
NarrowedTraffic Narrow(const std::vector<RuleTraffic>& allowed, const Selectors& tsi,
                       const Selectors& tsr);

}  // namespace ipsec::engine::ike
