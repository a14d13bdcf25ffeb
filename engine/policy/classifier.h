#pragma once

#include <memory>

#include "engine/policy/filter_table.h"

namespace ipsec::engine::policy {

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

 private:
  struct Index;
  FilterTable table_;
  std::unique_ptr<Index> index_;
};

}  // namespace ipsec::engine::policy
