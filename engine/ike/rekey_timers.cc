// IkeManager's time-driven side and CREATE_CHILD_SA follow-ups (RFC 7296 §1.3, §2.4, §2.8,
// §2.18, §2.25; FAQ 18, 55, 58; RFC 3948 §2.3); an IKE SA rekey's successor is
// ike_successor.cc. Every function takes `now`; none reads a clock except UnixNow() for
// wall-clock timestamps.

#include <algorithm>
#include <charconv>

#include "engine/ike/ike_manager.h"
#include "engine/ike/ike_manager_entry.h"
#include "engine/ike/tasks/create_child_sa.h"
#include "engine/ike/tasks/informational.h"
#include "engine/ike/tasks/rekey_ike_sa.h"

namespace ipsec::engine::ike {
namespace {

std::optional<uint64_t> IdNumber(const std::string& id, const char* prefix) {
  const size_t n = std::string(prefix).size();
  if (id.rfind(prefix, 0) != 0 || id.size() == n) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(id.data() + n, id.data() + id.size(), value);
  if (ec != std::errc() || ptr != id.data() + id.size()) return std::nullopt;
  return value;
}

dataplane::SaProtocol SaProtocolOf(const ChildSa& c) {
  return c.algorithms.protocol == codec::ProtocolId::kAh ? dataplane::SaProtocol::kAh
                                                         : dataplane::SaProtocol::kEsp;
}

std::string Seconds(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

SteadyTime IkeManager::Jittered(SteadyTime start, SteadyTime hard_expiry) {
  if (hard_expiry == SteadyTime::max() || hard_expiry <= start) return hard_expiry;
  const IkeTimers& t = config_->timers;
  // §2.8.1: a random soft lifetime makes simultaneous rekeys by both peers unlikely.
  const double u = static_cast<double>(options_.random->Uint64() >> 11) / 9007199254740992.0;
  const double fraction = std::max(0.0, t.rekey_fraction - t.rekey_jitter * u);
  const auto life = hard_expiry - start;
  return start + std::chrono::duration_cast<SteadyTime::duration>(life * fraction);
}

IkeManager::Entry* IkeManager::FindIkeSa(const std::string& id, Status* error) {
  auto n = IdNumber(id, "ike-");
  Entry* entry = n ? FindById(*n) : nullptr;
  if (entry == nullptr) *error = MakeError(ErrorCode::kNotFound, "no IKE SA '" + id + "'");
  return entry;
}

Status IkeManager::InitiateChild(const std::string& ike_id, const std::string& rule_name,
                                 SteadyTime now, std::optional<RuleTraffic> traffic) {
  now_ = now;
  InvalidateDeadlines();
  Status error = Status::Ok();
  Entry* entry = FindIkeSa(ike_id, &error);
  if (entry == nullptr) return error;
  IkeSa& sa = entry->sa;
  if (sa.state != IkeSaState::kEstablished && sa.state != IkeSaState::kRekeying) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     ike_id + " is " + Name(sa.state) + ", not established");
  }
  const NegotiateRule* rule = sa.config->FindRule(rule_name);
  if (rule == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     "no rule '" + rule_name + "' in " + ike_id + "'s policy");
  }
  if (Status s = QueueNewChild(*entry, *rule, traffic); !s.ok()) return s;
  Outbox out;
  entry->tasks.Flush(now, out);
  Settle(*entry, out);
  return Status::Ok();
}

Status IkeManager::QueueNewChild(Entry& entry, const NegotiateRule& rule,
                                 const std::optional<RuleTraffic>& traffic) {
  IkeSa& sa = entry.sa;
  const std::string ike_id = "ike-" + std::to_string(sa.id);
  // Only a rule that accepts what authenticated the peer (peer_authentication.h); while IKE_AUTH
  // is under way the IKE SA is for this rule (it runs after IKE_AUTH, which binds it).
  if (sa.state != IkeSaState::kConnecting && !Satisfies(sa.peer_authentication, rule)) {
    return MakeError(
        ErrorCode::kFailedPrecondition,
        ike_id + "'s peer authenticated with " +
            (sa.peer_authentication ? Describe(*sa.peer_authentication) : std::string("nothing")) +
            ", which rule '" + rule.name +
            "' does not accept: its child SAs need an IKE SA of their own");
  }
  // §2.9: the traffic asked for (or the rule's first pair) and the rule's pairs that keep every
  // combination inside the policy; the others need child SAs of their own.
  NarrowedTraffic offer = ChildOffer(rule, sa.local.address, sa.remote.address, traffic);
  if (offer.local.empty() || offer.remote.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "rule '" + rule.name +
                                                         "' has no traffic for " + ike_id +
                                                         " with " + sa.remote.address.ToString());
  }
  entry.child_offers.push_back(offer);
  const uint32_t max = sa.config->max_child_sas;
  if (ChildLimitReached(sa)) {
    // FAQ 18: "generate a new key every N sessions": the IKE SA is rekeyed first, and the
    // child SA is made under the new one.
    entry.pending_children.push_back({rule.name, offer.local, offer.remote});
    if (!entry.ike_rekey_queued && sa.state == IkeSaState::kEstablished) QueueIkeRekey(entry);
    options_.observer->OnLog(&sa, "FAQ 18: " + std::to_string(sa.children_created) +
                                      " child SAs made under this IKE SA (limit " +
                                      std::to_string(max) + "): rekeying it first");
  } else {
    auto task = CreateChildSaTask::NewChild(sa, installer_, *options_.random, rule.name,
                                            std::move(offer.local), std::move(offer.remote));
    task->set_now_unix(UnixNow());
    entry.tasks.Queue(std::move(task));
  }
  return Status::Ok();
}

// FAQ 18 ("Session key PFS"): without session key PFS, "new session keys are derived from
// current master key keying material, subject to the number of times the master key keying
// material can be used to derive the session key". The master key is the IKE SA's SK_d and a
// session key a child SA's KEYMAT (RFC 7296 §2.17). A child SA's rekey derives KEYMAT from
// SK_d exactly as a new child SA does (in the FAQ's IKEv1 a rekey is simply another quick
// mode), so the limit counts every child SA keyed under the IKE SA: the one of IKE_AUTH, new
// ones and rekeys, in either role (IkeSa::children_created). With PFS the derivation still
// feeds SK_d into prf+, so those count too; a rekeyed IKE SA starts from 0. When the next
// derivation we would start exceeds the limit, the IKE SA is rekeyed first. The peer's requests
// are answered regardless (its own policy limits it).
bool IkeManager::ChildLimitReached(const IkeSa& sa) {
  const uint32_t max = sa.config->max_child_sas;
  return max != 0 && sa.children_created >= max;
}

void IkeManager::QueueChildRekey(Entry& entry, ChildSa& child, SteadyTime now) {
  IkeSa& sa = entry.sa;
  child.rekey_queued = true;
  if (ChildLimitReached(sa) && sa.state == IkeSaState::kEstablished) {
    entry.pending_rekeys.push_back(child.spi_in);
    if (!entry.ike_rekey_queued) QueueIkeRekey(entry);
    options_.observer->OnLog(&sa, "FAQ 18: " + std::to_string(sa.children_created) +
                                      " child SA keys derived under this IKE SA (limit " +
                                      std::to_string(sa.config->max_child_sas) +
                                      "): rekeying it before child-" + std::to_string(child.reqid));
    return;
  }
  (void)now;
  auto task = CreateChildSaTask::Rekey(sa, installer_, *options_.random, child.spi_in);
  task->set_now_unix(UnixNow());
  entry.tasks.Queue(std::move(task));
}

void IkeManager::QueueIkeRekey(Entry& entry) {
  entry.ike_rekey_queued = true;
  entry.tasks.Queue(std::make_unique<RekeyIkeSaTask>(entry.sa, *options_.random, Role::kInitiator,
                                                     [this] { return NewSpi(); }));
}

Status IkeManager::Rekey(const std::string& id, SteadyTime now) {
  now_ = now;
  InvalidateDeadlines();
  Outbox out;
  if (IdNumber(id, "ike-")) {
    Status error = Status::Ok();
    Entry* entry = FindIkeSa(id, &error);
    if (entry == nullptr) return error;
    if (entry->sa.state != IkeSaState::kEstablished) {
      return MakeError(ErrorCode::kFailedPrecondition, id + " is " + Name(entry->sa.state));
    }
    if (!entry->ike_rekey_queued) QueueIkeRekey(*entry);
    entry->tasks.Flush(now, out);
    Settle(*entry, out);
    return Status::Ok();
  }
  if (auto reqid = IdNumber(id, "child-")) {
    bool exists = false;
    for (auto& [spi, e] : sas_) {
      if (e->dead) continue;
      for (ChildSa& c : e->sa.children) {
        if (c.reqid != *reqid) continue;
        exists = true;
        // A pair we installed as the responder of the peer's rekey, still holding its outbound
        // SA back (§2.8), may be unknown to the peer: its response can still be on the way. A
        // REKEY_SA naming it would meet CHILD_SA_NOT_FOUND, and §2.25 then has us drop the very
        // SA the peer is about to use. Its rekey waits until the peer has confirmed it.
        if (c.state != ChildSaState::kInstalled || c.deferred_outbound) continue;
        if (!c.rekey_queued) QueueChildRekey(*e, c, now);
        e->tasks.Flush(now, out);
        Settle(*e, out);
        return Status::Ok();
      }
    }
    if (exists) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       id + " is being rekeyed (RFC 7296 §2.8); try again once that completes");
    }
  }
  return MakeError(ErrorCode::kNotFound, "no security association '" + id + "' to rekey");
}

void IkeManager::OnExpire(dataplane::SaProtocol protocol, uint32_t spi, bool hard, SteadyTime now) {
  now_ = now;
  InvalidateDeadlines();
  for (auto& [local_spi, e] : sas_) {
    if (e->dead) continue;
    for (ChildSa& c : e->sa.children) {
      const bool pair = SaProtocolOf(c) == protocol && (c.spi_in == spi || c.spi_out == spi);
      // FAQ 46: a bundle's AH SAs expire with (and rekey) the child SA too.
      const bool ah_half = c.algorithms.bundle() && protocol == dataplane::SaProtocol::kAh &&
                           (c.ah_spi_in == spi || c.ah_spi_out == spi);
      if (!pair && !ah_half) continue;
      Outbox out;
      if (hard) {
        // The data path removed the SA at its hard lifetime; the pair goes (§1.4.1).
        if (c.state != ChildSaState::kDeleting) {
          QueueChildDelete(*e, c, "hard lifetime reached in the data path", true);
        }
      } else if (c.state == ChildSaState::kInstalled && !c.rekey_queued) {
        // Soft byte (or time) lifetime: rekey before the hard one (§2.8).
        QueueChildRekey(*e, c, now);
        options_.observer->OnLog(&e->sa, "child-" + std::to_string(c.reqid) +
                                             ": soft lifetime reached in the data path, rekeying");
      }
      e->tasks.Flush(now, out);
      Settle(*e, out);
      return;
    }
  }
}

void IkeManager::QueueChildDelete(Entry& entry, ChildSa& child, const std::string& why,
                                  bool remove_now) {
  options_.observer->OnLog(&entry.sa, "child-" + std::to_string(child.reqid) + " deleted: " + why);
  if (remove_now) installer_.Remove(entry.sa, child);
  child.state = ChildSaState::kDeleting;
  entry.tasks.QueueFront(std::make_unique<InformationalTask>(
      entry.sa, installer_, InformationalTask::Kind::kDeleteChildSas,
      std::vector<uint32_t>{child.spi_in}));
}

// FAQ 55/58: deleted after `IdleTimeoutFor(peer)` without a packet in either direction. The
// data path's counters say whether traffic passed since the last check.
void IkeManager::CheckIdle(Entry& entry, ChildSa& child, SteadyTime now) {
  uint64_t packets = 0;
  int64_t last_used = 0;
  for (uint32_t spi : {child.spi_in, child.spi_out}) {
    if (auto c = options_.backend->QuerySa(SaProtocolOf(child), spi); c.ok()) {
      packets += c->packets;
      last_used = std::max(last_used, c->last_used_unix);
    }
  }
  if (packets != child.seen_packets) {
    child.seen_packets = packets;
    SteadyTime active = now;
    const int64_t unix_now = UnixNow();
    if (last_used > 0 && last_used <= unix_now)
      active = now - std::chrono::seconds(unix_now - last_used);
    child.last_active = std::max(child.last_active, active);
    child.active_unix = std::max(child.active_unix, last_used);
  }
  const auto timeout = entry.sa.config->IdleTimeoutFor(entry.sa.remote.address);
  if (now - child.last_active >= timeout) {
    child.idle_check_at = SteadyTime::max();
    QueueChildDelete(entry, child, "idle for " + Seconds(now - child.last_active) + " (FAQ 55/58)",
                     false);
    return;
  }
  child.idle_check_at = child.last_active + timeout;
}

void IkeManager::PromoteDeferred(Entry& entry, bool poll, SteadyTime now) {
  IkeSa& sa = entry.sa;
  for (ChildSa& c : sa.children) {
    // A redundant pair (§2.8.1) or one being deleted is never sent on.
    if (!c.deferred_outbound || c.state == ChildSaState::kRekeyed ||
        c.state == ChildSaState::kDeleting) {
      continue;
    }
    const char* why = nullptr;
    if (sa.FindChildByInboundSpi(c.replaces_spi_in) == nullptr) {
      why = "the old pair is gone";
    } else if (poll && now >= c.deferred_check_at) {
      // §2.8: "... until it receives traffic on it": the initiator has installed the new SAs.
      auto counters = options_.backend->QuerySa(SaProtocolOf(c), c.spi_in);
      if (counters.ok() && counters->packets > 0) {
        why = "the peer sends on the new SA";
      } else {
        c.deferred_check_at = now + kDeferredOutboundPoll;
      }
    }
    if (why == nullptr) continue;
    const uint32_t spi_out = c.spi_out;
    Status s = installer_.InstallDeferred(c);
    c.deferred_check_at = SteadyTime::max();
    options_.observer->OnLog(&sa, "child-" + std::to_string(c.reqid) + ": " + why +
                                      (s.ok() ? ", sending on the new outbound SA "
                                              : ", the data path refused the new outbound SA ") +
                                      std::to_string(spi_out) + " (§2.8)" +
                                      (s.ok() ? "" : ": " + s.error().ToString()));
  }
}

void IkeManager::RunSaTimers(Entry& entry, SteadyTime now) {
  IkeSa& sa = entry.sa;
  if (sa.state == IkeSaState::kConnecting || sa.state == IkeSaState::kDead) return;
  const IkeTimers& t = sa.config->timers;
  if (sa.state != IkeSaState::kDeleting && now >= sa.expire_at) {
    // Hard lifetime of the IKE SA (policy key-exchange lifetime): it and its children go.
    sa.expire_at = SteadyTime::max();
    options_.observer->OnLog(&sa, "IKE SA lifetime expired before a rekey completed");
    entry.tasks.QueueFront(
        std::make_unique<InformationalTask>(sa, installer_, InformationalTask::Kind::kDeleteIkeSa));
    return;
  }
  if (sa.state == IkeSaState::kRekeyed && now >= sa.grace_until) {
    // §2.18, §2.8.2: replaced (or redundant), and the peer, which deletes it, has not within
    // the grace period (IkeTimers::RekeyedGrace): we do, so it does not linger for hours.
    sa.grace_until = SteadyTime::max();
    entry.reported_up = false;  // the rekey is not a loss
    options_.observer->OnLog(&sa, "IKE SA rekeyed, and the peer has not deleted it within " +
                                      Seconds(t.RekeyedGrace()) + ": deleting it");
    entry.tasks.QueueFront(
        std::make_unique<InformationalTask>(sa, installer_, InformationalTask::Kind::kDeleteIkeSa));
    return;
  }
  if (sa.state == IkeSaState::kEstablished && !entry.ike_rekey_queued && now >= sa.rekey_at) {
    options_.observer->OnLog(&sa, "IKE SA soft lifetime reached, rekeying (§2.18)");
    QueueIkeRekey(entry);
  }
  for (size_t i = 0; i < sa.children.size(); ++i) {
    ChildSa& c = sa.children[i];
    if (c.state != ChildSaState::kDeleting && now >= c.expire_at) {
      c.expire_at = SteadyTime::max();
      QueueChildDelete(entry, c, "hard lifetime expired", true);
      continue;
    }
    if (c.state == ChildSaState::kRekeyed && now >= c.grace_until) {
      // §2.8, §2.8.1: replaced (or redundant), and the peer, which deletes it, has not within
      // the grace period: we do (nothing is sent on it; the pair that replaced it is sent on
      // from now on, ChildInstaller::PromoteReplacements).
      c.grace_until = SteadyTime::max();
      QueueChildDelete(entry, c,
                       "rekeyed, and the peer has not deleted it within " +
                           Seconds(t.RekeyedGrace()) + " (§2.8)",
                       false);
      continue;
    }
    if (c.state == ChildSaState::kInstalled && !c.rekey_queued && now >= c.rekey_at) {
      options_.observer->OnLog(
          &sa, "child-" + std::to_string(c.reqid) + ": soft lifetime reached, rekeying (§2.8)");
      QueueChildRekey(entry, c, now);
    }
    if (c.state == ChildSaState::kInstalled && now >= c.idle_check_at) CheckIdle(entry, c, now);
  }
  PromoteDeferred(entry, /*poll=*/true, now);
  // §2.4: no cryptographically protected traffic from the peer for a while, neither IKE nor
  // ESP/AH: an empty INFORMATIONAL; retransmissions exhausted end the IKE SA and its children.
  if (sa.state == IkeSaState::kEstablished && entry.tasks.Idle() &&
      now >= std::max(sa.last_inbound, entry.esp_inbound) + t.dpd_interval) {
    // "... if no cryptographically protected messages (IKE or ESP) have been received": ESP
    // the data path received and authenticated recently (its inbound SAs' last use) makes the
    // check unnecessary; it moves to one interval after that packet.
    const int64_t unix_now = UnixNow();
    int64_t last_esp = 0;
    for (const ChildSa& c : sa.children) {
      if (auto in = options_.backend->QuerySa(SaProtocolOf(c), c.spi_in); in.ok()) {
        last_esp = std::max(last_esp, in->last_used_unix);
      }
    }
    const int64_t age = unix_now - last_esp;
    if (last_esp > 0 && age >= 0 && std::chrono::seconds(age) < t.dpd_interval) {
      entry.esp_inbound = now - std::chrono::seconds(age);
    } else {
      entry.tasks.Queue(
          std::make_unique<InformationalTask>(sa, installer_, InformationalTask::Kind::kLiveness));
    }
  }
  // RFC 3948 §2.3: keep our NAT's mapping alive.
  if (sa.nat_local && now >= entry.keepalive_at) {
    options_.sink->SendNatKeepalive(sa.local, sa.remote);
    entry.keepalive_at = now + t.nat_keepalive;
  }
}

SteadyTime IkeManager::SaDeadline(const Entry& entry) const {
  const IkeSa& sa = entry.sa;
  if (entry.dead || sa.state == IkeSaState::kConnecting || sa.state == IkeSaState::kDead) {
    return SteadyTime::max();
  }
  SteadyTime next = SteadyTime::max();
  if (sa.state != IkeSaState::kDeleting) next = std::min(next, sa.expire_at);
  if (sa.state == IkeSaState::kRekeyed) next = std::min(next, sa.grace_until);
  if (sa.state == IkeSaState::kEstablished && !entry.ike_rekey_queued) {
    next = std::min(next, sa.rekey_at);
  }
  for (const ChildSa& c : sa.children) {
    // PromoteDeferred polls only pairs that may still be sent on: a redundant pair or one
    // being deleted keeps its poll time, which must not come due again and again.
    if (c.deferred_outbound && c.state != ChildSaState::kRekeyed &&
        c.state != ChildSaState::kDeleting) {
      next = std::min(next, c.deferred_check_at);
    }
    if (c.state != ChildSaState::kDeleting) next = std::min(next, c.expire_at);
    if (c.state == ChildSaState::kRekeyed) next = std::min(next, c.grace_until);
    if (c.state == ChildSaState::kInstalled) {
      if (!c.rekey_queued) next = std::min(next, c.rekey_at);
      next = std::min(next, c.idle_check_at);
    }
  }
  const SteadyTime last_protected = std::max(sa.last_inbound, entry.esp_inbound);
  if (sa.state == IkeSaState::kEstablished && entry.tasks.Idle() &&
      last_protected <= SteadyTime::max() - sa.config->timers.dpd_interval) {
    next = std::min(next, last_protected + sa.config->timers.dpd_interval);
  }
  if (sa.nat_local) next = std::min(next, entry.keepalive_at);
  return next;
}

void IkeManager::AfterChildExchange(Entry& entry, Task& task, SteadyTime now) {
  IkeSa& sa = entry.sa;
  if (auto* ike = dynamic_cast<RekeyIkeSaTask*>(&task)) {
    if (ike->result()) {
      AfterIkeRekey(entry, *ike, now);
      return;
    }
    if (ike->role() == Role::kInitiator && sa.state == IkeSaState::kEstablished) {
      // §2.8.2, §2.25.2: our rekey failed (refused: the peer had completed its own, which we
      // answered, and is deleting this IKE SA) after we answered the peer's: no collision for
      // the peer, so its new IKE SA is the successor.
      if (Entry* theirs = HeldSuccessor(entry)) {
        AdoptPeerRekey(entry, *theirs, "our rekey of it failed", now);
        return;
      }
      sa.peer_rekey.reset();
    }
    if (entry.ike_rekey_queued && sa.state == IkeSaState::kEstablished) {
      // Our rekey failed. §2.25: after TEMPORARY_FAILURE, try again a little later.
      entry.ike_rekey_queued = false;
      sa.rekey_at =
          ike->temporary_failure()
              ? now + sa.config->timers.temporary_failure_retry
              : std::min(sa.expire_at, now + sa.config->timers.temporary_failure_retry * 6);
      for (auto& p : entry.pending_children) {
        auto child = CreateChildSaTask::NewChild(sa, installer_, *options_.random, p.rule,
                                                 p.local_ts, p.remote_ts);
        child->set_now_unix(UnixNow());
        entry.tasks.Queue(std::move(child));
      }
      entry.pending_children.clear();
      // FAQ 18 yields to the lifetimes: a child SA due for its rekey is rekeyed under this IKE
      // SA after all rather than left to expire.
      for (uint32_t spi : entry.pending_rekeys) {
        if (sa.FindChildByInboundSpi(spi) == nullptr) continue;
        auto task = CreateChildSaTask::Rekey(sa, installer_, *options_.random, spi);
        task->set_now_unix(UnixNow());
        entry.tasks.Queue(std::move(task));
      }
      entry.pending_rekeys.clear();
    }
    return;
  }
  auto* child = dynamic_cast<CreateChildSaTask*>(&task);
  if (child == nullptr) return;
  if (child->role() == Role::kInitiator && !child->is_rekey()) {
    // Its offer is no longer under way (OnAcquire asks for traffic none covers).
    std::erase_if(entry.child_offers, [&](const NarrowedTraffic& o) {
      return o.local == child->local_ts() && o.remote == child->remote_ts();
    });
  }
  if (child->created() && child->is_rekey()) options_.observer->OnRekey(false);
  if (auto lost = child->lost_collision()) {
    options_.observer->OnLog(&sa, *lost ? "rekey collision (§2.8.1): our new child SA is "
                                          "redundant, deleting it"
                                        : "rekey collision (§2.8.1): the peer's new child SA is "
                                          "redundant; deleting the old one");
  }
  if (!child->spis_to_delete().empty()) {
    // §2.8: the new child SA is installed; now the replaced (or redundant) one goes.
    entry.tasks.QueueFront(std::make_unique<InformationalTask>(
        sa, installer_, InformationalTask::Kind::kDeleteChildSas, child->spis_to_delete()));
  }
  ChildSa* old = child->is_rekey() && !child->created()
                     ? sa.FindChildByInboundSpi(child->rekey_spi_in())
                     : nullptr;
  if (old != nullptr && old->state == ChildSaState::kInstalled && old->rekey_queued) {
    // Our rekey failed. §2.25: after TEMPORARY_FAILURE retry after a while (jittered so the
    // peers do not meet again); after a refusal try again later, until the hard lifetime.
    const double u = static_cast<double>(options_.random->Uint64() % 1000) / 1000.0;
    const auto wait = sa.config->timers.temporary_failure_retry *
                      (child->temporary_failure() ? 1.0 + u / 2 : 6.0);
    old->rekey_queued = false;
    old->rekey_at =
        std::min(old->expire_at, now + std::chrono::duration_cast<SteadyTime::duration>(wait));
  }
}

}  // namespace ipsec::engine::ike
