#pragma once

#include <memory>
#include <string>

#include "engine/policy/filter_table.h"

namespace ipsec::engine::policy {

// Whether `entry` matches `packet` by every field: direction, family, address ranges, protocol,
// ports and interface (an entry with no interfaces matches every interface, an unknown interface
// matches only those). The definition the classifier implements; a linear scan for references.
bool Matches(const TableEntry& entry, const PacketKey& packet);

// Whether IPsec can never secure a packet to `destination` (FAQ 21): multicast, the limited
// broadcast, or one of the table's directed broadcast addresses.
bool NeverSecured(const FilterTable& table, const IpAddress& destination);

// Answers "which entry decides this packet" for one compiled table: the matching entry of the
// highest weight, ties to the most restrictive action, then the lowest id. Not a linear scan
// (see classifier.cc for the structure). Immutable after construction, so lookups from many
// threads need no lock. Owns a copy of the table.
class Classifier {
 public:
  explicit Classifier(FilterTable table);
  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  const FilterTable& table() const { return table_; }
  Decision Classify(const PacketKey& packet) const;

  // The decision without its explanation: the per-packet path (no allocation).
  struct Verdict {
    Action action = Action::kPermit;
    const TableEntry* entry = nullptr;  // nullptr: nothing matched (FAQ 6). Not owned.
    // The entry negotiates security, but the destination is multicast or broadcast, which
    // IPsec never secures (FAQ 21): the packet is permitted.
    bool never_secured = false;
  };
  Verdict Lookup(const PacketKey& packet) const;
  // Explains a verdict of this classifier for people (Decision::reason).
  std::string Explain(const PacketKey& packet, const Verdict& verdict) const;
  // The number of hash tables (tuples) a lookup may probe, for diagnostics and benchmarks.
  size_t TupleCount() const;

 private:
  struct Index;
  FilterTable table_;
  std::unique_ptr<Index> index_;
};

}  // namespace ipsec::engine::policy
