#pragma once

// EventLoop: one thread running one Boost.Asio io_context. The IKE engine is single-threaded
// on it: every IKE object (SA manager, SAs, tasks, timers) and every engine/net I/O object
// lives on this thread and is touched only from it (../shared/STYLE.md rule 11). Other threads
// reach IKE through Post (fire and forget) or RunSync (call and wait), never directly.
//
// Boost stays out of this header (modules above engine/net must not include it); only
// engine/net's own sources reach the io_context.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "engine/common/clock.h"
#include "engine/common/result.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ipsec::engine::net {

namespace internal {
// What RunSync returns for a function returning R: the value, or the error that kept the
// function from running. Status and Result<T> pass through (an error of the loop replaces
// them); void becomes Status.
template <typename R>
struct SyncResult {
  using Type = Result<R>;
};
template <>
struct SyncResult<void> {
  using Type = Status;
};
template <>
struct SyncResult<Status> {
  using Type = Status;
};
template <typename T>
struct SyncResult<Result<T>> {
  using Type = Result<T>;
};
}  // namespace internal

class EventLoop {
 public:
  using WakeId = uint64_t;  // 0: none

  // Starts the loop thread. Fails (kUnavailable) only if the OS refuses a thread or an epoll.
  static Result<std::unique_ptr<EventLoop>> Create(std::string thread_name = "ipsec-loop");
  // Stop(). Every engine/net object made on this loop (UdpTransport, DeadlineTimer) must be
  // destroyed first.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Queues `fn` to run on the loop thread, after everything queued before it (FIFO). Any
  // thread. Returns false, and drops `fn` unrun, once Stop has begun.
  bool Post(std::function<void()> fn);

  // Runs `fn` on the loop thread and blocks the caller until it has run; returns its result.
  // On the loop thread itself it runs `fn` inline (waiting for itself would deadlock). If the
  // loop stops before `fn` runs, `fn` never runs and the result is a kUnavailable error; that
  // error comes back only once the loop thread has exited, so the caller may then touch
  // loop-owned objects itself. An exception from `fn` becomes a kInternal error. `fn` may
  // capture the caller's locals by reference.
  template <typename F>
  auto RunSync(F&& fn) -> typename internal::SyncResult<std::invoke_result_t<F&>>::Type;

  // Runs `fn` once on the loop thread at `when` (soon, if `when` has passed). Any thread.
  // Returns an id for CancelWake, or 0 (and drops `fn`) once Stop has begun.
  WakeId WakeAt(Clock::TimePoint when, std::function<void()> fn);
  // Cancels a wake-up that has not run yet; unknown or spent ids are ignored. Any thread; off
  // the loop thread the cancellation is queued, so a wake-up already due may still run.
  void CancelWake(WakeId id);

  // Stops the loop and joins its thread. New work is refused at once; work queued before the
  // call gets up to `drain` to run; then the loop stops after the handler in progress, and
  // whatever is still queued is dropped unrun (pending RunSync callers get kUnavailable, due
  // wake-ups never run). Idempotent, and safe from several threads. Must not be called from the
  // loop thread (asserted; in release builds it stops the loop without joining, and the
  // destructor joins).
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(0));

  bool InLoopThread() const;
  bool stopped() const;  // Stop has begun
  // Exceptions that escaped a handler (counted, then the loop went on).
  uint64_t handler_exceptions() const;

  // For engine/net's own I/O objects (sockets, timers). Not for callers above engine/net.
  boost::asio::io_context& context();

 private:
  struct Impl;
  struct SyncCall;
  explicit EventLoop(std::unique_ptr<Impl> impl);
  // Runs `body` on the loop thread and waits (see RunSync).
  Status RunSyncImpl(std::function<void()> body);

  std::unique_ptr<Impl> impl_;
};

template <typename F>
auto EventLoop::RunSync(F&& fn) -> typename internal::SyncResult<std::invoke_result_t<F&>>::Type {
  using R = std::invoke_result_t<F&>;
  using Out = typename internal::SyncResult<R>::Type;
  static_assert(!std::is_reference_v<R>, "RunSync returns values, not references");
  if constexpr (std::is_void_v<R>) {
    return RunSyncImpl([&fn] { fn(); });
  } else {
    std::optional<R> value;
    Status status = RunSyncImpl([&fn, &value] { value.emplace(fn()); });
    if (!status.ok()) return Out(status.error());
    return Out(std::move(*value));
  }
}

}  // namespace ipsec::engine::net
