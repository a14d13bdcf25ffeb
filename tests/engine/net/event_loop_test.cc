#include "engine/net/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ipsec::engine::net {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::unique_ptr<EventLoop> MakeLoop() {
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create("test-loop");
  EXPECT_TRUE(loop.ok());
  return std::move(loop).value();
}

// A gate the loop thread waits at, so tests can pile up work behind it.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST(EventLoopTest, PostRunsInOrderOnTheLoopThread) {
  auto loop = MakeLoop();
  std::vector<int> order;  // touched on the loop thread only
  std::atomic<int> off_loop{0};
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(loop->Post([&, i] {
      if (!loop->InLoopThread()) ++off_loop;
      order.push_back(i);
    }));
  }
  // RunSync queues behind the posts, so it sees all of them done.
  Result<size_t> seen = loop->RunSync([&] { return order.size(); });
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, 100u);
  EXPECT_EQ(off_loop.load(), 0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_FALSE(loop->InLoopThread());
}

TEST(EventLoopTest, RunSyncReturnsWhatTheFunctionReturns) {
  auto loop = MakeLoop();
  Result<int> value = loop->RunSync([] { return 42; });
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);

  // Result<T> and Status pass through, not nested.
  Result<std::string> passed =
      loop->RunSync([]() -> Result<std::string> { return std::string("ok"); });
  ASSERT_TRUE(passed.ok());
  EXPECT_EQ(*passed, "ok");
  Result<std::string> failed = loop->RunSync(
      []() -> Result<std::string> { return MakeError(ErrorCode::kNotFound, "no such SA"); });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kNotFound);
  Status status = loop->RunSync([] { return Status(MakeError(ErrorCode::kAborted, "x")); });
  EXPECT_EQ(status.error().code, ErrorCode::kAborted);

  int touched = 0;
  Status done = loop->RunSync([&] { touched = 7; });  // void → Status
  EXPECT_TRUE(done.ok());
  EXPECT_EQ(touched, 7);
}

TEST(EventLoopTest, RunSyncTurnsAnExceptionIntoAnError) {
  auto loop = MakeLoop();
  Result<int> thrown = loop->RunSync([]() -> int { throw std::runtime_error("boom"); });
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.error().code, ErrorCode::kInternal);
  EXPECT_NE(thrown.error().message.find("boom"), std::string::npos);
  EXPECT_TRUE(loop->RunSync([] { return 1; }).ok());  // the loop goes on
}

TEST(EventLoopTest, RunSyncOnTheLoopThreadRunsInline) {
  auto loop = MakeLoop();
  Result<int> outer = loop->RunSync([&] {
    Result<int> inner = loop->RunSync([&] { return loop->InLoopThread() ? 5 : -1; });
    return inner.ok() ? *inner : -2;
  });
  ASSERT_TRUE(outer.ok());
  EXPECT_EQ(*outer, 5);
}

TEST(EventLoopTest, WakeUpsRunInDeadlineOrderAfterQueuedWork) {
  auto loop = MakeLoop();
  std::mutex mutex;
  std::vector<std::string> order;
  std::vector<bool> early;
  auto record = [&](std::string name, Clock::time_point due) {
    return [&, name, due] {
      std::lock_guard lock(mutex);
      order.push_back(name);
      early.push_back(Clock::now() < due);
    };
  };
  const auto now = Clock::now();
  std::promise<void> last;
  ASSERT_NE(loop->WakeAt(now + milliseconds(80),
                         [&] {
                           record("late", now + milliseconds(80))();
                           last.set_value();
                         }),
            0u);
  ASSERT_NE(loop->WakeAt(now + milliseconds(30), record("soon", now + milliseconds(30))), 0u);
  ASSERT_NE(loop->WakeAt(now - milliseconds(5), record("past", now - milliseconds(5))), 0u);
  ASSERT_TRUE(loop->Post(record("posted", now)));
  ASSERT_EQ(last.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<std::string>{"posted", "past", "soon", "late"}));
  for (bool e : early) EXPECT_FALSE(e);
}

TEST(EventLoopTest, CancelledWakeUpsNeverRun) {
  auto loop = MakeLoop();
  std::atomic<int> fired{0};
  const auto soon = Clock::now() + milliseconds(20);
  EventLoop::WakeId from_outside = loop->WakeAt(soon, [&] { fired += 1; });
  loop->CancelWake(from_outside);
  Result<EventLoop::WakeId> inside = loop->RunSync([&] {
    EventLoop::WakeId id = loop->WakeAt(soon, [&] { fired += 10; });
    loop->CancelWake(id);
    loop->CancelWake(12345);  // unknown: ignored
    return id;
  });
  ASSERT_TRUE(inside.ok());
  EXPECT_NE(*inside, from_outside);
  std::promise<void> after;
  loop->WakeAt(soon + milliseconds(30), [&] { after.set_value(); });
  ASSERT_EQ(after.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(fired.load(), 0);
}

TEST(EventLoopTest, StopDropsQueuedWorkAndReleasesWaiters) {
  auto loop = MakeLoop();
  Gate gate;
  std::promise<void> blocked;
  loop->Post([&] {
    blocked.set_value();
    gate.Wait();
  });
  blocked.get_future().wait();
  std::atomic<int> ran{0};
  for (int i = 0; i < 1000; ++i) loop->Post([&] { ++ran; });
  std::atomic<int> wake_ran{0};
  loop->WakeAt(Clock::now(), [&] { ++wake_ran; });
  bool sync_ran = false;
  auto waiter =
      std::async(std::launch::async, [&] { return loop->RunSync([&] { sync_ran = true; }); });

  auto stopper = std::async(std::launch::async, [&] { loop->Stop(); });
  while (!loop->stopped()) std::this_thread::sleep_for(milliseconds(1));
  EXPECT_FALSE(loop->Post([&] { ++ran; }));
  EXPECT_EQ(loop->WakeAt(Clock::now(), [&] { ++wake_ran; }), 0u);
  gate.Open();  // the handler in progress finishes; nothing queued behind it runs
  ASSERT_EQ(stopper.wait_for(std::chrono::seconds(5)), std::future_status::ready);

  Status waited = waiter.get();
  EXPECT_FALSE(sync_ran);
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(wake_ran.load(), 0);
  EXPECT_FALSE(loop->RunSync([] { return 1; }).ok());
  loop->Stop();  // idempotent
}

TEST(EventLoopTest, StopWithDrainLetsQueuedWorkFinish) {
  auto loop = MakeLoop();
  std::atomic<int> ran{0};
  for (int i = 0; i < 200; ++i) {
    loop->Post([&] {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      ++ran;
    });
  }
  loop->Stop(std::chrono::seconds(5));
  EXPECT_EQ(ran.load(), 200);
}

TEST(EventLoopTest, StopIsBoundedByTheDrainTime) {
  auto loop = MakeLoop();
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) {
    loop->Post([&] {
      std::this_thread::sleep_for(milliseconds(10));
      ++ran;
    });
  }
  const auto start = Clock::now();
  loop->Stop(milliseconds(50));
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  EXPECT_LT(ran.load(), 100);
}

TEST(EventLoopTest, ConcurrentStopsAndDestructionAreSafe) {
  auto loop = MakeLoop();
  loop->WakeAt(Clock::now() + std::chrono::hours(1), [] {});
  loop->Post([] { std::this_thread::sleep_for(milliseconds(20)); });
  std::thread a([&] { loop->Stop(); });
  std::thread b([&] { loop->Stop(); });
  a.join();
  b.join();
  EXPECT_TRUE(loop->stopped());
  loop.reset();  // queued and timed work is destroyed unrun
}

TEST(EventLoopTest, AnExceptionFromAPostedHandlerIsCountedAndTheLoopGoesOn) {
  auto loop = MakeLoop();
  loop->Post([] { throw std::runtime_error("handler bug"); });
  Result<int> after = loop->RunSync([] { return 3; });
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(loop->handler_exceptions(), 1u);
}

TEST(EventLoopTest, ManyThreadsRunSyncConcurrently) {
  auto loop = MakeLoop();
  int counter = 0;  // loop thread only
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) ASSERT_TRUE(loop->RunSync([&] { ++counter; }).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*loop->RunSync([&] { return counter; }), 1600);
}

}  // namespace
}  // namespace ipsec::engine::net
