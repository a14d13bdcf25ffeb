#pragma once

// The effective filter table (FAQ 22): what the compiler makes of the policy in force. Every
// entry is concrete (one direction, one family, address ranges, "my address" resolved), carries
// its specificity weight (docs/filter-weights.md) and where it came from, and records the rules
// it overrode when filters conflicted (FAQ 23). Traffic no entry matches is permitted (FAQ 6).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/ip_address.h"
#include "engine/policy/model.h"

namespace ipsec::engine::policy {

enum class Direction { kOutbound, kInbound };
const char* Name(Direction d);  // outbound, inbound

// Ordered by restrictiveness: block > negotiate (secure) > permit (FAQ 23).
enum class Action { kPermit = 0, kNegotiate = 1, kBlock = 2 };
const char* Name(Action a);  // permit, negotiate, block

enum class OriginKind {
  kRule,       // a filter of a rule's filter list
  kExemption,  // a built-in exemption (IKE, DNS, NetBIOS, kubelet probes)
};

struct EntryOrigin {
  OriginKind kind = OriginKind::kRule;
  std::string rule;          // kRule: the rule's name
  std::string filter_list;   // kRule
  int filter_index = -1;     // kRule: index within the filter list
  bool mirror = false;       // kRule: the reversed copy of a mirrored filter
  std::string exemption;     // kExemption: ike, esp, ah, dns, netbios, kubelet-probes
};

// A rule whose entry lost a conflict to a more restrictive one with identical matching fields.
struct OverriddenEntry {
  EntryOrigin origin;
  Action action = Action::kPermit;
};

// One compiled ("specific") filter.
struct TableEntry {
  uint32_t id = 0;  // stable within one compiled table
  Direction direction = Direction::kOutbound;
  IpRange source;       // local address for outbound, remote for inbound
  IpRange destination;  // same family as source
  std::optional<uint8_t> protocol;
  PortRange source_ports;
  PortRange destination_ports;
  std::vector<std::string> interfaces;  // empty: every interface
  Action action = Action::kPermit;
  uint64_t weight = 0;
  EntryOrigin origin;
  // kNegotiate: what to negotiate with.
  std::string filter_action;
  std::optional<IpAddress> tunnel_endpoint;
  std::vector<OverriddenEntry> overridden;  // conflicts this entry won (FAQ 23)
};

// One configured ("generic") filter, as the rule states it, before expansion (FAQ 22:
// `netsh ipsec dynamic show` generic vs specific).
struct GenericFilter {
  EntryOrigin origin;
  Filter filter;
  Action action = Action::kPermit;
  uint64_t weight = 0;
  std::string filter_action;
  std::optional<IpAddress> tunnel_endpoint;
  std::vector<std::string> interfaces;
};

struct FilterTable {
  std::string policy;  // name of the policy compiled; empty when none is in force
  std::vector<GenericFilter> generic;
  std::vector<TableEntry> entries;  // ordered by weight, highest first; ties: most restrictive
  uint32_t conflicts_resolved = 0;  // entries that overrode at least one other
  uint32_t active_rules = 0;
  bool default_response_active = false;
  // What the engine will not do as the policy says (for people; the API and the log show them):
  // Kerberos methods, which the engine does not support yet, and rules left with no
  // authentication method it can use.
  std::vector<std::string> warnings;
  // The subnet-directed broadcast addresses of the pod's interfaces (IPv4 prefixes up to /30),
  // which, like 255.255.255.255 and multicast, the classifier never secures (FAQ 21).
  std::vector<IpAddress> broadcast_addresses;
  // The pod's own addresses ("my address" resolved; CompileContext::interfaces). Empty: not
  // known (a table compiled without interfaces).
  std::vector<IpAddress> local_addresses;
};

// A packet as the classifier sees it. Ports are zero for protocols without ports.
struct PacketKey {
  Direction direction = Direction::kOutbound;
  std::string_view interface;  // empty: unknown; matches only entries for every interface
  IpAddress source;
  IpAddress destination;
  uint8_t protocol = 0;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
};

struct Decision {
  Action action = Action::kPermit;
  const TableEntry* entry = nullptr;  // nullptr: nothing matched, default permit (FAQ 6). Not owned.
  std::string reason;                 // for people: why this decision
};

}  // namespace ipsec::engine::policy
