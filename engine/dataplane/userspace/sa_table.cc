#include "engine/dataplane/userspace/sa_table.h"

#include <algorithm>
#include <cstddef>

namespace ipsec::engine::dataplane::userspace {
namespace {

esp::SaParams ToParams(const SaConfig& sa, unsigned workers) {
  esp::SaParams p;
  p.spi = sa.spi;
  p.protocol = sa.protocol == SaProtocol::kAh ? esp::Protocol::kAh : esp::Protocol::kEsp;
  p.mode = sa.mode == SaMode::kTunnel ? esp::Mode::kTunnel : esp::Mode::kTransport;
  p.transform.encryption_id = sa.algorithms.encryption_id;
  p.transform.encryption_key_bits = sa.algorithms.encryption_key_bits;
  p.transform.integrity_id = sa.algorithms.integrity_id;
  p.transform.esn = sa.algorithms.esn;
  p.transform.encryption_key = sa.algorithms.encryption_key;
  p.transform.integrity_key = sa.algorithms.integrity_key;
  // RFC 4303 §3.4.3: at least the window IKE asked for, and never below the 1024.
  p.replay_window = std::clamp<uint32_t>(std::max<uint32_t>(sa.replay_window, 1024),
                                         esp::kMinReplayWindow, esp::kMaxReplayWindow);
  p.workers = workers;
  return p;
}

bool Covers(const TrafficSelector& t, const IpAddress& a, uint8_t protocol, uint16_t port,
            bool has_ports) {
  if (!t.addresses.Contains(a)) return false;
  if (t.protocol != 0 && t.protocol != protocol) return false;
  if (t.start_port == 0 && t.end_port == 65535) return true;
  // RFC 7296 §3.13.1: a port range other than any matches only packets that have ports (ICMP
  // type/code ride in the port fields; the codec puts them in source_port).
  return has_ports && port >= t.start_port && port <= t.end_port;
}

}  // namespace

Status CheckAhEncapsulation(SaProtocol protocol, bool udp_encapsulation, bool bundle) {
  if ((protocol == SaProtocol::kAh || bundle) && udp_encapsulation) {
    // RFC 3948 §1 defines UDP encapsulation for ESP only, and AH's ICV covers the IP addresses
    // a NAT rewrites (RFC 3715 §2.1): AH cannot cross a NAT.
    return MakeError(ErrorCode::kInvalidArgument,
                     "AH cannot cross a NAT (RFC 3715 §2.1; RFC 3948 encapsulates ESP only): "
                     "use ESP, e.g. ESP-null for integrity only (FAQ 45)");
  }
  return Status::Ok();
}

bool SelectorsCover(const std::vector<TrafficSelector>& ts, const IpAddress& address,
                    uint8_t protocol, uint16_t port, bool has_ports) {
  if (ts.empty()) return true;
  for (const auto& t : ts) {
    if (Covers(t, address, protocol, port, has_ports)) return true;
  }
  return false;
}

SaTable::SaTable(unsigned workers)
    : workers_(std::max(1u, workers)), current_(std::make_shared<const Snapshot>()) {}

std::shared_ptr<Snapshot> SaTable::CopyLocked() const {
  // Copies shard and chunk pointers only; ShardedMap::Edit copies the one shard a change needs.
  return std::make_shared<Snapshot>(*std::atomic_load(&current_));
}

void SaTable::PublishLocked(std::shared_ptr<Snapshot> next) {
  std::atomic_store(&current_, std::shared_ptr<const Snapshot>(std::move(next)));
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<RulePeerStats> SaTable::RulePeerLocked(const std::string& rule,
                                                       const std::string& peer) {
  auto& slot = rule_peer_[{rule, peer}];
  if (!slot) {
    slot = std::make_shared<RulePeerStats>();
    slot->rule = rule;
    slot->peer = peer;
  }
  return slot;
}

Status SaTable::AddSa(const SaConfig& sa) {
  if (Status s = CheckAhEncapsulation(sa.protocol, sa.udp_encapsulation, sa.bundle); !s.ok()) {
    return s;
  }
  auto state = std::make_shared<SaState>();
  const esp::SaParams params = ToParams(sa, workers_);
  if (sa.protocol == SaProtocol::kAh) {
    // RFC 4302: AH on whole IP packets (ah_path.cc carries them).
    if (sa.direction == SaDirection::kInbound) {
      auto in = esp::AhInboundSa::Create(params);
      if (!in.ok()) return in.error();
      state->ah_inbound = std::move(in).value();
    } else {
      auto out = esp::AhOutboundSa::Create(params);
      if (!out.ok()) return out.error();
      state->ah_outbound = std::move(out).value();
    }
  } else if (sa.direction == SaDirection::kInbound) {
    auto in = esp::InboundSa::Create(params);
    if (!in.ok()) return in.error();
    state->inbound = std::move(in).value();
  } else {
    auto out = esp::OutboundSa::Create(params);
    if (!out.ok()) return out.error();
    state->outbound = std::move(out).value();
  }
  state->config = sa;
  state->config.algorithms.encryption_key = SecretBytes();  // the esp context holds the keys
  state->config.algorithms.integrity_key = SecretBytes();
  std::lock_guard lock(writer_mu_);
  state->rule_peer = RulePeerLocked(sa.rule, sa.peer);
  const auto current = std::atomic_load(&current_);
  if ((sa.direction == SaDirection::kInbound ? current->inbound : current->outbound)
          .count(sa.spi)) {
    return MakeError(ErrorCode::kAlreadyExists, "SA " + std::to_string(sa.spi) + " exists");
  }
  auto next = CopyLocked();
  uint64_t copied = 0;
  auto& by_spi = sa.direction == SaDirection::kInbound ? next->inbound : next->outbound;
  by_spi.Edit(sa.spi, &copied)[sa.spi] = state;
  if (sa.direction == SaDirection::kOutbound) {
    next->outbound_by_reqid.Edit(sa.reqid, &copied)[sa.reqid].push_back(state);
  }
  CountCopiedLocked(copied);
  PublishLocked(std::move(next));
  return Status::Ok();
}

Status SaTable::DeleteSa(SaProtocol protocol, uint32_t spi, Clock::time_point now) {
  (void)protocol;
  std::lock_guard lock(writer_mu_);
  auto current = std::atomic_load(&current_);
  if (current->inbound.count(spi) != 0 && current->outbound.count(spi) == 0) {
    // Deleted for IKE, still accepting for kInboundLinger (Sweep removes it).
    if (!lingering_.emplace(spi, now + kInboundLinger).second) {
      return MakeError(ErrorCode::kNotFound, "no SA " + std::to_string(spi));
    }
    any_lingering_.store(true, std::memory_order_release);
    return Status::Ok();
  }
  const bool in = current->inbound.count(spi) != 0;
  const auto* out = current->outbound.find(spi);
  if (!in && out == nullptr) return MakeError(ErrorCode::kNotFound, "no SA " + std::to_string(spi));
  auto next = CopyLocked();
  uint64_t copied = 0;
  if (in) next->inbound.Edit(spi, &copied).erase(spi);
  lingering_.erase(spi);
  if (out != nullptr) {
    const std::shared_ptr<SaState> state = out->second;
    const uint32_t reqid = state->config.reqid;
    auto& by_reqid = next->outbound_by_reqid.Edit(reqid, &copied);
    auto& list = by_reqid[reqid];
    list.erase(std::remove(list.begin(), list.end(), state), list.end());
    if (list.empty()) by_reqid.erase(reqid);
    next->outbound.Edit(spi, &copied).erase(spi);
  }
  CountCopiedLocked(copied);
  PublishLocked(std::move(next));
  return Status::Ok();
}

void SaTable::Sweep(Clock::time_point now) {
  if (!any_lingering_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(writer_mu_);
  std::shared_ptr<Snapshot> next;
  uint64_t copied = 0;
  for (auto it = lingering_.begin(); it != lingering_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    if (!next) next = CopyLocked();
    next->inbound.Edit(it->first, &copied).erase(it->first);
    it = lingering_.erase(it);
  }
  any_lingering_.store(!lingering_.empty(), std::memory_order_release);
  CountCopiedLocked(copied);
  if (next) PublishLocked(std::move(next));
}

Status SaTable::UpdateEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                                const Endpoint& remote, bool udp_encapsulation) {
  (void)protocol;
  std::lock_guard lock(writer_mu_);
  auto next = CopyLocked();
  uint64_t copied = 0;
  for (auto* map : {&next->inbound, &next->outbound}) {
    const auto* entry = map->find(spi);
    if (entry == nullptr) continue;
    if (Status s = CheckAhEncapsulation(entry->second->config.protocol, udp_encapsulation,
                                        entry->second->config.bundle);
        !s.ok()) {
      return s;  // a NAT appeared (MOBIKE, RFC 4555): an AH SA cannot follow
    }
    // Snapshots are immutable: a new state with the new endpoints shares the old one's
    // contexts and counters; workers holding the old snapshot finish with the old endpoints.
    auto old = entry->second;
    auto fresh = std::make_shared<SaState>(*old);
    fresh->config.local = local;
    fresh->config.remote = remote;
    fresh->config.udp_encapsulation = udp_encapsulation;
    map->Edit(spi, &copied)[spi] = fresh;
    if (map == &next->outbound) {
      const uint32_t reqid = fresh->config.reqid;
      for (auto& sa : next->outbound_by_reqid.Edit(reqid, &copied)[reqid]) {
        if (sa == old) sa = fresh;
      }
    }
    CountCopiedLocked(copied);
    PublishLocked(std::move(next));
    return Status::Ok();
  }
  return MakeError(ErrorCode::kNotFound, "no SA " + std::to_string(spi));
}

// Removes reqid's outbound policy (if any) from next's chunked list: copies its chunk only,
// merging it with a neighbour when both fit in one chunk (so deletes do not leave the list
// fragmented into many small chunks).
void SaTable::RemoveOutboundPolicyLocked(Snapshot& next, uint32_t reqid, bool* removed) {
  *removed = false;
  auto where = policy_chunk_.find(reqid);
  if (where == policy_chunk_.end()) return;
  auto& chunks = next.outbound_policies.chunks_;
  size_t i = 0;
  while (i < chunks.size() && chunks[i].get() != where->second) ++i;
  policy_chunk_.erase(where);
  if (i == chunks.size()) return;  // not reached: the map follows the current snapshot
  auto fresh = std::make_shared<PolicyChunk>();
  uint64_t copied = 0;
  for (const auto& p : chunks[i]->policies) {
    if (p.reqid != reqid) fresh->policies.push_back(p);
    ++copied;
  }
  *removed = fresh->policies.size() != chunks[i]->policies.size();
  // Merge with the next (older) chunk when both fit: newest first is kept.
  if (i + 1 < chunks.size() &&
      fresh->policies.size() + chunks[i + 1]->policies.size() <= PolicyList::kChunk) {
    for (const auto& p : chunks[i + 1]->policies) fresh->policies.push_back(p);
    copied += chunks[i + 1]->policies.size();
    chunks.erase(chunks.begin() + static_cast<std::ptrdiff_t>(i) + 1);
  }
  // And with the previous (newer) one: every two adjacent chunks then hold more than kChunk
  // policies, so there are at most 2n/kChunk + 1 chunks.
  if (i > 0 && fresh->policies.size() + chunks[i - 1]->policies.size() <= PolicyList::kChunk) {
    const auto& newer = chunks[i - 1]->policies;
    fresh->policies.insert(fresh->policies.begin(), newer.begin(), newer.end());
    copied += newer.size();
    chunks.erase(chunks.begin() + static_cast<std::ptrdiff_t>(i) - 1);
    --i;
  }
  CountCopiedLocked(copied);
  if (fresh->policies.empty()) {
    chunks.erase(chunks.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
  for (const auto& p : fresh->policies) policy_chunk_[p.reqid] = fresh.get();
  chunks[i] = std::move(fresh);
}

Status SaTable::AddPolicy(const PolicyConfig& policy) {
  std::lock_guard lock(writer_mu_);
  auto next = CopyLocked();
  if (policy.direction == SaDirection::kInbound) {
    uint64_t copied = 0;
    next->inbound_policies.Edit(policy.reqid, &copied)[policy.reqid] = policy;
    CountCopiedLocked(copied);
  } else {
    bool removed = false;
    RemoveOutboundPolicyLocked(*next, policy.reqid, &removed);
    // Newest first: into the front chunk while it has room, else a new front chunk.
    auto& chunks = next->outbound_policies.chunks_;
    auto fresh = std::make_shared<PolicyChunk>();
    fresh->policies.push_back(policy);
    if (!chunks.empty() && chunks.front()->policies.size() < PolicyList::kChunk) {
      const auto& front = chunks.front()->policies;
      fresh->policies.insert(fresh->policies.end(), front.begin(), front.end());
      CountCopiedLocked(front.size());
      chunks.front() = fresh;
    } else {
      chunks.insert(chunks.begin(), fresh);
    }
    for (const auto& p : fresh->policies) policy_chunk_[p.reqid] = fresh.get();
  }
  PublishLocked(std::move(next));
  return Status::Ok();
}

Status SaTable::DeletePolicy(uint32_t reqid, SaDirection direction) {
  std::lock_guard lock(writer_mu_);
  const auto current = std::atomic_load(&current_);
  if (direction == SaDirection::kInbound ? current->inbound_policies.count(reqid) == 0
                                         : policy_chunk_.count(reqid) == 0) {
    return MakeError(ErrorCode::kNotFound, "no policy " + std::to_string(reqid));
  }
  auto next = CopyLocked();
  if (direction == SaDirection::kInbound) {
    uint64_t copied = 0;
    next->inbound_policies.Edit(reqid, &copied).erase(reqid);
    CountCopiedLocked(copied);
  } else {
    bool removed = false;
    RemoveOutboundPolicyLocked(*next, reqid, &removed);
    if (!removed) return MakeError(ErrorCode::kNotFound, "no policy " + std::to_string(reqid));
  }
  PublishLocked(std::move(next));
  return Status::Ok();
}

Result<SaCounters> SaTable::Query(SaProtocol protocol, uint32_t spi) const {
  (void)protocol;
  auto s = Load();
  const SaState* state = nullptr;
  if (const auto* e = s->inbound.find(spi)) state = e->second.get();
  if (const auto* e = s->outbound.find(spi)) state = e->second.get();
  if (state == nullptr) return MakeError(ErrorCode::kNotFound, "no SA " + std::to_string(spi));
  SaCounters c;
  c.bytes = state->stats->bytes.load(std::memory_order_relaxed);
  c.packets = state->stats->packets.load(std::memory_order_relaxed);
  c.last_used_unix = state->stats->last_used_unix.load(std::memory_order_relaxed);
  return c;
}

bool SaTable::SpiInUse(uint32_t spi) const {
  auto s = Load();
  return s->inbound.count(spi) != 0 || s->outbound.count(spi) != 0;
}

bool SaTable::HasBundledOutbound() const {
  return Load()->outbound.any_of([](const auto& entry) { return entry.second->config.bundle; });
}

std::vector<RulePeerTraffic> SaTable::RulePeerCounters() const {
  std::lock_guard lock(writer_mu_);
  std::vector<RulePeerTraffic> out;
  for (const auto& [key, stats] : rule_peer_) {
    RulePeerTraffic t;
    t.rule = stats->rule;
    t.peer = stats->peer;
    for (int d = 0; d < 2; ++d) {
      t.packets[d] = stats->packets[d].load(std::memory_order_relaxed);
      t.bytes[d] = stats->bytes[d].load(std::memory_order_relaxed);
    }
    out.push_back(std::move(t));
  }
  return out;
}

const SaState* SaTable::LookupOutbound(const Snapshot& s, const IpAddress& source,
                                       const IpAddress& destination, uint8_t protocol,
                                       uint16_t source_port, uint16_t destination_port,
                                       bool has_ports) {
  for (const auto& chunk : s.outbound_policies.chunks()) {
    for (const PolicyConfig& p : chunk->policies) {
      if (!SelectorsCover(p.local_ts, source, protocol, source_port, has_ports) ||
          !SelectorsCover(p.remote_ts, destination, protocol, destination_port, has_ports)) {
        continue;
      }
      const auto* sas = s.outbound_by_reqid.find(p.reqid);
      if (sas != nullptr && !sas->second.empty()) return sas->second.back().get();
    }
  }
  return nullptr;
}

const SaState* SaTable::NewestBundled(const Snapshot& s, uint32_t reqid, SaProtocol protocol) {
  const auto* sas = s.outbound_by_reqid.find(reqid);
  if (sas == nullptr) return nullptr;
  // Newest last; a reqid holds a handful of SAs (two per protocol during a rekey).
  for (auto it = sas->second.rbegin(); it != sas->second.rend(); ++it) {
    const SaState& sa = **it;
    if (sa.config.bundle && sa.config.protocol == protocol && sa.CarriesOutbound()) return &sa;
  }
  return nullptr;
}

}  // namespace ipsec::engine::dataplane::userspace
