#include "engine/net/event_loop.h"

#include <pthread.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cassert>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace ipsec::engine::net {

namespace asio = boost::asio;

namespace {

enum class LoopState { kRunning, kStopping, kStopped };
enum class CallState { kPending, kRunning, kDone, kFailed, kAbandoned };

Error LoopStopped() { return MakeError(ErrorCode::kUnavailable, "event loop stopped"); }

// Runs `body`, turning an exception into an error (none may escape the module).
Status RunGuarded(const std::function<void()>& body) {
  try {
    body();
    return Status::Ok();
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("exception on the event loop: ") + e.what());
  } catch (...) {
    return MakeError(ErrorCode::kInternal, "exception on the event loop");
  }
}

}  // namespace

// One RunSync call: the waiting caller and the loop meet here.
struct EventLoop::SyncCall {
  std::mutex mutex;
  std::condition_variable done;
  CallState state = CallState::kPending;  // guarded by mutex
  std::function<void()> body;             // run once, by the loop; cleared when abandoned
  Status result;
};

struct EventLoop::Impl {
  // Declared first, destroyed last: timers and queued handlers die before it.
  asio::io_context context{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(context)};
  std::thread thread;
  std::atomic<std::thread::id> loop_thread_id{};
  std::atomic<uint64_t> handler_exceptions{0};
  std::atomic<uint64_t> next_wake_id{1};
  std::atomic<bool> stop_begun{false};

  std::mutex mutex;
  std::condition_variable state_changed;
  LoopState state = LoopState::kRunning;              // guarded by mutex
  std::set<std::shared_ptr<SyncCall>> pending_calls;  // guarded by mutex
  bool stopper_active = false;                        // guarded by mutex

  // Loop thread only.
  struct Wake {
    explicit Wake(asio::io_context& context, std::function<void()> f)
        : timer(context), fn(std::move(f)) {}
    asio::steady_timer timer;
    std::function<void()> fn;
  };
  std::unordered_map<WakeId, std::unique_ptr<Wake>> wakes;

  void Run(const std::string& name);
  // Must run on the loop thread.
  void ArmWake(WakeId id, Clock::TimePoint when, std::function<void()> fn);
  void FireWake(WakeId id);
  // Must run on the loop thread, or after it exited.
  static void RunCall(SyncCall& call);
  // After the loop thread exited: wakes every RunSync caller whose function never ran.
  void AbandonPendingCalls();
};

void EventLoop::Impl::Run(const std::string& name) {
  loop_thread_id.store(std::this_thread::get_id());
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  for (;;) {
    // After an exception run() may be called again; it returns normally only when stopped.
    try {
      context.run();
      break;
    } catch (...) {
      handler_exceptions.fetch_add(1, std::memory_order_relaxed);
    }
  }
  // Thread ids are reused: a later thread must not pass for the loop thread.
  loop_thread_id.store(std::thread::id());
}

void EventLoop::Impl::ArmWake(WakeId id, Clock::TimePoint when, std::function<void()> fn) {
  auto wake = std::make_unique<Wake>(context, std::move(fn));
  wake->timer.expires_at(when);
  wake->timer.async_wait([this, id](const boost::system::error_code& ec) {
    if (!ec) FireWake(id);  // a cancelled wake-up was erased already
  });
  wakes.emplace(id, std::move(wake));
}

void EventLoop::Impl::FireWake(WakeId id) {
  auto it = wakes.find(id);
  if (it == wakes.end()) return;
  std::function<void()> fn = std::move(it->second->fn);
  wakes.erase(it);  // destroying a timer inside its own completion is fine
  fn();
}

void EventLoop::Impl::RunCall(SyncCall& call) {
  {
    std::lock_guard lock(call.mutex);
    if (call.state != CallState::kPending) return;
    call.state = CallState::kRunning;
  }
  Status status = RunGuarded(call.body);
  {
    std::lock_guard lock(call.mutex);
    call.result = std::move(status);
    call.state = call.result.ok() ? CallState::kDone : CallState::kFailed;
  }
  call.done.notify_all();
}

void EventLoop::Impl::AbandonPendingCalls() {
  std::lock_guard lock(mutex);
  for (const std::shared_ptr<SyncCall>& call : pending_calls) {
    {
      std::lock_guard call_lock(call->mutex);
      if (call->state != CallState::kPending) continue;
      call->state = CallState::kAbandoned;
    }
    call->done.notify_all();
  }
}

Result<std::unique_ptr<EventLoop>> EventLoop::Create(std::string thread_name) {
  try {
    auto impl = std::make_unique<Impl>();
    Impl* raw = impl.get();
    impl->thread = std::thread([raw, name = std::move(thread_name)] { raw->Run(name); });
    return std::unique_ptr<EventLoop>(new EventLoop(std::move(impl)));
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kUnavailable, std::string("cannot start event loop: ") + e.what());
  }
}

EventLoop::EventLoop(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventLoop::~EventLoop() {
  // Also finishes a Stop that was called from the loop thread (it could not join).
  Stop();
  assert(!impl_->thread.joinable() && "EventLoop destroyed on its own thread");
}

bool EventLoop::Post(std::function<void()> fn) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->state != LoopState::kRunning) return false;
  asio::post(impl_->context, std::move(fn));
  return true;
}

Status EventLoop::RunSyncImpl(std::function<void()> body) {
  if (InLoopThread()) return RunGuarded(body);
  auto call = std::make_shared<SyncCall>();
  call->body = std::move(body);
  {
    std::unique_lock lock(impl_->mutex);
    if (impl_->state != LoopState::kRunning) {
      // Promise the caller that the loop thread is gone before reporting the failure.
      impl_->state_changed.wait(lock, [this] { return impl_->state == LoopState::kStopped; });
      return LoopStopped();
    }
    impl_->pending_calls.insert(call);
    asio::post(impl_->context, [call] { Impl::RunCall(*call); });
  }
  Status result;
  {
    std::unique_lock lock(call->mutex);
    call->done.wait(lock, [&call] {
      return call->state == CallState::kDone || call->state == CallState::kFailed ||
             call->state == CallState::kAbandoned;
    });
    if (call->state == CallState::kAbandoned) {
      call->body = nullptr;
      result = LoopStopped();
    } else {
      result = std::move(call->result);
    }
  }
  std::lock_guard lock(impl_->mutex);
  impl_->pending_calls.erase(call);
  return result;
}

EventLoop::WakeId EventLoop::WakeAt(Clock::TimePoint when, std::function<void()> fn) {
  const WakeId id = impl_->next_wake_id.fetch_add(1, std::memory_order_relaxed);
  if (InLoopThread()) {
    impl_->ArmWake(id, when, std::move(fn));
    return id;
  }
  Impl* impl = impl_.get();
  const bool queued = Post(
      [impl, id, when, fn = std::move(fn)]() mutable { impl->ArmWake(id, when, std::move(fn)); });
  return queued ? id : 0;
}

void EventLoop::CancelWake(WakeId id) {
  if (id == 0) return;
  if (InLoopThread()) {
    impl_->wakes.erase(id);  // the timer's destructor cancels its wait
    return;
  }
  Impl* impl = impl_.get();
  Post([impl, id] { impl->wakes.erase(id); });
}

void EventLoop::Stop(std::chrono::milliseconds drain) {
  std::unique_lock lock(impl_->mutex);
  if (impl_->state == LoopState::kStopped) return;
  if (impl_->stopper_active) {  // another thread is stopping it: wait for that
    impl_->state_changed.wait(lock, [this] { return impl_->state == LoopState::kStopped; });
    return;
  }
  impl_->state = LoopState::kStopping;
  impl_->stop_begun.store(true);
  if (InLoopThread()) {
    assert(false && "EventLoop::Stop must not be called from the loop thread");
    impl_->context.stop();
    return;
  }
  impl_->stopper_active = true;
  lock.unlock();

  if (drain.count() > 0) {  // a marker behind the queued work; wait for it, bounded
    auto marker = std::make_shared<SyncCall>();
    marker->body = [] {};
    asio::post(impl_->context, [marker] { Impl::RunCall(*marker); });
    std::unique_lock marker_lock(marker->mutex);
    marker->done.wait_for(marker_lock, drain, [&marker] {
      return marker->state != CallState::kPending && marker->state != CallState::kRunning;
    });
  }
  impl_->work.reset();
  impl_->context.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->AbandonPendingCalls();

  lock.lock();
  impl_->state = LoopState::kStopped;
  impl_->stopper_active = false;
  lock.unlock();
  impl_->state_changed.notify_all();
}

bool EventLoop::InLoopThread() const {
  return impl_->loop_thread_id.load() == std::this_thread::get_id();
}

bool EventLoop::stopped() const { return impl_->stop_begun.load(); }

uint64_t EventLoop::handler_exceptions() const {
  return impl_->handler_exceptions.load(std::memory_order_relaxed);
}

asio::io_context& EventLoop::context() { return impl_->context; }

}  // namespace ipsec::engine::net
