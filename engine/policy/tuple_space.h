#pragma once

// Tuple space search (Srinivasan, Suri and Varghese, "Packet Classification using Tuple Space
// Search", SIGCOMM 1999; the structure of Open vSwitch's classifier), specialised to the filter
// table: one TupleSpace per (direction, family), built once, then read-only.
//
// Each entry's source and destination ranges are split into prefixes (prefix_cover.h). All
// (source prefix, destination prefix) keys with the same pair of prefix lengths — a "tuple",
// split by protocol when its prefixes are wide — go into one open-addressing hash table keyed
// by the masked addresses; a bucket lists its candidates by rank. A lookup skips the tuples of
// other protocols, masks the packet's addresses once per remaining tuple and probes. Ports and
// interface are checked on the candidates found. Tuples are visited in the order of
// the best rank they hold, so the search stops as soon as the best match so far outranks every
// remaining tuple (priority pruning).
//
// Keys may over-approximate an entry, and the exact check on the candidate rejects the false
// hits: prefix lengths are rounded down to a multiple of kLengthStep (few tuples, so few probes),
// and a range whose cover would still need many prefixes is indexed under its covering prefix.
// Every entry is therefore found through a hash probe; there is no linear fallback list.
//
// A lookup computes all tuples' home slots and prefetches them before probing, so the cache
// misses of large tables overlap.
//
// Internal to engine/policy (classifier.cc); not part of the module's interface.

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/common/ip_address.h"
#include "engine/policy/filter_table.h"
#include "engine/policy/prefix_cover.h"

namespace ipsec::engine::policy::internal {

// Hashes are multiplicative (Knuth's Fibonacci hashing): a table of 2^k slots takes the top k
// bits of key * odd constant, which depend on every key bit, so masked keys (low bits zero)
// spread as well as any.
inline constexpr uint64_t kHashMultiplier = 0x9e3779b97f4a7c15ULL;

template <typename Addr>
struct AddrTraits;

template <>
struct AddrTraits<uint32_t> {
  static constexpr int kBits = 32;
  using Key = uint64_t;
  static Key MakeKey(uint32_t src, uint32_t dst) { return (uint64_t{src} << 32) | dst; }
  static uint64_t Hash(Key k) { return k * kHashMultiplier; }
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
  // Multilinear: a sum of each 64-bit word times its own odd constant.
  static uint64_t Hash(const Key& k) {
    const uint64_t sum = static_cast<uint64_t>(k.src) * 0xa0761d6478bd642fULL +
                         static_cast<uint64_t>(k.src >> 64) * 0xe7037ed1a0b428dbULL +
                         static_cast<uint64_t>(k.dst) * 0x8ebc6af09c88c6e3ULL +
                         static_cast<uint64_t>(k.dst >> 64) * 0x589965cc75374cc3ULL;
    return (sum ^ (sum >> 29)) * kHashMultiplier;
  }
  static Uint128 FromValue(Uint128 v) { return v; }
};

// Prefix lengths are rounded down to a multiple of this before they pick a tuple: a /28 is
// indexed under its /24. The key over-approximates the prefix and the exact check on the
// candidate rejects false hits, but the number of tuples - hash probes per lookup - drops from
// up to 33 x 33 (IPv4) to 5 x 5, and realistic tables need only a handful.
inline constexpr int kLengthStep = 8;

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

// Allocates large arrays on 2 MiB boundaries and asks for transparent huge pages: a lookup
// touches a random slot of each large table, and with 4 KiB pages most such touches would also
// miss the TLB. A hint only; without THP the memory is ordinary.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t{2} << 20;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocator rebinding
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
    const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
    void* p = std::aligned_alloc(kHuge, rounded);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, rounded, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHuge) {
      ::operator delete(p, std::align_val_t{alignof(T)});
    } else {
      std::free(p);
    }
  }
  bool operator==(const HugePageAllocator&) const = default;
};

template <typename Addr>
class TupleSpace {
 public:
  static constexpr uint32_t kNoMatch = UINT32_MAX;

  // Adds an entry; entries must be added best rank first. `entry_index` is what Find returns.
  void Add(const TableEntry& e, uint32_t entry_index);
  // Builds the hash tables; call once, after the last Add.
  void Build();
  struct Match {
    uint32_t entry = kNoMatch;  // index of the best-ranked matching entry, or kNoMatch
    Action action = Action::kPermit;
  };
  // The best-ranked entry matching the packet. Its action is kept beside the index so the
  // lookup need not touch the (large, cold) TableEntry itself.
  Match Find(Addr src, Addr dst, const PacketKey& packet) const;
  size_t tuple_count() const { return tuples_.size(); }

 private:
  using Traits = AddrTraits<Addr>;
  using Key = typename Traits::Key;
  static constexpr int kBits = Traits::kBits;

  // What is left to check once the addresses match, and the action.
  struct Check {
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
    int16_t protocol;  // -1: any
    uint8_t action;    // an Action; one byte keeps a slot in 32 bytes
    // In a slot: the key's prefixes lie inside the entry's ranges and it names no interface,
    // so a key match plus this check is a full match.
    bool complete;
  };
  struct Candidate {
    Addr src_lo, src_hi, dst_lo, dst_hi;
    Check check;
    uint32_t entry;
    const std::vector<std::string>* interfaces;  // nullptr: every interface. Not owned.
  };
  // count == 0: empty. count == 1: `begin` is the candidate, and `entry` and `check` copy it,
  // so the common hit (one exact entry per key) costs one cache line. count > 1: `begin` is
  // the start of the bucket's list in lists_. Aligned so that no slot straddles two lines
  // (32 bytes for IPv4, 64 for IPv6).
  struct alignas(sizeof(Key) == 8 ? 32 : 64) Slot {
    Key key;
    uint32_t begin;
    uint32_t count;
    uint32_t entry;
    Check check;
  };
  struct Tuple {
    Addr src_mask;
    Addr dst_mask;
    int protocol;   // the one protocol of its entries, or -1 for entries of any protocol
    uint32_t best;  // the best (smallest) candidate it holds
    int shift;      // 64 - log2(slots.size()): the hash's top bits pick the home slot
    uint64_t slot_mask;
    std::vector<Slot, HugePageAllocator<Slot>> slots;
  };
  static_assert(sizeof(Slot) == (sizeof(Key) == 8 ? 32 : 64), "one slot per half/full line");
  struct PendingKey {
    Key key;
    uint32_t candidate;
    bool inside;  // the key's prefixes lie inside the candidate's ranges
  };

  static bool Passes(const Check& c, const PacketKey& p) {
    return (c.protocol < 0 || c.protocol == p.protocol) && p.source_port >= c.sport_lo &&
           p.source_port <= c.sport_hi && p.destination_port >= c.dport_lo &&
           p.destination_port <= c.dport_hi;
  }
  static bool Matches(const Candidate& c, Addr src, Addr dst, const PacketKey& p) {
    return src >= c.src_lo && src <= c.src_hi && dst >= c.dst_lo && dst <= c.dst_hi &&
           Passes(c.check, p) && InterfaceMatches(c.interfaces, p.interface);
  }
  static bool Inside(const Prefix& p, Addr lo, Addr hi) {
    const Addr last = static_cast<Addr>(p.value | (~PrefixMaskBits(kBits, p.len) &
                                                   PrefixMaskBits(kBits, kBits)));
    return static_cast<Addr>(p.value) >= lo && last <= hi;
  }
  static std::vector<Prefix> SideKeys(Addr lo, Addr hi);
  static Prefix Quantize(const Prefix& p) {
    const int len = p.len / kLengthStep * kLengthStep;
    return {p.value & PrefixMaskBits(kBits, len), len};
  }
  static size_t Home(const Tuple& t, const Key& key) { return Traits::Hash(key) >> t.shift; }
  static size_t Probe(const Tuple& t, const Key& key, size_t home);
  void BuildTuple(Tuple& t, std::vector<PendingKey>& pending);

  std::vector<Candidate, HugePageAllocator<Candidate>> candidates_;  // in rank order
  std::vector<Tuple> tuples_;          // by best rank after Build()
  std::vector<std::vector<PendingKey>> pending_;  // per tuple, until Build()
  std::unordered_map<uint32_t, int> tuple_of_;  // (lengths, protocol) -> tuple, until Build()
  std::vector<uint32_t> lists_;        // bucket lists, each in rank order
};

// The prefixes one side is indexed under: its exact cover, each rounded down to a tuple length
// (duplicates merged; the cover is ascending, so they are neighbours), or the covering prefix
// when that is still too many.
template <typename Addr>
std::vector<Prefix> TupleSpace<Addr>::SideKeys(Addr lo, Addr hi) {
  std::vector<Prefix> cover = PrefixCover(lo, hi, kBits);
  for (Prefix& p : cover) p = Quantize(p);
  cover.erase(std::unique(cover.begin(), cover.end()), cover.end());
  if (cover.size() > kMaxPrefixesPerSide) return {Quantize(CoveringPrefix(lo, hi, kBits))};
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
  c.check = Check{e.source_ports.first,
                  e.source_ports.last,
                  e.destination_ports.first,
                  e.destination_ports.last,
                  e.protocol ? static_cast<int16_t>(*e.protocol) : int16_t{-1},
                  static_cast<uint8_t>(e.action),
                  false};
  c.entry = entry_index;
  c.interfaces = e.interfaces.empty() ? nullptr : &e.interfaces;
  candidates_.push_back(c);

  std::vector<Prefix> src = SideKeys(c.src_lo, c.src_hi);
  std::vector<Prefix> dst = SideKeys(c.dst_lo, c.dst_hi);
  if (src.size() * dst.size() > kMaxKeysPerEntry) {
    if (src.size() >= dst.size()) {
      src = {Quantize(CoveringPrefix(c.src_lo, c.src_hi, kBits))};
    } else {
      dst = {Quantize(CoveringPrefix(c.dst_lo, c.dst_hi, kBits))};
    }
  }
  for (const Prefix& s : src) {
    for (const Prefix& d : dst) {
      // Wide keys (any <-> any, "me" <-> any) gather many entries in one bucket, such as the
      // exemptions, so their tuples are split by protocol; narrow keys discriminate enough, and
      // splitting them would only add probes of large tables.
      const int protocol = s.len + d.len <= kBits ? c.check.protocol : -1;
      const uint32_t id = static_cast<uint32_t>((s.len * (kBits + 1) + d.len) << 9) |
                          static_cast<uint32_t>(protocol + 1);
      auto [it, added] = tuple_of_.emplace(id, static_cast<int>(tuples_.size()));
      const int slot = it->second;
      if (added) {
        tuples_.push_back(Tuple{static_cast<Addr>(PrefixMaskBits(kBits, s.len)),
                                static_cast<Addr>(PrefixMaskBits(kBits, d.len)), protocol,
                                index, 0, 0, {}});
        pending_.emplace_back();
      }
      pending_[slot].push_back(
          {Traits::MakeKey(static_cast<Addr>(s.value), static_cast<Addr>(d.value)), index,
           Inside(s, c.src_lo, c.src_hi) && Inside(d, c.dst_lo, c.dst_hi)});
    }
  }
}

template <typename Addr>
size_t TupleSpace<Addr>::Probe(const Tuple& t, const Key& key, size_t home) {
  size_t i = home;
  while (t.slots[i].count != 0 && !(t.slots[i].key == key)) i = (i + 1) & t.slot_mask;
  return i;
}

// Sizes the table for a load factor of at most 1/2, counts each bucket, lays the bucket lists
// out in lists_, then fills them in the pending order, which is rank order.
template <typename Addr>
void TupleSpace<Addr>::BuildTuple(Tuple& t, std::vector<PendingKey>& pending) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(4, pending.size() * 2));
  t.slots.assign(capacity, Slot{Key{}, 0, 0, 0, Check{}});
  t.slot_mask = capacity - 1;
  t.shift = 64 - std::countr_zero(capacity);
  std::vector<uint32_t> slot_of(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    const size_t s = Probe(t, pending[i].key, Home(t, pending[i].key));
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
      const Candidate& c = candidates_[pending[i].candidate];
      s.begin = pending[i].candidate;
      s.entry = c.entry;
      s.check = c.check;
      s.check.complete = pending[i].inside && c.interfaces == nullptr;
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
  std::stable_sort(tuples_.begin(), tuples_.end(),
                   [](const Tuple& a, const Tuple& b) { return a.best < b.best; });
}

// Computes every tuple's home slot first and prefetches it, so the cache misses of the large
// tables overlap instead of queueing one after another; then probes in rank order.
template <typename Addr>
typename TupleSpace<Addr>::Match TupleSpace<Addr>::Find(Addr src, Addr dst,
                                                        const PacketKey& packet) const {
  constexpr size_t kPrefetched = 16;
  Key keys[kPrefetched];
  size_t homes[kPrefetched];
  const size_t prefetched = std::min(tuples_.size(), kPrefetched);
  for (size_t i = 0; i < prefetched; ++i) {
    const Tuple& t = tuples_[i];
    if (t.protocol >= 0 && t.protocol != packet.protocol) continue;
    keys[i] = Traits::MakeKey(src & t.src_mask, dst & t.dst_mask);
    homes[i] = Home(t, keys[i]);
    __builtin_prefetch(&t.slots[homes[i]]);
  }
  uint32_t best = kNoMatch;
  Match match;
  for (size_t i = 0; i < tuples_.size(); ++i) {
    const Tuple& t = tuples_[i];
    if (t.best >= best) break;  // priority pruning: nothing left can outrank `best`
    if (t.protocol >= 0 && t.protocol != packet.protocol) continue;
    Key key = i < prefetched ? keys[i] : Traits::MakeKey(src & t.src_mask, dst & t.dst_mask);
    const Slot& slot = t.slots[Probe(t, key, i < prefetched ? homes[i] : Home(t, key))];
    if (slot.count == 0) continue;
    if (slot.count == 1) {
      if (slot.begin < best &&
          (slot.check.complete ? Passes(slot.check, packet)
                               : Matches(candidates_[slot.begin], src, dst, packet))) {
        best = slot.begin;
        match = {slot.entry, static_cast<Action>(slot.check.action)};
      }
      continue;
    }
    for (uint32_t k = 0; k < slot.count; ++k) {
      const uint32_t c = lists_[slot.begin + k];
      if (c >= best) break;
      if (Matches(candidates_[c], src, dst, packet)) {
        best = c;
        match = {candidates_[c].entry, static_cast<Action>(candidates_[c].check.action)};
        break;
      }
    }
  }
  return match;
}

}  // namespace ipsec::engine::policy::internal
