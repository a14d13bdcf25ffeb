#pragma once

// DeadlineTimer: one re-armable deadline on the event loop. The IKE SA manager keeps every
// retransmit, rekey, lifetime and DPD time itself and exposes NextDeadline(); the loop keeps
// one timer armed to it and calls back when it passes (QUICHE's alarm; WireGuard's timers).
//
// Not thread-safe: construct, arm, disarm and destroy it on the loop thread (or while the loop
// is stopped). It must not outlive its EventLoop.

#include <functional>
#include <memory>
#include <optional>

#include "engine/common/clock.h"
#include "engine/net/event_loop.h"

namespace ipsec::engine::net {

class DeadlineTimer {
 public:
  // `on_deadline` runs on the loop thread each time an armed deadline passes; it may re-arm the
  // timer but not destroy it.
  DeadlineTimer(EventLoop& loop, std::function<void()> on_deadline);
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Sets the deadline, replacing any earlier one (which then never fires). A deadline in the
  // past fires soon, on a later turn of the loop, never inside ArmAt.
  void ArmAt(Clock::TimePoint deadline);
  // ArmAt(*deadline), or Disarm() for nullopt: what NextDeadline() returns fits here.
  void Set(std::optional<Clock::TimePoint> deadline);
  void Disarm();
  std::optional<Clock::TimePoint> deadline() const { return deadline_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::optional<Clock::TimePoint> deadline_;
};

}  // namespace ipsec::engine::net
