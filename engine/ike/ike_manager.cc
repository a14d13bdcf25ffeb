#include "engine/ike/ike_manager.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>

#include "engine/crypto/random.h"
#include "engine/ike/codec/payload_rules.h"
#include "engine/ike/ike_manager_entry.h"
#include "engine/ike/tasks/create_child_sa.h"
#include "engine/ike/tasks/ike_auth.h"
#include "engine/ike/tasks/ike_init.h"
#include "engine/ike/tasks/informational.h"
#include "engine/ike/tasks/rekey_ike_sa.h"
#include "engine/ike/traffic_selectors.h"

namespace ipsec::engine::ike {
namespace {

static_assert(std::tuple_size_v<decltype(IkeStatisticsSnapshot::datagrams_dropped)> ==
              kIkeDropReasonCount);

using codec::ExchangeType;

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

int64_t SecondsUntil(SteadyTime when, SteadyTime now) {
  if (when == SteadyTime::max()) return -1;
  // Due (a rekey under way): 0, never negative.
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(when - now).count());
}

crypto::SystemRandom& HashKeySource() {
  static crypto::SystemRandom random;
  return random;
}

}  // namespace

IkeManager::IkeManager(Options options)
    : options_(options),
      installer_(*options.backend),
      // The hash keys come from the system, not options.random: they change no behaviour
      // (only where entries sit in the tables), and the SPIs and nonces seeded tests expect
      // stay as they were.
      admission_(HashKeySource()),
      dos_(*options.random),
      dh_pool_(options.dh_reuse) {
  if (options_.clock == nullptr) options_.clock = &system_clock_;
  config_ = std::make_shared<IkeConfig>();
}

IkeManager::~IkeManager() = default;

void IkeManager::SetConfig(std::shared_ptr<const IkeConfig> config) {
  InvalidateDeadlines();
  config_ = std::move(config);
}

int64_t IkeManager::UnixNow() const { return options_.clock->UnixSeconds(); }

uint64_t IkeManager::NewSpi() {
  for (;;) {
    uint64_t spi = options_.random->Uint64();
    if (spi != 0 && sas_.count(spi) == 0) return spi;
  }
}

IkeManager::Entry* IkeManager::Find(uint64_t local_spi) {
  auto it = sas_.find(local_spi);
  return it == sas_.end() || it->second->dead ? nullptr : it->second.get();
}

IkeManager::Entry* IkeManager::FindById(uint64_t id) {
  for (auto& [spi, e] : sas_) {
    if (e->sa.id == id && !e->dead) return e.get();
  }
  return nullptr;
}

IkeManager::Entry& IkeManager::Create(bool initiator, const Endpoint& local, const Endpoint& remote,
                                      SteadyTime now) {
  auto entry = std::make_unique<Entry>(*options_.random, *options_.observer);
  IkeSa& sa = entry->sa;
  sa.id = ++next_id_;
  sa.original_initiator = initiator;
  sa.config = config_;
  sa.local = local;
  sa.remote = remote;
  sa.nat_t_local_port = options_.nat_t_port;
  sa.nat_t_remote_port = options_.peer_nat_t_port;
  sa.force_encapsulation = options_.force_udp_encapsulation;
  sa.created = now;
  uint64_t spi = NewSpi();
  (initiator ? sa.spi_i : sa.spi_r) = spi;
  Entry& ref = *entry;
  sas_[spi] = std::move(entry);
  MarkDeadlineDirty(spi);
  return ref;
}

Result<std::string> IkeManager::Initiate(const std::string& rule_name, const Endpoint& local,
                                         const Endpoint& peer, SteadyTime now,
                                         std::optional<RuleTraffic> traffic) {
  now_ = now;
  InvalidateDeadlines();
  const NegotiateRule* rule = config_->FindRule(rule_name);
  if (rule == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     "no rule '" + rule_name + "' negotiates security in the policy in force");
  }
  // §2.9: the packet's selectors first, then its pair and the rule's pairs that keep every
  // (local, remote) combination inside the policy; in transport mode only what lies between us
  // and the peer. The rest gets child SAs of its own when its traffic asks (OnAcquire).
  NarrowedTraffic offer = ChildOffer(*rule, local.address, peer.address, traffic);
  if (offer.local.empty() || offer.remote.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "rule '" + rule_name + "' has no traffic for " + peer.address.ToString());
  }
  Entry& entry = Create(true, local, peer, now);
  entry.sa.rule = rule_name;
  if (rule->allow_fallback_to_clear) entry.fallback_at = now + config_->timers.fallback_wait;
  entry.tasks.Queue(std::make_unique<IkeInitTask>(entry.sa, *options_.random, Role::kInitiator));
  entry.child_offers.push_back(offer);
  // §2.4 INITIAL_CONTACT asserts that we hold no other IKE SA with the peer: true or not when
  // IKE_AUTH is sent, not now. When both peers initiate at once, the peer's IKE SA may be
  // established by then (or under way: its IKE_SA_INIT answered), and the notification would
  // have the peer delete it without telling us (issue 13, docs/faults.md C). Of our own
  // negotiations with the peer, those past IKE_SA_INIT count too (one at a time carries it, as
  // when several rules start at once). O(1): the admission table counts them per address.
  Entry* self = &entry;
  auto first_contact = [this, self] {
    const IpAddress& address = self->sa.remote.address;
    const size_t own =
        self->admission.authenticating() && self->admission.authenticating_ip() == address ? 1 : 0;
    return admission_.SasWith(address) == own;
  };
  auto auth = std::make_unique<IkeAuthTask>(entry.sa, installer_, *options_.random, rule_name,
                                            offer.local, offer.remote, first_contact);
  auth->set_now_unix(UnixNow());
  entry.tasks.Queue(std::move(auth));
  options_.observer->OnLog(&entry.sa, "initiating IKE SA ike-" + std::to_string(entry.sa.id) +
                                          " to " + peer.ToString() + " for rule '" + rule_name +
                                          "'");
  Outbox out;
  entry.tasks.Flush(now, out);
  std::string id = "ike-" + std::to_string(entry.sa.id);
  Settle(entry, out);
  return id;
}

void IkeManager::OnDatagram(const Endpoint& local, const Endpoint& remote, ByteSpan data,
                            SteadyTime now) {
  now_ = now;
  auto message = codec::DecodeMessage(data);
  if (!message.ok()) {
    Drop(IkeDropReason::kMalformed);
    return;
  }
  const codec::Header& h = message->header;
  if (h.exchange_type == ExchangeType::kIkeSaInit && !h.is_response() && h.responder_spi == 0) {
    HandleInitRequest(*message, local, remote, data, now);
    return;
  }
  // The I flag says the sender is the original initiator, so our SPI is the responder's.
  Entry* entry = Find(h.is_initiator() ? h.responder_spi : h.initiator_spi);
  if (entry == nullptr) {
    Drop(IkeDropReason::kUnknownSpi);
    return;
  }
  // RFC 7296 §2.14: a responder's keys wait for the first protected message after IKE_SA_INIT.
  if (message->encrypted && entry->sa.keys_pending() && !CompleteKeyExchange(*entry)) return;
  Deliver(*entry, *message, local, remote, data, now);
}

void IkeManager::Deliver(Entry& entry, const codec::Message& message, const Endpoint& local,
                         const Endpoint& remote, ByteSpan data, SteadyTime now) {
  Outbox out;
  const TaskManager::Inbound inbound = entry.tasks.OnMessage(
      data, message, local, remote, now,
      [this, &entry](const InMessage& in) { return MakeResponderTask(entry, in); }, out);
  if (inbound.dropped()) {
    Drop(inbound.reason);  // nothing changed: no SA, timer or deadline to look at again
    return;
  }
  if (inbound.outcome == TaskManager::Inbound::Outcome::kProcessed) {
    entry.peer_answered = true;
    // IKE_SA_INIT, IKE_AUTH and INFORMATIONAL change only their own SA, which Settle marks, or
    // SAs Kill marks (INITIAL_CONTACT); CREATE_CHILD_SA may move children and tasks to another
    // SA (AfterChildExchange, AfterIkeRekey): all are read again.
    if (message.header.exchange_type == ExchangeType::kCreateChildSa) InvalidateDeadlines();
  }
  Settle(entry, out);
}

void IkeManager::Drop(IkeDropReason reason) {
  ++stats_.datagrams_dropped[static_cast<size_t>(reason)];
  ++stats_.datagrams_dropped_total;
}

Result<IkeManager::AcquireResult> IkeManager::OnAcquire(
    const dataplane::BackendEvents::Acquire& acquire, SteadyTime now) {
  ++stats_.acquires_total;
  const NegotiateRule* rule = config_->FindRuleByFilterEntry(acquire.filter_entry);
  if (rule == nullptr) {
    return MakeError(ErrorCode::kNotFound, "filter entry " + std::to_string(acquire.filter_entry) +
                                               " belongs to no rule that negotiates security");
  }
  // Which side of the rule's traffic the packet's source is on.
  bool outbound = false, inbound = false;
  for (const RuleTraffic& t : rule->traffic) {
    outbound |= t.local.addresses.Contains(acquire.source) &&
                t.remote.addresses.Contains(acquire.destination);
    inbound |= t.remote.addresses.Contains(acquire.source) &&
               t.local.addresses.Contains(acquire.destination);
  }
  if (!outbound && !inbound) {
    return MakeError(ErrorCode::kInvalidArgument, "packet " + acquire.source.ToString() + " -> " +
                                                      acquire.destination.ToString() +
                                                      " is not traffic of rule '" + rule->name +
                                                      "'");
  }
  if (!outbound && !rule->accept_unsecured) {
    // FAQ 17: only "accept unsecured communication" lets an unsecured inbound packet start one.
    return MakeError(ErrorCode::kFailedPrecondition,
                     "rule '" + rule->name + "' does not accept unsecured communication from " +
                         acquire.source.ToString());
  }
  const IpAddress& ours = outbound ? acquire.source : acquire.destination;
  const IpAddress& theirs = outbound ? acquire.destination : acquire.source;
  const IpAddress peer = rule->tunnel_endpoint.value_or(theirs);
  AcquireResult result;
  if (auto it = clear_until_.find({rule->name, peer}); it != clear_until_.end()) {
    if (now < it->second) {
      result.clear = true;
      return result;
    }
    clear_until_.erase(it);
    (void)installer_.backend().EndClearFallback(rule->name, peer);  // it ends there by itself too
    options_.observer->OnFallbackToClear(rule->name, peer.ToString(), false);
  }
  // RFC 7296 §2.9: the packet's own selectors first, then the rule's.
  const uint16_t our_port = outbound ? acquire.source_port : acquire.destination_port;
  const uint16_t their_port = outbound ? acquire.destination_port : acquire.source_port;
  auto selector = [&](const IpAddress& a, uint16_t port) {
    dataplane::TrafficSelector ts{IpRange::Single(a), acquire.protocol};
    if (port != 0) ts.start_port = ts.end_port = port;
    return ts;
  };
  RuleTraffic packet{selector(ours, our_port), selector(theirs, their_port)};
  for (const auto& [spi, e] : sas_) {
    IkeSa& sa = e->sa;
    if (e->dead || !sa.original_initiator || sa.rule != rule->name || sa.remote.address != peer) {
      continue;
    }
    // A policy since applied may have changed the rule's credentials: then a new IKE SA.
    if (sa.state != IkeSaState::kConnecting && !Satisfies(sa.peer_authentication, *rule)) continue;
    result.sa = "ike-" + std::to_string(sa.id);
    // Carried by a child SA, or asked for by an exchange still under way: nothing more to do.
    if (e->tasks.Idle()) e->child_offers.clear();
    const bool carried =
        std::any_of(sa.children.begin(), sa.children.end(),
                    [&](const ChildSa& c) {
                      return c.state != ChildSaState::kDeleting &&
                             Carries(c.local_ts, c.remote_ts, packet);
                    }) ||
        std::any_of(e->child_offers.begin(), e->child_offers.end(),
                    [&](const NarrowedTraffic& o) { return Carries(o.local, o.remote, packet); }) ||
        std::any_of(
            e->pending_children.begin(), e->pending_children.end(),
            [&](const Entry::PendingChild& p) { return Carries(p.local_ts, p.remote_ts, packet); });
    const bool can_ask = sa.state == IkeSaState::kConnecting ||
                         sa.state == IkeSaState::kEstablished || sa.state == IkeSaState::kRekeying;
    if (carried || !can_ask) return result;
    // §2.9: traffic of another pair of the rule, which the child SAs so far leave out (each
    // keeps its selectors' combinations inside the policy): a child SA of its own.
    const NegotiateRule* own = sa.config->FindRule(rule->name);
    if (own == nullptr) return result;
    if (Status s = QueueNewChild(*e, *own, packet); !s.ok()) return s.error();
    options_.observer->OnLog(
        &sa, std::string(outbound ? "acquire" : "unsecured inbound packet") + " " +
                 acquire.source.ToString() + " -> " + acquire.destination.ToString() +
                 ": no child SA carries it, negotiating one for rule '" + rule->name + "'");
    InvalidateDeadlines();
    Outbox out;
    e->tasks.Flush(now, out);
    Settle(*e, out);
    result.started = true;
    return result;
  }
  options_.observer->OnLog(nullptr, std::string(outbound ? "acquire" : "unsecured inbound packet") +
                                        " " + acquire.source.ToString() + " -> " +
                                        acquire.destination.ToString() + ": negotiating rule '" +
                                        rule->name + "' with " + peer.ToString());
  // Tunnel mode: the IKE SA runs between the tunnel endpoints, not the inner addresses.
  IpAddress local = ours;
  if (rule->tunnel_endpoint && options_.local_address_for) {
    if (auto a = options_.local_address_for(peer)) local = *a;
  }
  auto id = Initiate(rule->name, Endpoint{local, options_.ike_port},
                     Endpoint{peer, options_.peer_ike_port}, now, packet);
  if (!id.ok()) return id.error();
  result.sa = *id;
  result.started = true;
  return result;
}

void IkeManager::FallBackToClear(Entry& entry, SteadyTime now) {
  entry.fallback_at = SteadyTime::max();
  if (entry.peer_answered || entry.sa.state != IkeSaState::kConnecting) return;
  // FAQ 16: the peer is not IPsec-aware; its traffic goes in clear until the idle timeout,
  // then the next packet tries IPsec again (docs/ike.md).
  const IpAddress peer = entry.sa.remote.address;
  const SteadyTime until = now + config_->IdleTimeoutFor(peer);
  clear_until_[{entry.sa.rule, peer}] = until;
  ++stats_.fallbacks_to_clear_total;
  // The data path sends the rule's traffic with that peer in clear (and takes it in clear)
  // until then: the peer itself (transport mode) or what the gateway hides (tunnel mode).
  dataplane::ClearFallback fallback{.rule = entry.sa.rule, .peer = peer, .until = until};
  if (const NegotiateRule* rule = config_->FindRule(entry.sa.rule); rule && rule->tunnel_endpoint) {
    for (const RuleTraffic& t : rule->traffic) {
      if (std::find(fallback.destinations.begin(), fallback.destinations.end(),
                    t.remote.addresses) == fallback.destinations.end()) {
        fallback.destinations.push_back(t.remote.addresses);
      }
    }
  } else {
    fallback.destinations.push_back(IpRange::Single(peer));
  }
  if (Status s = installer_.backend().SetClearFallback(fallback); !s.ok()) {
    options_.observer->OnLog(&entry.sa,
                             "the data path refused the fallback to clear: " + s.error().message);
  }
  options_.observer->OnFallbackToClear(entry.sa.rule, peer.ToString(), true);
  Kill(entry, "no answer within " + std::to_string(config_->timers.fallback_wait.count()) +
                  " ms: traffic of rule '" + entry.sa.rule + "' with " + peer.ToString() +
                  " falls back to clear (FAQ 16)");
}

std::vector<ClearFallbackSnapshot> IkeManager::ClearFallbacks(SteadyTime now) const {
  std::vector<ClearFallbackSnapshot> out;
  for (const auto& [key, until] : clear_until_) {
    if (until <= now) continue;
    out.push_back({key.first, key.second.ToString(),
                   std::chrono::duration_cast<std::chrono::seconds>(until - now).count()});
  }
  return out;
}

std::unique_ptr<Task> IkeManager::MakeResponderTask(Entry& entry, const InMessage& request) {
  switch (request.header.exchange_type) {
    case ExchangeType::kIkeSaInit: {
      auto task = std::make_unique<IkeInitTask>(entry.sa, *options_.random, Role::kResponder);
      task->set_dh_pool(&dh_pool_);  // RFC 7296 §2.12 (dh_reuse.h)
      return task;
    }
    case ExchangeType::kIkeAuth: {
      auto task = std::make_unique<IkeAuthTask>(entry.sa, installer_, *options_.random);
      task->set_now_unix(UnixNow());
      return task;
    }
    case ExchangeType::kInformational:
      return std::make_unique<InformationalTask>(entry.sa, installer_);
    case ExchangeType::kCreateChildSa: {
      // §1.3.2: a proposal for protocol IKE rekeys the IKE SA; otherwise a child SA (§1.3.1).
      if (const auto* offer = request.Find<codec::SaPayload>(codec::PayloadType::kSa)) {
        for (const auto& p : offer->proposals) {
          if (p.protocol == codec::ProtocolId::kIke) {
            auto task = std::make_unique<RekeyIkeSaTask>(
                entry.sa, *options_.random, Role::kResponder, [this] { return NewSpi(); });
            // §2.25: not while our own CREATE_CHILD_SA for a child SA of it is under way.
            task->set_child_exchange_active(
                dynamic_cast<const CreateChildSaTask*>(entry.tasks.active()) != nullptr);
            return task;
          }
        }
      }
      auto task = std::make_unique<CreateChildSaTask>(entry.sa, installer_, *options_.random);
      task->set_now_unix(UnixNow());
      return task;
    }
  }
  return nullptr;
}

void IkeManager::Settle(Entry& entry, Outbox& out) {
  IkeSa& sa = entry.sa;
  MarkDeadlineDirty(sa.local_spi());
  std::vector<uint64_t> stale;  // other SAs this one's exchanges killed (INITIAL_CONTACT)
  for (TaskResult& r : entry.tasks.TakeResults()) {
    FailureReason reason = entry.tasks.timed_out() ? FailureReason::kTimeout : r.task->failure();
    ++stats_.negotiations_total;
    if (reason != FailureReason::kNone) {
      ++stats_.negotiation_failures_total;
      options_.observer->OnLog(&sa, std::string(r.task->name()) + " failed (" + Name(reason) +
                                        "): " + r.task->failure_detail());
    }
    options_.observer->OnExchange(r.task->exchange(), r.role, reason, r.duration);
    if (auto* auth = dynamic_cast<IkeAuthTask*>(r.task.get());
        auth != nullptr && auth->initial_contact_received()) {
      // §2.4: INITIAL_CONTACT: the peer lost its state; our older SAs with it are stale. Each
      // is settled too (below, once this SA's messages are out), which removes it from the
      // table: a dead entry nothing settles would stay there for good.
      for (auto& [spi, other] : sas_) {
        if (other.get() != &entry && !other->dead && other->sa.remote_id == sa.remote_id &&
            other->sa.remote.address == sa.remote.address) {
          Kill(*other, "the peer sent INITIAL_CONTACT");
          stale.push_back(spi);
        }
      }
    }
    if (r.task->exchange() == ExchangeType::kCreateChildSa)
      AfterChildExchange(entry, *r.task, now_);
    if (auto* auth = dynamic_cast<IkeAuthTask*>(r.task.get());
        auth != nullptr && auth->child_outcome().delete_spi_in != 0 &&
        r.status != TaskStatus::kDeleteSa) {
      // We refused the child SA the responder installed in IKE_AUTH: delete it (§1.4.1).
      entry.tasks.QueueFront(std::make_unique<InformationalTask>(
          sa, installer_, InformationalTask::Kind::kDeleteChildSas,
          std::vector<uint32_t>{auth->child_outcome().delete_spi_in}));
    }
    if (auto* auth = dynamic_cast<IkeAuthTask*>(r.task.get());
        auth != nullptr && auth->refused_responder()) {
      // RFC 7296 §2.21.2: tell the responder, then delete without waiting for its answer.
      entry.tasks.QueueFront(std::make_unique<AuthFailedNotifyTask>());
      entry.tasks.Flush(sa.last_inbound, out);
    }
    if (auto* info = dynamic_cast<InformationalTask*>(r.task.get());
        info != nullptr && r.role == Role::kResponder && info->ike_sa_deleted() &&
        reason == FailureReason::kNone) {
      // §2.25.2: the peer deleted an IKE SA we are rekeying ("reply as usual, and forget about
      // its own rekeying request"). When we answered the peer's rekey of it first, the peer
      // completed that rekey without seeing ours (our request lost or overtaken) or saw ours
      // lose (§2.8.2): its new IKE SA is the successor, with the child SAs.
      if (Entry* theirs = HeldSuccessor(entry)) {
        AdoptPeerRekey(entry, *theirs, "the peer deleted it while ours was under way", now_);
      }
    }
    if (r.status == TaskStatus::kDeleteSa) {
      Kill(entry, reason == FailureReason::kNone
                      ? "deleted"
                      : std::string(Name(reason)) + ": " + r.task->failure_detail());
    }
  }
  Track(entry);
  if (!entry.dead) StartGrace(entry, now_);
  if (!entry.dead && sa.state == IkeSaState::kEstablished && !entry.reported_up) {
    entry.reported_up = true;
    entry.half_open_until = SteadyTime::max();
    options_.observer->OnIkeSaUp(sa);
    sa.rekey_at = Jittered(sa.established, sa.expire_at);
  }
  // A child SA is one reqid (its API id "child-<reqid>"), which its rekeys keep (§2.8): the pair
  // a rekey replaced, or a redundant one (§2.8.1), goes silently; the child SA is reported up
  // when its reqid first appears and down when the last pair of it is gone.
  std::set<uint32_t> present;
  for (ChildSa& c : sa.children) {
    present.insert(c.reqid);
    if (!entry.dead && !c.timers_started) {
      c.timers_started = true;
      c.rekey_at = Jittered(c.established, c.expire_at);
      if (c.last_active == SteadyTime{}) c.last_active = now_;
      c.idle_check_at = c.last_active + sa.config->IdleTimeoutFor(sa.remote.address);
      if (c.deferred_outbound) c.deferred_check_at = now_ + kDeferredOutboundPoll;
    }
    if (!entry.dead && entry.reported_children.insert(c.reqid).second) {
      if (c.replaces_spi_in == 0) options_.observer->OnChildSaUp(sa, c);
    }
  }
  if (!entry.dead) PromoteDeferred(entry, /*poll=*/false, now_);
  for (auto it = entry.reported_children.begin(); it != entry.reported_children.end();) {
    if (present.count(*it) == 0) {
      ChildSa gone;
      gone.reqid = *it;
      options_.observer->OnChildSaDown(sa, gone, "deleted");
      it = entry.reported_children.erase(it);
    } else {
      ++it;
    }
  }
  if (!entry.dead) entry.tasks.Flush(now_, out);
  Send(out);
  Send(after_);
  if (entry.dead) {
    uint64_t spi = sa.local_spi();
    stats_.retransmits_total += entry.tasks.retransmits();  // the total outlives the SA
    sas_.erase(spi);                                        // `entry` is gone from here on
  }
  for (uint64_t spi : stale) {
    if (auto it = sas_.find(spi); it != sas_.end()) {
      Outbox none;
      Settle(*it->second, none);
    }
  }
}

void IkeManager::Kill(Entry& entry, const std::string& why) {
  if (entry.dead) return;
  entry.dead = true;
  IkeSa& sa = entry.sa;
  MarkDeadlineDirty(sa.local_spi());
  sa.state = IkeSaState::kDead;
  sa.failure = why;
  Track(entry);
  installer_.RemoveAll(sa);
  for (const ChildSa& c : sa.children) {
    if (entry.reported_children.erase(c.reqid)) options_.observer->OnChildSaDown(sa, c, why);
  }
  sa.children.clear();
  if (entry.reported_up && !entry.collision_held) options_.observer->OnIkeSaDown(sa, why);
  options_.observer->OnLog(&sa, "IKE SA ike-" + std::to_string(sa.id) + " removed: " + why);
  if (Entry* held = HeldSuccessor(entry)) {
    // §2.8.2: the peer's new IKE SA, held for our rekey's outcome, has no one to decide it now.
    // The peer may hold it established with the child SAs: delete it there too (our Settle or
    // OnTimer sends what after_ holds).
    held->collision_held = false;
    held->reported_up = false;
    held->tasks.QueueFront(std::make_unique<InformationalTask>(
        held->sa, installer_, InformationalTask::Kind::kDeleteIkeSa));
    held->tasks.Flush(now_, after_);
    MarkDeadlineDirty(held->sa.local_spi());
  }
}

void IkeManager::Send(Outbox& out) {
  for (const auto& item : out.items) options_.sink->SendIke(item.local, item.remote, item.data);
  out.items.clear();
}

void IkeManager::OnTimer(SteadyTime now) {
  now_ = now;
  dh_pool_.Expire(now);  // RFC 7296 §2.12: reused key pairs live max_age at most
  ExpireHalfOpen(now);
  // Under a flood, half-open SAs expire about as often as datagrams come: when nothing else is
  // due, no SA is read (the deadline index tells, and stays valid).
  if (NextDeadline() > now) return;
  InvalidateDeadlines();
  std::vector<uint64_t> spis;
  for (const auto& [spi, e] : sas_) spis.push_back(spi);
  for (uint64_t spi : spis) {
    auto it = sas_.find(spi);
    if (it == sas_.end()) continue;
    Entry& entry = *it->second;
    Outbox out;
    if (!entry.dead && now >= entry.half_open_until) {
      Kill(entry, "no IKE_AUTH within " +
                      std::to_string(config_->timers.half_open_timeout.count()) + " s");
    }
    if (!entry.dead && now >= entry.fallback_at) FallBackToClear(entry, now);
    if (!entry.dead) entry.tasks.OnTimer(now, out);
    if (!entry.dead) RunSaTimers(entry, now);
    if (!entry.dead) entry.tasks.Flush(now, out);
    Settle(entry, out);
  }
}

SteadyTime IkeManager::EntryDeadline(const Entry& e) const {
  return std::min({e.tasks.NextDeadline(), e.half_open_until, e.fallback_at, SaDeadline(e)});
}

SteadyTime IkeManager::NextDeadline() const {
  auto add = [this](uint64_t spi, const Entry& e) {
    const SteadyTime d = EntryDeadline(e);
    if (d == SteadyTime::max()) return;
    deadline_index_.insert({d, spi});
    deadline_of_.emplace(spi, d);
  };
  if (deadline_invalidated_ || (!deadline_index_valid_ && ++deadline_streak_ < kIndexAfter)) {
    // Read every SA, as this did before the index: right after a method that may change any
    // SA, and for the first calls after one, until datagrams alone have come for a while
    // (a rebuild costs more than a scan; a burst of setups repays it).
    if (deadline_invalidated_) deadline_streak_ = 0;
    deadline_invalidated_ = false;
    deadline_dirty_.clear();
    SteadyTime next = dh_pool_.NextExpiry();
    for (const auto& [spi, e] : sas_) next = std::min(next, EntryDeadline(*e));
    return next;
  }
  if (!deadline_index_valid_) {
    deadline_index_.clear();
    deadline_of_.clear();
    for (const auto& [spi, e] : sas_) add(spi, *e);
    deadline_index_valid_ = true;
  } else {
    for (uint64_t spi : deadline_dirty_) {
      if (auto it = deadline_of_.find(spi); it != deadline_of_.end()) {
        deadline_index_.erase({it->second, spi});
        deadline_of_.erase(it);
      }
      if (auto it = sas_.find(spi); it != sas_.end()) add(spi, *it->second);
    }
  }
  deadline_dirty_.clear();
  const SteadyTime next =
      deadline_index_.empty() ? SteadyTime::max() : deadline_index_.begin()->first;
  return std::min(next, dh_pool_.NextExpiry());
}

Status IkeManager::Delete(const std::string& id, SteadyTime now) {
  now_ = now;
  InvalidateDeadlines();
  auto number = [&](const char* prefix) -> std::optional<uint64_t> {
    size_t n = std::string(prefix).size();
    if (id.rfind(prefix, 0) != 0 || id.size() == n) return std::nullopt;
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(id.data() + n, id.data() + id.size(), value);
    if (ec != std::errc() || ptr != id.data() + id.size()) return std::nullopt;
    return value;
  };
  Outbox out;
  if (auto n = number("ike-")) {
    Entry* entry = FindById(*n);
    if (entry == nullptr) return MakeError(ErrorCode::kNotFound, "no IKE SA '" + id + "'");
    if (entry->sa.state != IkeSaState::kEstablished) {
      Kill(*entry, "deleted through the API before it was established");
    } else {
      entry->tasks.QueueFront(std::make_unique<InformationalTask>(
          entry->sa, installer_, InformationalTask::Kind::kDeleteIkeSa));
      entry->tasks.Flush(now, out);
    }
    Settle(*entry, out);
    return Status::Ok();
  }
  if (auto reqid = number("child-")) {
    for (auto& [spi, e] : sas_) {
      if (e->dead) continue;
      // Every pair of the child SA (a rekey's old pair shares the reqid until it is deleted).
      std::vector<uint32_t> spis;
      bool found = false;
      for (const ChildSa& c : e->sa.children) {
        if (c.reqid != *reqid) continue;
        found = true;
        if (c.state != ChildSaState::kDeleting) spis.push_back(c.spi_in);
      }
      if (!found) continue;
      if (!spis.empty()) {
        e->tasks.Queue(std::make_unique<InformationalTask>(
            e->sa, installer_, InformationalTask::Kind::kDeleteChildSas, std::move(spis)));
        e->tasks.Flush(now, out);
      }
      Settle(*e, out);
      return Status::Ok();
    }
  }
  return MakeError(ErrorCode::kNotFound, "no security association '" + id + "'");
}

void IkeManager::DeleteAll(SteadyTime now) {
  std::vector<std::string> ids;
  for (const auto& [spi, e] : sas_) {
    if (!e->dead) ids.push_back("ike-" + std::to_string(e->sa.id));
  }
  for (const auto& id : ids) (void)Delete(id, now);
}

std::vector<IkeSaSnapshot> IkeManager::Snapshot(SteadyTime now) const {
  std::vector<IkeSaSnapshot> out;
  for (const auto& [spi, e] : sas_) {
    if (e->dead) continue;
    const IkeSa& sa = e->sa;
    IkeSaSnapshot s;
    s.id = "ike-" + std::to_string(sa.id);
    s.state = Name(sa.state);
    s.role = sa.original_initiator ? "initiator" : "responder";
    s.local = sa.local.ToString();
    s.remote = sa.remote.ToString();
    s.local_id = sa.local_id.ToString();
    s.remote_id = sa.state == IkeSaState::kConnecting ? "" : sa.remote_id.ToString();
    s.rule = sa.rule;
    s.algorithms = sa.state == IkeSaState::kConnecting ? "" : Describe(sa.algorithms);
    s.local_auth = sa.local_auth;
    s.remote_auth = sa.remote_auth;
    s.spi_i = Hex64(sa.spi_i);
    s.spi_r = Hex64(sa.spi_r);
    s.nat_local = sa.nat_local;
    s.nat_remote = sa.nat_remote;
    s.udp_4500 = sa.floated;
    s.established_unix = sa.established_unix;
    s.rekey_in_seconds = SecondsUntil(sa.rekey_at, now);
    s.expire_in_seconds = SecondsUntil(sa.expire_at, now);
    s.message_id_out = e->tasks.next_request_id();
    s.message_id_in = e->tasks.expected_request_id();
    for (const ChildSa& c : sa.children) {
      ChildSaSnapshot cs;
      cs.id = "child-" + std::to_string(c.reqid);
      cs.reqid = c.reqid;
      cs.rule = c.rule;
      cs.state = Name(c.state);
      cs.mode = c.mode == dataplane::SaMode::kTunnel ? "tunnel" : "transport";
      cs.protocol = c.algorithms.protocol == codec::ProtocolId::kAh ? "ah"
                    : c.algorithms.bundle()                         ? "ah+esp"
                                                                    : "esp";
      cs.ah_spi_in = c.ah_spi_in;
      cs.ah_spi_out = c.ah_spi_out;
      cs.algorithms = Describe(c.algorithms);
      cs.pfs = c.algorithms.dh_group != codec::DhGroup::kNone;
      cs.udp_encapsulation = sa.UdpEncapsulated();
      cs.spi_in = c.spi_in;
      cs.spi_out = c.spi_out;
      for (const auto& ts : c.local_ts) cs.local_ts.push_back(ToString(ts));
      for (const auto& ts : c.remote_ts) cs.remote_ts.push_back(ToString(ts));
      cs.established_unix = c.established_unix;
      cs.rekey_in_seconds = SecondsUntil(c.rekey_at, now);
      cs.expire_in_seconds = SecondsUntil(c.expire_at, now);
      auto p = c.algorithms.protocol == codec::ProtocolId::kAh ? dataplane::SaProtocol::kAh
                                                               : dataplane::SaProtocol::kEsp;
      if (auto in = options_.backend->QuerySa(p, c.spi_in); in.ok()) {
        cs.bytes_in = in->bytes;
        cs.packets_in = in->packets;
        cs.last_used_unix = in->last_used_unix;
      }
      if (auto o = options_.backend->QuerySa(p, c.spi_out); o.ok()) {
        cs.bytes_out = o->bytes;
        cs.packets_out = o->packets;
        cs.last_used_unix = std::max(cs.last_used_unix, o->last_used_unix);
      }
      s.children.push_back(std::move(cs));
    }
    out.push_back(std::move(s));
  }
  return out;
}

IkeStatisticsSnapshot IkeManager::Statistics() const {
  IkeStatisticsSnapshot s = stats_;
  s.ike_sas_active = 0;
  s.ike_sas_half_open = 0;
  s.child_sas_active = 0;
  for (const auto& [spi, e] : sas_) {
    if (e->dead) continue;
    if (e->sa.state == IkeSaState::kConnecting) {
      ++s.ike_sas_half_open;
    } else {
      ++s.ike_sas_active;
    }
    // A child SA is one reqid: a rekey's old and new pairs count once (§2.8).
    std::set<uint32_t> reqids;
    for (const ChildSa& c : e->sa.children) reqids.insert(c.reqid);
    s.child_sas_active += reqids.size();
    s.retransmits_total += e->tasks.retransmits();
  }
  return s;
}

}  // namespace ipsec::engine::ike
