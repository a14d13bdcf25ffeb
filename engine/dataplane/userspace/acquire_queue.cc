#include "engine/dataplane/userspace/acquire_queue.h"

namespace ipsec::engine::dataplane::userspace {

AcquireQueue::PushResult AcquireQueue::Push(const IpAddress& destination, const uint8_t* packet,
                                            size_t length, Clock::time_point now) {
  PushResult r;
  std::lock_guard lock(mu_);
  if (waiting_.size() >= kMaxDestinations && waiting_.count(destination) == 0) {
    r.dropped = 1;  // too many destinations waiting: this packet is the one dropped
    return r;
  }
  Waiting& w = waiting_[destination];
  w.taken = false;
  while (!w.queued_at.empty() && now - w.queued_at.front() > kMaxWait) {
    w.packets.pop_front();
    w.queued_at.pop_front();
    ++r.dropped;
  }
  while (w.packets.size() >= per_destination_ && !w.packets.empty()) {
    w.packets.pop_front();
    w.queued_at.pop_front();
    ++r.dropped;
  }
  if (per_destination_ > 0) {
    w.packets.emplace_back(packet, packet + length);
    w.queued_at.push_back(now);
  } else {
    ++r.dropped;
  }
  if (!w.acquired || now - w.last_acquire >= kAcquireInterval) {
    w.acquired = true;
    w.last_acquire = now;
    r.acquire = true;
  }
  return r;
}

std::vector<std::vector<uint8_t>> AcquireQueue::TakeAll(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<std::vector<uint8_t>> out;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    for (auto& p : it->second.packets) out.push_back(std::move(p));
    it->second.packets.clear();
    it->second.queued_at.clear();
    if (now - it->second.last_acquire >= kAcquireInterval) {
      it = waiting_.erase(it);
    } else {
      it->second.taken = true;
      ++it;
    }
  }
  return out;
}

void AcquireQueue::ForgetSatisfied() {
  std::lock_guard lock(mu_);
  std::erase_if(waiting_, [](const auto& entry) { return entry.second.taken; });
}

size_t AcquireQueue::size() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [d, w] : waiting_) n += w.packets.size();
  return n;
}

}  // namespace ipsec::engine::dataplane::userspace
