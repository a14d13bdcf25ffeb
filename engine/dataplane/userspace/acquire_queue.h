#pragma once

// AcquireQueue: packets that matched a "negotiate" filter while no SA existed for them (FAQ:
// negotiate on the first packet). Each destination gets a bounded FIFO (oldest dropped and
// counted when full) and one acquire per kAcquireInterval while it waits, so IKE is asked once,
// not per packet. When IKE installs an SA, Take() hands the packets back to be sent.
//
// The slow path: guarded by a mutex, allocates per packet. Thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "engine/common/ip_address.h"

namespace ipsec::engine::dataplane::userspace {

class AcquireQueue {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kDefaultPerDestination = 64;
  static constexpr size_t kMaxDestinations = 1024;
  // IKE retransmits on its own; a second acquire only after this (a failed negotiation).
  static constexpr Clock::duration kAcquireInterval = std::chrono::seconds(2);
  // Packets older than this are dropped when their destination is next touched.
  static constexpr Clock::duration kMaxWait = std::chrono::seconds(30);

  explicit AcquireQueue(size_t per_destination = kDefaultPerDestination)
      : per_destination_(per_destination) {}

  struct PushResult {
    bool acquire = false;  // the caller should tell IKE (first packet, or interval passed)
    size_t dropped = 0;    // packets dropped to make room (queue full) or expired
  };
  PushResult Push(const IpAddress& destination, const uint8_t* packet, size_t length,
                  Clock::time_point now);

  // Every waiting packet, oldest first per destination; the queue is left empty. Destinations
  // acquired less than kAcquireInterval ago remember it (re-queued packets do not re-acquire).
  std::vector<std::vector<uint8_t>> TakeAll(Clock::time_point now);
  // After TakeAll's packets went back through the pipeline: forgets the destinations none of
  // them was queued for again (their SA is there now), so that once that SA is gone the next
  // packet asks IKE at once instead of waiting out kAcquireInterval unheard.
  void ForgetSatisfied();
  size_t size() const;

 private:
  struct Waiting {
    std::deque<std::vector<uint8_t>> packets;
    std::deque<Clock::time_point> queued_at;
    Clock::time_point last_acquire{};
    bool acquired = false;
    bool taken = false;  // emptied by TakeAll and not queued for since
  };
  const size_t per_destination_;
  mutable std::mutex mu_;
  std::map<IpAddress, Waiting> waiting_;  // guarded by mu_
};

}  // namespace ipsec::engine::dataplane::userspace
