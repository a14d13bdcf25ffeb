#include "engine/policy/compiler.h"

#include <algorithm>
#include <numeric>

#include "engine/policy/exemptions.h"
#include "engine/policy/validate.h"
#include "engine/policy/weights.h"

// The compiler turns the rules of a validated policy into the specific filters of FAQ 22, as
// docs/policy-model.md describes:
//   1. each filter of each active rule is expanded: "any" to the full range of each family,
//      "me" to each address of the pod's (or the rule's named) interfaces, the pair of sides
//      to the same-family cross product, and the filter (and its mirror) to the directions it
//      can describe;
//   2. exemptions are added in their own, higher tier;
//   3. entries with identical matching fields are merged, the most restrictive action winning
//      and the losers recorded (FAQ 23);
//   4. entries are ordered by weight, restrictiveness and rule order, and numbered.

namespace ipsec::engine::policy {
namespace {

Action ToAction(ActionType t) {
  switch (t) {
    case ActionType::kPermit:
      return Action::kPermit;
    case ActionType::kBlock:
      return Action::kBlock;
    case ActionType::kNegotiate:
      return Action::kNegotiate;
  }
  return Action::kBlock;
}

// Everything a rule contributes to each of its entries.
struct RuleFacts {
  const Rule* rule = nullptr;
  const FilterList* list = nullptr;
  const FilterAction* action = nullptr;
  std::vector<std::string> interfaces;  // sorted, unique; empty: every interface
};

bool InterfaceSelected(const RuleFacts& facts, const std::string& name) {
  return facts.interfaces.empty() ||
         std::binary_search(facts.interfaces.begin(), facts.interfaces.end(), name);
}

// The concrete ranges one side of a filter stands for.
std::vector<IpRange> ExpandSide(const AddressSpec& side, const RuleFacts& facts,
                                const CompileContext& context) {
  std::vector<IpRange> out;
  switch (side.kind) {
    case AddressKind::kAny:
      for (IpFamily f : {IpFamily::kV4, IpFamily::kV6}) {
        if (!side.family || *side.family == f) out.push_back(IpRange::Full(f));
      }
      break;
    case AddressKind::kMyAddress:
      for (const PodInterface& itf : context.interfaces) {
        if (!InterfaceSelected(facts, itf.name)) continue;
        for (const InterfaceAddress& a : itf.addresses) {
          if (!side.family || *side.family == a.address.family()) {
            out.push_back(IpRange::Single(a.address));
          }
        }
      }
      break;
    default:
      out.push_back(side.range);
  }
  return out;
}

// One way of reading a filter: as written, or its mirror (sides and ports swapped).
struct FilterCopy {
  const AddressSpec* source;
  const AddressSpec* destination;
  PortRange source_ports;
  PortRange destination_ports;
  bool mirror;
};

// A filter describes packets by their addresses. When one side is "me" the direction is
// known: packets from us leave, packets to us arrive. Otherwise the copy describes packets in
// both directions (docs/policy-model.md, "Directions").
std::vector<Direction> CopyDirections(const FilterCopy& copy) {
  const bool src_me = copy.source->kind == AddressKind::kMyAddress;
  const bool dst_me = copy.destination->kind == AddressKind::kMyAddress;
  if (src_me && !dst_me) return {Direction::kOutbound};
  if (dst_me && !src_me) return {Direction::kInbound};
  return {Direction::kOutbound, Direction::kInbound};
}

std::vector<FilterCopy> CopiesOf(const Filter& f) {
  std::vector<FilterCopy> copies = {
      {&f.source, &f.destination, f.source_ports, f.destination_ports, false}};
  // A mirror identical to the filter (any <-> any with the same ports) adds nothing.
  const bool symmetric = f.source == f.destination && f.source_ports == f.destination_ports;
  if (f.mirrored && !symmetric) {
    copies.push_back({&f.destination, &f.source, f.destination_ports, f.source_ports, true});
  }
  return copies;
}

void ExpandFilter(const RuleFacts& facts, int filter_index, const CompileContext& context,
                  std::vector<TableEntry>* out) {
  const Filter& filter = facts.list->filters[filter_index];
  const Action action = ToAction(facts.action->type);
  for (const FilterCopy& copy : CopiesOf(filter)) {
    const std::vector<IpRange> sources = ExpandSide(*copy.source, facts, context);
    const std::vector<IpRange> destinations = ExpandSide(*copy.destination, facts, context);
    const std::vector<Direction> directions = CopyDirections(copy);
    for (const IpRange& src : sources) {
      for (const IpRange& dst : destinations) {
        if (src.family() != dst.family()) continue;
        const uint64_t weight = EntryWeight(kRuleTier, src, dst, filter.protocol,
                                            copy.source_ports, copy.destination_ports);
        for (Direction d : directions) {
          TableEntry& e = out->emplace_back();
          e.direction = d;
          e.source = src;
          e.destination = dst;
          e.protocol = filter.protocol;
          e.source_ports = copy.source_ports;
          e.destination_ports = copy.destination_ports;
          e.interfaces = facts.interfaces;
          e.action = action;
          e.weight = weight;
          e.origin = {OriginKind::kRule, facts.rule->name, facts.list->name, filter_index,
                      copy.mirror, {}};
          e.filter_action = facts.action->name;
          if (action == Action::kNegotiate) e.tunnel_endpoint = facts.rule->tunnel_endpoint;
        }
      }
    }
  }
}

GenericFilter MakeGeneric(const RuleFacts& facts, int filter_index) {
  GenericFilter g;
  g.origin = {OriginKind::kRule, facts.rule->name, facts.list->name, filter_index, false, {}};
  g.filter = facts.list->filters[filter_index];
  g.action = ToAction(facts.action->type);
  g.weight = GenericWeight(kRuleTier, g.filter);
  g.filter_action = facts.action->name;
  if (g.action == Action::kNegotiate) g.tunnel_endpoint = facts.rule->tunnel_endpoint;
  g.interfaces = facts.interfaces;
  return g;
}

RuleFacts FactsOf(const Policy& policy, const Rule& rule) {
  RuleFacts facts{&rule, policy.FindFilterList(rule.filter_list),
                  policy.FindFilterAction(rule.filter_action), {}};
  if (!rule.connection_type.all_interfaces) {
    facts.interfaces = rule.connection_type.interfaces;
    std::sort(facts.interfaces.begin(), facts.interfaces.end());
    facts.interfaces.erase(std::unique(facts.interfaces.begin(), facts.interfaces.end()),
                           facts.interfaces.end());
  }
  return facts;
}

// ---- Conflicts (FAQ 23) -----------------------------------------------------------------

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}
uint64_t Mix128(uint64_t h, Uint128 v) {
  return Mix(Mix(h, static_cast<uint64_t>(v)), static_cast<uint64_t>(v >> 64));
}

// The fields that decide which packets an entry matches, plus its tier: an exemption never
// merges with a rule, it outranks it.
uint64_t MatchHash(const TableEntry& e) {
  uint64_t h = Mix(e.weight >> 32, static_cast<uint64_t>(e.direction));
  h = Mix(h, static_cast<uint64_t>(e.source.family()));
  h = Mix128(Mix128(h, e.source.first.value()), e.source.last.value());
  h = Mix128(Mix128(h, e.destination.first.value()), e.destination.last.value());
  h = Mix(h, e.protocol ? *e.protocol + 1u : 0u);
  h = Mix(h, (uint64_t{e.source_ports.first} << 48) | (uint64_t{e.source_ports.last} << 32) |
                 (uint64_t{e.destination_ports.first} << 16) | e.destination_ports.last);
  for (const std::string& itf : e.interfaces) h = Mix(h, std::hash<std::string>()(itf));
  return h;
}

bool SameMatch(const TableEntry& a, const TableEntry& b) {
  return (a.weight >> 32) == (b.weight >> 32) && a.direction == b.direction &&
         a.source == b.source && a.destination == b.destination && a.protocol == b.protocol &&
         a.source_ports == b.source_ports && a.destination_ports == b.destination_ports &&
         a.interfaces == b.interfaces;
}

// Resolves one group of entries with identical matching fields, given in generation order:
// the most restrictive action wins, the first of equals among them; every other entry is
// recorded as overridden. Returns the winner's index.
size_t ResolveGroup(std::vector<TableEntry>& entries, const std::vector<size_t>& group,
                    uint32_t* conflicts_resolved) {
  size_t winner = group.front();
  for (size_t i : group) {
    if (entries[i].action > entries[winner].action) winner = i;
  }
  bool overrode_other_action = false;
  for (size_t i : group) {
    if (i == winner) continue;
    overrode_other_action |= entries[i].action != entries[winner].action;
    entries[winner].overridden.push_back({std::move(entries[i].origin), entries[i].action});
  }
  if (overrode_other_action) ++*conflicts_resolved;
  return winner;
}

// Returns the indices of the surviving entries. Groups are found by hash, then split by exact
// comparison, so a hash collision never merges different entries.
std::vector<size_t> MergeConflicts(std::vector<TableEntry>& entries,
                                   uint32_t* conflicts_resolved) {
  std::vector<std::pair<uint64_t, size_t>> keyed(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) keyed[i] = {MatchHash(entries[i]), i};
  std::sort(keyed.begin(), keyed.end());
  std::vector<size_t> survivors;
  survivors.reserve(entries.size());
  for (size_t begin = 0; begin < keyed.size();) {
    size_t end = begin + 1;
    while (end < keyed.size() && keyed[end].first == keyed[begin].first) ++end;
    if (end - begin == 1) {
      survivors.push_back(keyed[begin].second);
      begin = end;
      continue;
    }
    std::vector<size_t> pending;
    for (size_t k = begin; k < end; ++k) pending.push_back(keyed[k].second);
    while (!pending.empty()) {
      std::vector<size_t> group, rest;
      for (size_t i : pending) {
        (SameMatch(entries[i], entries[pending.front()]) ? group : rest).push_back(i);
      }
      survivors.push_back(ResolveGroup(entries, group, conflicts_resolved));
      pending = std::move(rest);
    }
    begin = end;
  }
  return survivors;
}

// Highest weight first; among equal weights the most restrictive action (FAQ 23); then the
// order the entries were generated in (rule order, filter order, filter before mirror).
std::vector<TableEntry> OrderAndNumber(std::vector<TableEntry>& entries,
                                       const std::vector<size_t>& survivors) {
  // Sort compact keys rather than indices into the (large) entries: far fewer cache misses.
  struct SortKey {
    uint64_t weight;
    Action action;
    size_t index;
  };
  std::vector<SortKey> keys;
  keys.reserve(survivors.size());
  for (size_t i : survivors) keys.push_back({entries[i].weight, entries[i].action, i});
  std::sort(keys.begin(), keys.end(), [](const SortKey& x, const SortKey& y) {
    if (x.weight != y.weight) return x.weight > y.weight;
    if (x.action != y.action) return x.action > y.action;
    return x.index < y.index;
  });
  std::vector<TableEntry> out;
  out.reserve(keys.size());
  for (const SortKey& k : keys) {
    out.push_back(std::move(entries[k.index]));
    out.back().id = static_cast<uint32_t>(out.size());
  }
  return out;
}

// Room for a mirrored filter per address of "me" (a guess: only to avoid regrowing).
size_t EstimateEntries(const Policy& policy, const CompileContext& context) {
  size_t my_addresses = 0;
  for (const PodInterface& itf : context.interfaces) my_addresses += itf.addresses.size();
  size_t filters = 0;
  for (const FilterList& list : policy.filter_lists) filters += list.filters.size();
  return filters * 2 * std::max<size_t>(1, my_addresses / 2) + 64;
}

// Kerberos is valid in the model (FAQ 11) but not supported by the engine yet: say so for each
// rule that lists it, and louder when nothing else is left to authenticate with.
void AuthWarnings(const std::string& who, const std::vector<AuthMethod>& methods,
                  std::vector<std::string>* warnings) {
  size_t usable = 0;
  for (size_t i = 0; i < methods.size(); ++i) {
    if (methods[i].kind != AuthKind::kKerberos) {
      ++usable;
      continue;
    }
    warnings->push_back(who + ": authentication method " + std::to_string(i) +
                        " (kerberos) is not supported by the engine yet; it is skipped");
  }
  if (usable == 0) {
    warnings->push_back(who +
                        ": no authentication method the engine supports (psk or certificate); "
                        "its negotiations will fail");
  }
}

std::vector<std::string> PolicyWarnings(const Policy& policy) {
  std::vector<std::string> out;
  for (const Rule& rule : policy.rules) {
    const FilterAction* action = policy.FindFilterAction(rule.filter_action);
    if (!rule.active || action == nullptr || action->type != ActionType::kNegotiate) continue;
    AuthWarnings("rule '" + rule.name + "'", rule.auth_methods, &out);
  }
  if (policy.default_response.active) {
    AuthWarnings("the default response rule", policy.default_response.auth_methods, &out);
  }
  return out;
}

}  // namespace

Result<FilterTable> CompilePolicy(const Policy& policy, const CompileContext& context) {
  if (Status s = ValidatePolicy(policy); !s) return s.error();
  FilterTable table;
  table.policy = policy.name;
  table.default_response_active = policy.default_response.active;
  for (const PodInterface& itf : context.interfaces) {
    for (const InterfaceAddress& a : itf.addresses) table.local_addresses.push_back(a.address);
  }
  std::vector<TableEntry> drafts;
  drafts.reserve(EstimateEntries(policy, context));
  for (const Rule& rule : policy.rules) {
    if (!rule.active) continue;  // an inactive rule contributes nothing
    ++table.active_rules;
    const RuleFacts facts = FactsOf(policy, rule);
    for (size_t j = 0; j < facts.list->filters.size(); ++j) {
      table.generic.push_back(MakeGeneric(facts, static_cast<int>(j)));
      ExpandFilter(facts, static_cast<int>(j), context, &drafts);
    }
  }
  AppendExemptions(policy.exemptions, context, &drafts, &table.generic);
  std::vector<size_t> survivors = MergeConflicts(drafts, &table.conflicts_resolved);
  table.entries = OrderAndNumber(drafts, survivors);
  table.broadcast_addresses = DirectedBroadcasts(context);
  table.warnings = PolicyWarnings(policy);
  return table;
}

FilterTable EmptyTable() { return FilterTable{}; }

std::vector<IpAddress> DirectedBroadcasts(const CompileContext& context) {
  std::vector<IpAddress> out;
  for (const PodInterface& itf : context.interfaces) {
    for (const InterfaceAddress& a : itf.addresses) {
      // IPv6 has no broadcast; /31 and /32 have no directed broadcast (RFC 3021).
      if (!a.address.is_v4() || a.prefix_len <= 0 || a.prefix_len > 30) continue;
      IpAddress b = IpRange::FromPrefix(a.address, a.prefix_len).last;
      if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    }
  }
  return out;
}

}  // namespace ipsec::engine::policy
