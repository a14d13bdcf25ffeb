#pragma once

// Tuple space search (Srinivasan, Suri and Varghese, "Packet Classification using Tuple Space
// Search", SIGCOMM 1999; the structure of Open vSwitch's classifier), specialised to the filter
// table: one TupleSpace per (direction, family), built once, then read-only.
//
// Each entry's source and destination ranges are split into prefixes (prefix_cover.h). All
// (source prefix, destination prefix) keys with the same pair of prefix lengths — a "tuple" —
// go into one open-addressing hash table keyed by the masked addresses; a bucket lists its
// candidates by rank. A lookup masks the packet's addresses once per tuple and probes. Protocol,
// ports and interface are checked on the candidates found. Tuples are visited in the order of
// the best rank they hold, so the search stops as soon as the best match so far outranks every
// remaining tuple (priority pruning).
//
// Ranges whose exact cover would need many prefixes are indexed under their covering prefix
// instead: the key then over-approximates the range, and the exact check on the candidate
// rejects the false hits. Every entry is therefore found through a hash probe; there is no
// linear fallback list.
//
// Internal to engine/policy (classifier.cc); not part of the module's interface.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/ip_address.h"
#include "engine/policy/filter_table.h"
#include "engine/policy/prefix_cover.h"

namespace ipsec::engine::policy::internal {

inline uint64_t MixBits(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

template <typename Addr>
struct AddrTraits;

template <>
struct AddrTraits<uint32_t> {
  static constexpr int kBits = 32;
  using Key = uint64_t;
  static Key MakeKey(uint32_t src, uint32_t dst) { return (uint64_t{src} << 32) | dst; }
  static uint64_t Hash(Key k) { return MixBits(k); }
  static uint32_t FromValue(Uint128 v) { return static_cast<uint32_t>(v); }
};

template <>
struct AddrTraits<Uint128> {
  static constexpr int kBits = 128;
  struct Key {
    Uint128 src;
    Uint128 dst;
    bool operator==(const Key&) const = default;
  };
  static Key MakeKey(Uint128 src, Uint128 dst) { return {src, dst}; }
  static uint64_t Hash(const Key& k) {
    uint64_t h = MixBits(static_cast<uint64_t>(k.src) ^ 0x9e3779b97f4a7c15ULL);
    h = MixBits(h ^ static_cast<uint64_t>(k.src >> 64));
    h = MixBits(h ^ static_cast<uint64_t>(k.dst));
    return MixBits(h ^ static_cast<uint64_t>(k.dst >> 64));
  }
  static Uint128 FromValue(Uint128 v) { return v; }
};

// Beyond these, a side is indexed under its covering prefix (see the header comment): they
// bound the keys one entry adds, and so the table's size, while exact covers of realistic
// ranges ("10.0.0.5-10.0.0.9" is three prefixes) stay exact.
inline constexpr size_t kMaxPrefixesPerSide = 8;
inline constexpr size_t kMaxKeysPerEntry = 16;

inline bool InterfaceMatches(const std::vector<std::string>* listed, std::string_view itf) {
  if (listed == nullptr) return true;  // the entry applies to every interface
  for (const std::string& name : *listed) {
    if (name == itf) return true;
  }
  return false;
}

template <typename Addr>
class TupleSpace {
 public:
  static constexpr uint32_t kNoMatch = UINT32_MAX;

  // Adds an entry; entries must be added best rank first. `entry_index` is what Find returns.
  void Add(const TableEntry& e, uint32_t entry_index);
  // Builds the hash tables; call once, after the last Add.
  void Build();
  // The entry index of the best-ranked matching entry, or kNoMatch.
  uint32_t Find(Addr src, Addr dst, const PacketKey& packet) const;
  size_t tuple_count() const { return tuples_.size(); }

 private:
  using Traits = AddrTraits<Addr>;
  using Key = typename Traits::Key;
  static constexpr int kBits = Traits::kBits;

  struct Candidate {
    Addr src_lo, src_hi, dst_lo, dst_hi;
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
    int16_t protocol;  // -1: any
    uint32_t entry;
    const std::vector<std::string>* interfaces;  // nullptr: every interface. Not owned.
  };
  // count == 0: empty slot; count == 1: `begin` is the candidate itself (no list to chase).
  struct Slot {
    Key key;
    uint32_t begin;
    uint32_t count;
  };
  struct Tuple {
    Addr src_mask;
    Addr dst_mask;
    uint32_t best;  // the best (smallest) candidate it holds
    uint64_t slot_mask;
    std::vector<Slot> slots;
  };
  struct PendingKey {
    Key key;
    uint32_t candidate;
  };

  bool Matches(const Candidate& c, Addr src, Addr dst, const PacketKey& p) const {
    return src >= c.src_lo && src <= c.src_hi && dst >= c.dst_lo && dst <= c.dst_hi &&
           (c.protocol < 0 || c.protocol == p.protocol) && p.source_port >= c.sport_lo &&
           p.source_port <= c.sport_hi && p.destination_port >= c.dport_lo &&
           p.destination_port <= c.dport_hi && InterfaceMatches(c.interfaces, p.interface);
  }
  static std::vector<Prefix> SideKeys(Addr lo, Addr hi);
  static size_t Probe(const Tuple& t, const Key& key);
  void BuildTuple(Tuple& t, std::vector<PendingKey>& pending);

  std::vector<Candidate> candidates_;  // in rank order
  std::vector<Tuple> tuples_;          // by best rank after Build()
  std::vector<std::vector<PendingKey>> pending_;  // per tuple, until Build()
  std::vector<int> tuple_of_;          // [src_len * (kBits + 1) + dst_len] -> tuple, or -1
  std::vector<uint32_t> lists_;        // bucket lists, each in rank order
};

template <typename Addr>
std::vector<Prefix> TupleSpace<Addr>::SideKeys(Addr lo, Addr hi) {
  std::vector<Prefix> cover = PrefixCover(lo, hi, kBits);
  if (cover.size() > kMaxPrefixesPerSide) return {CoveringPrefix(lo, hi, kBits)};
  return cover;
}

template <typename Addr>
void TupleSpace<Addr>::Add(const TableEntry& e, uint32_t entry_index) {
  const uint32_t index = static_cast<uint32_t>(candidates_.size());
  Candidate c;
  c.src_lo = Traits::FromValue(e.source.first.value());
  c.src_hi = Traits::FromValue(e.source.last.value());
  c.dst_lo = Traits::FromValue(e.destination.first.value());
  c.dst_hi = Traits::FromValue(e.destination.last.value());
  c.sport_lo = e.source_ports.first;
  c.sport_hi = e.source_ports.last;
  c.dport_lo = e.destination_ports.first;
  c.dport_hi = e.destination_ports.last;
  c.protocol = e.protocol ? static_cast<int16_t>(*e.protocol) : int16_t{-1};
  c.entry = entry_index;
  c.interfaces = e.interfaces.empty() ? nullptr : &e.interfaces;
  candidates_.push_back(c);

  std::vector<Prefix> src = SideKeys(c.src_lo, c.src_hi);
  std::vector<Prefix> dst = SideKeys(c.dst_lo, c.dst_hi);
  if (src.size() * dst.size() > kMaxKeysPerEntry) {
    if (src.size() >= dst.size()) {
      src = {CoveringPrefix(c.src_lo, c.src_hi, kBits)};
    } else {
      dst = {CoveringPrefix(c.dst_lo, c.dst_hi, kBits)};
    }
  }
  if (tuple_of_.empty()) tuple_of_.assign((kBits + 1) * (kBits + 1), -1);
  for (const Prefix& s : src) {
    for (const Prefix& d : dst) {
      int& slot = tuple_of_[s.len * (kBits + 1) + d.len];
      if (slot < 0) {
        slot = static_cast<int>(tuples_.size());
        tuples_.push_back(Tuple{static_cast<Addr>(PrefixMaskBits(kBits, s.len)),
                                static_cast<Addr>(PrefixMaskBits(kBits, d.len)), index, 0,
                                {}});
        pending_.emplace_back();
      }
      pending_[slot].push_back(
          {Traits::MakeKey(static_cast<Addr>(s.value), static_cast<Addr>(d.value)), index});
    }
  }
}

template <typename Addr>
size_t TupleSpace<Addr>::Probe(const Tuple& t, const Key& key) {
  size_t i = Traits::Hash(key) & t.slot_mask;
  while (t.slots[i].count != 0 && !(t.slots[i].key == key)) i = (i + 1) & t.slot_mask;
  return i;
}

// Sizes the table for a load factor of at most 1/2, counts each bucket, lays the bucket lists
// out in lists_, then fills them in the pending order, which is rank order.
template <typename Addr>
void TupleSpace<Addr>::BuildTuple(Tuple& t, std::vector<PendingKey>& pending) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(4, pending.size() * 2));
  t.slots.assign(capacity, Slot{Key{}, 0, 0});
  t.slot_mask = capacity - 1;
  std::vector<uint32_t> slot_of(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    const size_t s = Probe(t, pending[i].key);
    t.slots[s].key = pending[i].key;
    ++t.slots[s].count;
    slot_of[i] = static_cast<uint32_t>(s);
  }
  std::vector<uint32_t> filled(capacity, 0);
  for (Slot& s : t.slots) {
    if (s.count > 1) {
      s.begin = static_cast<uint32_t>(lists_.size());
      lists_.resize(lists_.size() + s.count);
    }
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    Slot& s = t.slots[slot_of[i]];
    if (s.count == 1) {
      s.begin = pending[i].candidate;
    } else {
      lists_[s.begin + filled[slot_of[i]]++] = pending[i].candidate;
    }
  }
}

template <typename Addr>
void TupleSpace<Addr>::Build() {
  for (size_t i = 0; i < tuples_.size(); ++i) BuildTuple(tuples_[i], pending_[i]);
  pending_.clear();
  pending_.shrink_to_fit();
  tuple_of_.clear();
  tuple_of_.shrink_to_fit();
  std::stable_sort(tuples_.begin(), tuples_.end(),
                   [](const Tuple& a, const Tuple& b) { return a.best < b.best; });
}

template <typename Addr>
uint32_t TupleSpace<Addr>::Find(Addr src, Addr dst, const PacketKey& packet) const {
  uint32_t best = kNoMatch;
  for (const Tuple& t : tuples_) {
    if (t.best >= best) break;  // priority pruning: nothing left can outrank `best`
    const Key key = Traits::MakeKey(src & t.src_mask, dst & t.dst_mask);
    const Slot& slot = t.slots[Probe(t, key)];
    if (slot.count == 0) continue;
    if (slot.count == 1) {
      if (slot.begin < best && Matches(candidates_[slot.begin], src, dst, packet)) {
        best = slot.begin;
      }
      continue;
    }
    for (uint32_t k = 0; k < slot.count; ++k) {
      const uint32_t c = lists_[slot.begin + k];
      if (c >= best) break;
      if (Matches(candidates_[c], src, dst, packet)) {
        best = c;
        break;
      }
    }
  }
  return best == kNoMatch ? kNoMatch : candidates_[best].entry;
}

}  // namespace ipsec::engine::policy::internal
