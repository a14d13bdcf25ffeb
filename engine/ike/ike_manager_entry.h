#pragma once

// IkeManager's record of one IKE SA (private to ike_manager.cc and rekey_timers.cc).

#include <set>
#include <string>
#include <vector>

#include "engine/ike/ike_manager.h"
#include "engine/ike/traffic_selectors.h"

namespace ipsec::engine::ike {

struct IkeManager::Entry {
  Entry(Random& random, IkeObserver& observer) : tasks(sa, random, observer) {}
  IkeSa sa;
  TaskManager tasks;
  bool dead = false;
  bool reported_up = false;
  std::set<uint32_t> reported_children;  // reqids reported up
  std::set<uint32_t> silent_reqids;      // replaced by a rekey: their removal is not reported
  SteadyTime half_open_until = SteadyTime::max();
  // FAQ 16: a negotiation for a rule that allows fallback to clear, until the peer answers.
  SteadyTime fallback_at = SteadyTime::max();
  bool peer_answered = false;  // any datagram for this SA came in
  // RFC 3948 §2.3: the next NAT keepalive (only while we are behind a NAT).
  SteadyTime keepalive_at = SteadyTime::min();
  // FAQ 18: child SAs asked for while the IKE SA is rekeyed first; made under the successor.
  struct PendingChild {
    std::string rule;
    Selectors local_ts;
    Selectors remote_ts;
  };
  std::vector<PendingChild> pending_children;
  bool ike_rekey_queued = false;
};

}  // namespace ipsec::engine::ike
