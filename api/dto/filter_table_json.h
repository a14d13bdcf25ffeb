#pragma once

// The compiled filter table (FAQ 22) and packet matching as JSON (docs/api.md, "Filters" and
// "Match"): generic filters as configured, specific entries as expanded and weighted, the match
// request (a packet) and its decision.

#include <cstdint>
#include <optional>
#include <string>

#include "api/dto/json_reader.h"
#include "engine/common/ip_address.h"
#include "engine/common/result.h"
#include "engine/policy/filter_table.h"
#include "engine/policy/model.h"

namespace ipsec::api::dto {

namespace policy = ipsec::engine::policy;

// What the table is the compilation of.
struct TableInfo {
  std::optional<std::string> policy;  // nullopt: no policy in force
  std::optional<policy::Scope> scope;
  uint64_t generation = 0;
};

Json EntryOriginToJson(const policy::EntryOrigin& o);
Json GenericFilterToJson(const policy::GenericFilter& g);
Json TableEntryToJson(const policy::TableEntry& e);
// {"policy", "scope", "generation", "default_action": "permit", "filters": [...]} or, when
// `specific`, with "conflicts_resolved" and "entries" instead of "filters".
Json FilterTableToJson(const policy::FilterTable& table, const TableInfo& info, bool specific);

// A packet to classify. Owns the interface name that PacketKey only views.
struct MatchRequest {
  policy::Direction direction = policy::Direction::kOutbound;
  std::string interface;
  IpAddress source;
  IpAddress destination;
  uint8_t protocol = 0;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;

  // Views `interface`: valid while this request lives and is not moved.
  policy::PacketKey Key() const;
};

// {"direction", "interface"?, "source", "destination", "protocol"?, "source_port"?,
//  "destination_port"?}: direction and both addresses (of one family) are required; ports only
// with tcp, udp or sctp.
Result<MatchRequest> MatchRequestFromJson(const Json& j);

// {"action", "policy", "generation", "rule", "weight", "entry", "reason"}; `entry` null when
// nothing matched (default permit, FAQ 6).
Json MatchToJson(policy::Action action, const policy::TableEntry* entry, const std::string& reason,
                 const std::optional<std::string>& policy, uint64_t generation);

}  // namespace ipsec::api::dto
