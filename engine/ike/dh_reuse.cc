#include "engine/ike/dh_reuse.h"

#include <algorithm>

namespace ipsec::engine::ike {

Result<std::shared_ptr<const crypto::KeyExchange>> DhReusePool::Get(crypto::Group group,
                                                                    ByteSpan peer_public,
                                                                    SteadyTime now) {
  Expire(now);
  auto slot = std::find_if(slots_.begin(), slots_.end(),
                           [group](const Slot& s) { return s.group == group; });
  // RFC 7296 §2.12: reuse only within the bounds; a reflected public value never meets its
  // own private key.
  if (slot != slots_.end() && slot->uses < limits_.max_uses &&
      !std::equal(peer_public.begin(), peer_public.end(), slot->key->PublicValue().begin(),
                  slot->key->PublicValue().end())) {
    ++slot->uses;
    ++reused_;
    return slot->key;
  }
  auto fresh = crypto::KeyExchange::Generate(group);
  if (!fresh.ok()) return fresh.error();
  ++generated_;
  std::shared_ptr<const crypto::KeyExchange> key = std::move(fresh).value();
  if (limits_.max_age.count() <= 0 || limits_.max_uses <= 1) return key;  // no reuse
  if (slot != slots_.end()) {
    *slot = Slot{group, key, now, 1};
  } else {
    slots_.push_back(Slot{group, key, now, 1});
  }
  return key;
}

void DhReusePool::Expire(SteadyTime now) {
  std::erase_if(slots_, [&](const Slot& s) { return now >= s.born + limits_.max_age; });
}

SteadyTime DhReusePool::NextExpiry() const {
  SteadyTime next = SteadyTime::max();
  for (const Slot& s : slots_) next = std::min(next, s.born + limits_.max_age);
  return next;
}

}  // namespace ipsec::engine::ike
