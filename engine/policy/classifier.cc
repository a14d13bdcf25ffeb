#include "engine/policy/classifier.h"

#include <algorithm>
#include <numeric>

#include "engine/policy/tuple_space.h"

// The classifier is a tuple space search (tuple_space.h) per (direction, family): four
// read-only indexes over the table's entries, each holding its entries in rank order, so the
// first match of best rank is the decision. Rank is what classifier.h promises: weight, then
// the most restrictive action, then the lowest id. The compiler numbers entries in that order
// already; the classifier ranks again so that any table (a hand-built one in a test) works.

namespace ipsec::engine::policy {

struct Classifier::Index {
  // [0] outbound, [1] inbound.
  internal::TupleSpace<uint32_t> v4[2];
  internal::TupleSpace<Uint128> v6[2];
};

namespace {

int DirectionSlot(Direction d) { return d == Direction::kOutbound ? 0 : 1; }

bool InterfaceListed(const std::vector<std::string>& listed, std::string_view itf) {
  if (listed.empty()) return true;
  return std::find(listed.begin(), listed.end(), itf) != listed.end();
}

// How many overridden entries a reason names before it summarises the rest.
constexpr size_t kOverriddenNamed = 3;

std::string DescribeOrigin(const EntryOrigin& o) {
  if (o.kind == OriginKind::kExemption) return "exemption '" + o.exemption + "'";
  return "rule '" + o.rule + "'";
}

std::string DescribeMatch(const TableEntry& e) {
  const EntryOrigin& o = e.origin;
  if (o.kind == OriginKind::kExemption) {
    return "exemption '" + o.exemption + "', weight " + std::to_string(e.weight) +
           ": built-in exemptions take precedence over every rule (FAQ 24-26)";
  }
  std::string out = "matched rule '" + o.rule + "' (filter list '" + o.filter_list +
                    "', filter " + std::to_string(o.filter_index);
  if (o.mirror) out += ", mirrored copy";
  out += "), weight " + std::to_string(e.weight);
  return out;
}

std::string DescribeOverridden(const std::vector<OverriddenEntry>& overridden) {
  if (overridden.empty()) return {};
  std::string out = "; overrode ";
  for (size_t i = 0; i < overridden.size() && i < kOverriddenNamed; ++i) {
    if (i > 0) out += ", ";
    out += DescribeOrigin(overridden[i].origin) + " (" + Name(overridden[i].action) + ")";
  }
  if (overridden.size() > kOverriddenNamed) {
    out += " and " + std::to_string(overridden.size() - kOverriddenNamed) + " more";
  }
  return out;
}

std::string WhyNeverSecured(const IpAddress& destination) {
  if (destination.IsMulticast()) return destination.ToString() + " is multicast";
  return destination.ToString() + " is a broadcast address";
}

}  // namespace

bool Matches(const TableEntry& e, const PacketKey& p) {
  return e.direction == p.direction && e.source.Contains(p.source) &&
         e.destination.Contains(p.destination) && (!e.protocol || *e.protocol == p.protocol) &&
         e.source_ports.Contains(p.source_port) &&
         e.destination_ports.Contains(p.destination_port) &&
         InterfaceListed(e.interfaces, p.interface);
}

bool NeverSecured(const FilterTable& table, const IpAddress& destination) {
  if (destination.IsMulticast() || destination.IsLimitedBroadcast()) return true;
  return std::find(table.broadcast_addresses.begin(), table.broadcast_addresses.end(),
                   destination) != table.broadcast_addresses.end();
}

Classifier::Classifier(FilterTable table)
    : table_(std::move(table)), index_(std::make_unique<Index>()) {
  std::vector<uint32_t> order(table_.entries.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const TableEntry& x = table_.entries[a];
    const TableEntry& y = table_.entries[b];
    if (x.weight != y.weight) return x.weight > y.weight;
    if (x.action != y.action) return x.action > y.action;
    return x.id < y.id;
  });
  for (uint32_t i : order) {
    const TableEntry& e = table_.entries[i];
    // A hand-built entry whose sides disagree in family can match no packet.
    if (e.source.family() != e.destination.family()) continue;
    const int d = DirectionSlot(e.direction);
    if (e.source.family() == IpFamily::kV4) {
      index_->v4[d].Add(e, i);
    } else {
      index_->v6[d].Add(e, i);
    }
  }
  for (int d = 0; d < 2; ++d) {
    index_->v4[d].Build();
    index_->v6[d].Build();
  }
}

Classifier::~Classifier() = default;

size_t Classifier::TupleCount() const {
  size_t n = 0;
  for (int d = 0; d < 2; ++d) n += index_->v4[d].tuple_count() + index_->v6[d].tuple_count();
  return n;
}

Classifier::Verdict Classifier::Lookup(const PacketKey& packet) const {
  Verdict verdict;
  if (packet.source.family() != packet.destination.family()) return verdict;
  const int d = DirectionSlot(packet.direction);
  internal::TupleSpace<uint32_t>::Match found;
  if (packet.source.is_v4()) {
    found = index_->v4[d].Find(static_cast<uint32_t>(packet.source.value()),
                               static_cast<uint32_t>(packet.destination.value()), packet);
  } else {
    auto m = index_->v6[d].Find(packet.source.value(), packet.destination.value(), packet);
    found = {m.entry, m.action};
  }
  if (found.entry == internal::TupleSpace<uint32_t>::kNoMatch) return verdict;
  verdict.entry = &table_.entries[found.entry];
  verdict.action = found.action;
  // IPsec never secures multicast or broadcast (FAQ 21); a block still blocks them.
  if (verdict.action == Action::kNegotiate && NeverSecured(table_, packet.destination)) {
    verdict.action = Action::kPermit;
    verdict.never_secured = true;
  }
  return verdict;
}

std::string Classifier::Explain(const PacketKey& packet, const Verdict& verdict) const {
  if (verdict.entry == nullptr) {
    return "no filter matched: unmatched traffic is permitted (FAQ 6)";
  }
  std::string out = DescribeMatch(*verdict.entry) + DescribeOverridden(verdict.entry->overridden);
  if (verdict.never_secured) {
    out += "; it negotiates security, but " + WhyNeverSecured(packet.destination) +
           " and IPsec never secures multicast or broadcast traffic (FAQ 21), so the packet is "
           "permitted";
  }
  return out;
}

Decision Classifier::Classify(const PacketKey& packet) const {
  const Verdict verdict = Lookup(packet);
  return Decision{verdict.action, verdict.entry, Explain(packet, verdict)};
}

}  // namespace ipsec::engine::policy
