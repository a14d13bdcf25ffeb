#include "engine/dataplane/userspace/sa_table.h"

#include <algorithm>

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
  if (sa.protocol != SaProtocol::kEsp) {
    return MakeError(ErrorCode::kUnimplemented,
                     "the userspace data path carries ESP only (AH: "
                     "not yet)");
  }
  auto state = std::make_shared<SaState>();
  const esp::SaParams params = ToParams(sa, workers_);
  if (sa.direction == SaDirection::kInbound) {
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
  auto next = CopyLocked();
  auto& by_spi = sa.direction == SaDirection::kInbound ? next->inbound : next->outbound;
  if (by_spi.count(sa.spi) != 0) {
    return MakeError(ErrorCode::kAlreadyExists, "SA " + std::to_string(sa.spi) + " exists");
  }
  by_spi[sa.spi] = state;
  if (sa.direction == SaDirection::kOutbound) next->outbound_by_reqid[sa.reqid].push_back(state);
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
  auto next = CopyLocked();
  bool found = next->inbound.erase(spi) > 0;
  lingering_.erase(spi);
  if (auto it = next->outbound.find(spi); it != next->outbound.end()) {
    auto& list = next->outbound_by_reqid[it->second->config.reqid];
    list.erase(std::remove(list.begin(), list.end(), it->second), list.end());
    if (list.empty()) next->outbound_by_reqid.erase(it->second->config.reqid);
    next->outbound.erase(it);
    found = true;
  }
  if (!found) return MakeError(ErrorCode::kNotFound, "no SA " + std::to_string(spi));
  PublishLocked(std::move(next));
  return Status::Ok();
}

void SaTable::Sweep(Clock::time_point now) {
  if (!any_lingering_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(writer_mu_);
  std::shared_ptr<Snapshot> next;
  for (auto it = lingering_.begin(); it != lingering_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    if (!next) next = CopyLocked();
    next->inbound.erase(it->first);
    it = lingering_.erase(it);
  }
  any_lingering_.store(!lingering_.empty(), std::memory_order_release);
  if (next) PublishLocked(std::move(next));
}

Status SaTable::UpdateEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                                const Endpoint& remote, bool udp_encapsulation) {
  (void)protocol;
  std::lock_guard lock(writer_mu_);
  auto next = CopyLocked();
  for (auto* map : {&next->inbound, &next->outbound}) {
    auto it = map->find(spi);
    if (it == map->end()) continue;
    // Snapshots are immutable: a new state with the new endpoints shares the old one's
    // contexts and counters; workers holding the old snapshot finish with the old endpoints.
    auto old = it->second;
    auto fresh = std::make_shared<SaState>(*old);
    fresh->config.local = local;
    fresh->config.remote = remote;
    fresh->config.udp_encapsulation = udp_encapsulation;
    it->second = fresh;
    if (map == &next->outbound) {
      for (auto& sa : next->outbound_by_reqid[fresh->config.reqid]) {
        if (sa == old) sa = fresh;
      }
    }
    PublishLocked(std::move(next));
    return Status::Ok();
  }
  return MakeError(ErrorCode::kNotFound, "no SA " + std::to_string(spi));
}

Status SaTable::AddPolicy(const PolicyConfig& policy) {
  std::lock_guard lock(writer_mu_);
  auto next = CopyLocked();
  if (policy.direction == SaDirection::kInbound) {
    next->inbound_policies[policy.reqid] = policy;
  } else {
    auto& list = next->outbound_policies;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const PolicyConfig& p) { return p.reqid == policy.reqid; }),
               list.end());
    list.insert(list.begin(), policy);
  }
  PublishLocked(std::move(next));
  return Status::Ok();
}

Status SaTable::DeletePolicy(uint32_t reqid, SaDirection direction) {
  std::lock_guard lock(writer_mu_);
  auto next = CopyLocked();
  size_t removed = 0;
  if (direction == SaDirection::kInbound) {
    removed = next->inbound_policies.erase(reqid);
  } else {
    auto& list = next->outbound_policies;
    const size_t before = list.size();
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const PolicyConfig& p) { return p.reqid == reqid; }),
               list.end());
    removed = before - list.size();
  }
  if (removed == 0) return MakeError(ErrorCode::kNotFound, "no policy " + std::to_string(reqid));
  PublishLocked(std::move(next));
  return Status::Ok();
}

Result<SaCounters> SaTable::Query(SaProtocol protocol, uint32_t spi) const {
  (void)protocol;
  auto s = Load();
  const SaState* state = nullptr;
  if (auto it = s->inbound.find(spi); it != s->inbound.end()) state = it->second.get();
  if (auto it = s->outbound.find(spi); it != s->outbound.end()) state = it->second.get();
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
  for (const PolicyConfig& p : s.outbound_policies) {
    if (!SelectorsCover(p.local_ts, source, protocol, source_port, has_ports) ||
        !SelectorsCover(p.remote_ts, destination, protocol, destination_port, has_ports)) {
      continue;
    }
    auto it = s.outbound_by_reqid.find(p.reqid);
    if (it != s.outbound_by_reqid.end() && !it->second.empty()) return it->second.back().get();
  }
  return nullptr;
}

}  // namespace ipsec::engine::dataplane::userspace
