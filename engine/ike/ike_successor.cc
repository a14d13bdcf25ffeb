// IkeManager's IKE SA rekeys once their CREATE_CHILD_SA exchange has ended (RFC 7296 §2.18):
// the successor IKE SA made from RekeyIkeSaTask's result, the child SAs and requests moved to
// it, collisions (§2.8.2, §2.25.2: both peers rekeyed at once, also when a request was lost or
// overtaken), and the grace period of what a rekey replaced.

#include <optional>
#include <utility>
#include <vector>

#include "engine/ike/ike_manager.h"
#include "engine/ike/ike_manager_entry.h"
#include "engine/ike/tasks/create_child_sa.h"
#include "engine/ike/tasks/informational.h"
#include "engine/ike/tasks/rekey_ike_sa.h"

namespace ipsec::engine::ike {

// §2.18: the new IKE SA inherits the peer's identity and every child SA; the rekey's initiator
// deletes the old one. §2.8.2: when both peers rekeyed at once, the new SA of the exchange
// with the lowest nonce is redundant and deleted by its initiator; the other initiator deletes
// the old SA, and the child SAs move to the surviving new one.
void IkeManager::AfterIkeRekey(Entry& old, const RekeyIkeSaTask& task, SteadyTime now) {
  const RekeyedIkeSa& r = *task.result();
  auto fresh = std::make_unique<Entry>(*options_.random, *options_.observer);
  IkeSa& n = fresh->sa;
  const IkeSa& o = old.sa;
  n.id = ++next_id_;
  n.original_initiator = r.we_initiated;
  n.spi_i = r.spi_i;
  n.spi_r = r.spi_r;
  n.config = o.config;
  n.local = o.local;
  n.remote = o.remote;
  n.nat_local = o.nat_local;
  n.nat_remote = o.nat_remote;
  n.floated = o.floated;
  n.nat_t_local_port = o.nat_t_local_port;
  n.nat_t_remote_port = o.nat_t_remote_port;
  n.algorithms = r.algorithms;
  n.keys = r.keys;
  n.nonce_i = r.nonce_i;
  n.nonce_r = r.nonce_r;
  n.peer_supports_fragmentation = o.peer_supports_fragmentation;
  n.peer_signature_hashes = o.peer_signature_hashes;
  n.local_id = o.local_id;
  n.remote_id = o.remote_id;
  n.rule = o.rule;
  n.local_auth = o.local_auth;
  n.remote_auth = o.remote_auth;
  n.peer_authentication = o.peer_authentication;  // §2.18: the same peer, the same rules
  n.state = IkeSaState::kEstablished;
  n.created = n.established = n.last_inbound = now;
  n.established_unix = UnixNow();
  n.expire_at = now + std::chrono::seconds(n.config->ike_lifetime_seconds);
  n.rekey_at = Jittered(now, n.expire_at);
  fresh->reported_up = true;  // the rekey is reported, not a new IKE SA
  fresh->peer_answered = true;
  Entry& made = *fresh;
  sas_[n.local_spi()] = std::move(fresh);
  Track(made);  // established with the peer from the start
  options_.observer->OnLog(&o, "IKE SA ike-" + std::to_string(o.id) + " rekeyed as ike-" +
                                   std::to_string(n.id) + " (" + Describe(n.algorithms) + ")");

  auto delete_sa = [this](Entry& e) {
    e.reported_up = false;
    e.tasks.QueueFront(std::make_unique<InformationalTask>(e.sa, installer_,
                                                           InformationalTask::Kind::kDeleteIkeSa));
  };

  if (!r.we_initiated) {
    if (task.collided()) {
      // §2.8.2: ours is under way too; decided when it completes (AfterIkeRekey), or, when the
      // peer saw no collision, when it deletes the old IKE SA or refuses our request
      // (AdoptPeerRekey).
      old.sa.peer_rekey = RekeyCollision{MinNonce(r.nonce_i, r.nonce_r), n.local_spi()};
      made.sa.state = IkeSaState::kRekeying;  // holds nothing until then
      made.collision_held = true;
      return;
    }
    options_.observer->OnRekey(true);
    old.sa.state = IkeSaState::kRekeyed;  // the initiator deletes it
    MoveToSuccessor(old, made, now);
    return;
  }
  options_.observer->OnRekey(true);
  old.ike_rekey_queued = false;
  Entry* theirs = HeldSuccessor(old);
  const std::optional<RekeyCollision> peer = std::exchange(old.sa.peer_rekey, std::nullopt);
  if (theirs != nullptr) {
    theirs->collision_held = false;
    const bool ours_redundant = NonceLess(MinNonce(r.nonce_i, r.nonce_r), peer->lower_nonce);
    options_.observer->OnLog(&o, ours_redundant ? "IKE rekey collision (§2.8.2): our new IKE SA "
                                                  "is redundant, deleting it"
                                                : "IKE rekey collision (§2.8.2): the peer's new "
                                                  "IKE SA is redundant; deleting the old one");
    if (ours_redundant) {
      theirs->sa.state = IkeSaState::kEstablished;
      old.sa.state = IkeSaState::kRekeyed;  // the peer deletes the old one
      MoveToSuccessor(old, *theirs, now);
      delete_sa(made);
      Outbox out;
      made.tasks.Flush(now, out);
      Send(out);
      return;
    }
    theirs->sa.state = IkeSaState::kRekeyed;  // redundant: the peer deletes it
    theirs->reported_up = false;
    StartGrace(*theirs, now);
  }
  old.sa.state = IkeSaState::kRekeyed;
  MoveToSuccessor(old, made, now);
  delete_sa(old);  // §2.18: the rekey initiator deletes the old IKE SA
}

void IkeManager::MoveToSuccessor(Entry& from, Entry& to, SteadyTime now) {
  std::vector<uint32_t> deleting;
  for (ChildSa& c : from.sa.children) {
    // A rekey queued on the old IKE SA will not run there: the timer queues it again (or it is
    // queued again below).
    if (c.state == ChildSaState::kInstalled) c.rekey_queued = false;
    if (c.state == ChildSaState::kDeleting) deleting.push_back(c.spi_in);
    to.sa.children.push_back(std::move(c));
  }
  if (!deleting.empty()) {
    // §1.4.1: our Delete of these, under way or queued on the old IKE SA, will not complete
    // there once the old SA is gone (the pairs stayed 'deleting' for good when the peer's IKE
    // SA rekey overtook it): it goes again on the successor, as §1.4 allows ("... or its
    // successor if the IKE SA was replaced for the purpose of rekeying"). A pair the peer
    // removed already is answered with no Delete payload, and ours goes then.
    to.tasks.QueueFront(std::make_unique<InformationalTask>(
        to.sa, installer_, InformationalTask::Kind::kDeleteChildSas, std::move(deleting)));
  }
  from.sa.children.clear();
  to.reported_children.insert(from.reported_children.begin(), from.reported_children.end());
  from.reported_children.clear();
  // §2.18: "... new child SAs ... are created on the new IKE SA": requests for child SAs not
  // yet sent on the old IKE SA, and those waiting for this rekey (FAQ 18), go to the new one.
  auto queued = from.tasks.TakeQueued([](const Task& t) {
    const auto* c = dynamic_cast<const CreateChildSaTask*>(&t);
    return c != nullptr && c->role() == Role::kInitiator;
  });
  std::vector<uint32_t> rekeys = std::move(from.pending_rekeys);
  from.pending_rekeys.clear();
  for (auto& t : queued) {
    auto& c = static_cast<CreateChildSaTask&>(*t);
    if (c.is_rekey()) {
      rekeys.push_back(c.rekey_spi_in());
    } else {
      from.pending_children.push_back({c.rule(), c.local_ts(), c.remote_ts()});
    }
  }
  for (auto& p : from.pending_children) {
    auto child = CreateChildSaTask::NewChild(to.sa, installer_, *options_.random, p.rule,
                                             p.local_ts, p.remote_ts);
    child->set_now_unix(UnixNow());
    to.tasks.Queue(std::move(child));
  }
  from.pending_children.clear();
  for (uint32_t spi : rekeys) {
    ChildSa* c = to.sa.FindChildByInboundSpi(spi);
    if (c == nullptr || c->state != ChildSaState::kInstalled || c->rekey_queued) continue;
    c->rekey_queued = true;
    auto task = CreateChildSaTask::Rekey(to.sa, installer_, *options_.random, spi);
    task->set_now_unix(UnixNow());
    to.tasks.Queue(std::move(task));
  }
  from.reported_up = false;     // its end is not a loss either
  StartGrace(to, now);          // a rekeyed or redundant child SA that moved along
  to.tasks.Flush(now, after_);  // sent after our rekey response, if we answered (Settle)
}

IkeManager::Entry* IkeManager::HeldSuccessor(const Entry& old) {
  if (!old.sa.peer_rekey) return nullptr;
  Entry* theirs = Find(old.sa.peer_rekey->new_spi);
  return theirs != nullptr && theirs->collision_held ? theirs : nullptr;
}

// strongSwan's ike_rekey.c calls this concluding an undetected collision. Only a protected
// message from the peer (its Delete or its answer, both integrity-checked by the task manager)
// or our own timers lead here.
void IkeManager::AdoptPeerRekey(Entry& old, Entry& theirs, const std::string& why, SteadyTime now) {
  options_.observer->OnLog(&old.sa, "IKE rekey collision (§2.8.2): " + why +
                                        "; the peer saw none, so its new IKE SA ike-" +
                                        std::to_string(theirs.sa.id) + " replaces this one");
  options_.observer->OnRekey(true);
  theirs.collision_held = false;
  theirs.sa.state = IkeSaState::kEstablished;
  old.sa.peer_rekey.reset();
  old.ike_rekey_queued = false;
  old.sa.state = IkeSaState::kRekeyed;  // the peer deletes it, if it has not yet
  MoveToSuccessor(old, theirs, now);
  MarkDeadlineDirty(theirs.sa.local_spi());
}

void IkeManager::StartGrace(Entry& entry, SteadyTime now) {
  IkeSa& sa = entry.sa;
  const SteadyTime until = now + sa.config->timers.RekeyedGrace();
  if (sa.state == IkeSaState::kRekeyed && sa.grace_until == SteadyTime::max()) {
    sa.grace_until = until;
  }
  for (ChildSa& c : sa.children) {
    if (c.state == ChildSaState::kRekeyed && c.grace_until == SteadyTime::max()) {
      c.grace_until = until;
    }
  }
}

}  // namespace ipsec::engine::ike
