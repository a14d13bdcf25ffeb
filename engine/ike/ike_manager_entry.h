#pragma once

// IkeManager's record of one IKE SA (private to ike_manager.cc and rekey_timers.cc).

#include <set>
#include <string>
#include <vector>

#include "engine/ike/admission.h"
#include "engine/ike/ike_manager.h"
#include "engine/ike/traffic_selectors.h"

namespace ipsec::engine::ike {

struct IkeManager::Entry {
  Entry(Random& random, IkeObserver& observer) : tasks(sa, random, observer) {}
  IkeSa sa;
  TaskManager tasks;
  bool dead = false;
  bool reported_up = false;
  // The peer's new IKE SA from a rekey that collided with ours (RFC 7296 §2.8.2), held in
  // kRekeying until ours is decided (IkeManager::AfterIkeRekey, AdoptPeerRekey): it holds no
  // child SA, and is not reported up or down on its own.
  bool collision_held = false;
  std::set<uint32_t> reported_children;  // reqids reported up (a rekey keeps the reqid)
  SteadyTime half_open_until = SteadyTime::max();
  AdmissionTable::Slot admission;  // how admission_ counts this SA (IkeManager::Track)
  // FAQ 16: a negotiation for a rule that allows fallback to clear, until the peer answers.
  SteadyTime fallback_at = SteadyTime::max();
  bool peer_answered = false;  // any datagram for this SA came in
  // RFC 7296 §2.4: when the data path last received ESP/AH from the peer on a child SA of this
  // IKE SA, as far as the last liveness timer saw (its inbound SAs' last use).
  SteadyTime esp_inbound{};
  // RFC 3948 §2.3: the next NAT keepalive (only while we are behind a NAT).
  SteadyTime keepalive_at = SteadyTime::min();
  // FAQ 18: child SAs asked for while the IKE SA is rekeyed first; made under the successor.
  struct PendingChild {
    std::string rule;
    Selectors local_ts;
    Selectors remote_ts;
  };
  std::vector<PendingChild> pending_children;
  // The child SA offers we made that may still be under way (IKE_AUTH's, CREATE_CHILD_SA's;
  // dropped when their exchange ends, or all once no exchange is left): an acquire for traffic
  // one of them carries waits for it instead of asking again (IkeManager::OnAcquire).
  std::vector<NarrowedTraffic> child_offers;
  // FAQ 18: child SAs (our inbound SPIs) whose rekey waits for the IKE SA's rekey, because it
  // would derive keys from SK_d once more than max_child_sas allows.
  std::vector<uint32_t> pending_rekeys;
  bool ike_rekey_queued = false;
};

}  // namespace ipsec::engine::ike
