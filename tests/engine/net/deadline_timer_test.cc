#include "engine/net/deadline_timer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "engine/net/event_loop.h"

namespace ipsec::engine::net {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Timers live on the loop thread: the fixture makes, arms and destroys them there.
class DeadlineTimerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create("timer-test");
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(loop).value();
    ASSERT_TRUE(loop_
                    ->RunSync([this] {
                      timer_ = std::make_unique<DeadlineTimer>(*loop_, [this] { OnDeadline(); });
                    })
                    .ok());
  }
  void TearDown() override {
    ASSERT_TRUE(loop_->RunSync([this] { timer_.reset(); }).ok());
    loop_.reset();
  }
  void OnDeadline() {  // loop thread
    fire_times_.push_back(SteadyClock::now());
    if (rearm_count_ > 0) {
      --rearm_count_;
      timer_->ArmAt(SteadyClock::now() + milliseconds(5));
    }
  }
  template <typename F>
  void OnLoop(F fn) {
    ASSERT_TRUE(loop_->RunSync(fn).ok());
  }
  std::vector<SteadyClock::time_point> FireTimes() {
    return *loop_->RunSync([this] { return fire_times_; });
  }
  // Waits until the timer fired `n` times, or a few seconds passed.
  void WaitForFires(size_t n) {
    const auto until = SteadyClock::now() + std::chrono::seconds(5);
    while (FireTimes().size() < n && SteadyClock::now() < until) {
      std::this_thread::sleep_for(milliseconds(2));
    }
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<DeadlineTimer> timer_;
  std::vector<SteadyClock::time_point> fire_times_;  // loop thread
  int rearm_count_ = 0;                              // loop thread
};

TEST_F(DeadlineTimerTest, FiresOnceAtTheDeadline) {
  const auto deadline = SteadyClock::now() + milliseconds(20);
  OnLoop([&] {
    timer_->ArmAt(deadline);
    EXPECT_EQ(timer_->deadline(), deadline);
  });
  WaitForFires(1);
  std::this_thread::sleep_for(milliseconds(30));
  const auto fires = FireTimes();
  ASSERT_EQ(fires.size(), 1u);
  EXPECT_GE(fires[0], deadline);
  OnLoop([&] { EXPECT_FALSE(timer_->deadline().has_value()); });
}

TEST_F(DeadlineTimerTest, RearmingReplacesTheDeadline) {
  const auto now = SteadyClock::now();
  OnLoop([&] {
    timer_->ArmAt(now + milliseconds(10));
    timer_->ArmAt(now + milliseconds(60));  // later: the first never fires
  });
  WaitForFires(1);
  auto fires = FireTimes();
  ASSERT_EQ(fires.size(), 1u);
  EXPECT_GE(fires[0], now + milliseconds(60));

  const auto later = SteadyClock::now();
  OnLoop([&] {
    timer_->ArmAt(later + std::chrono::seconds(30));
    timer_->ArmAt(later + milliseconds(10));  // earlier: fires early
  });
  WaitForFires(2);
  fires = FireTimes();
  ASSERT_EQ(fires.size(), 2u);
  EXPECT_LT(fires[1], later + std::chrono::seconds(5));
}

TEST_F(DeadlineTimerTest, DisarmAndSetNulloptStopIt) {
  const auto soon = SteadyClock::now() + milliseconds(10);
  OnLoop([&] {
    timer_->ArmAt(soon);
    timer_->Disarm();
    EXPECT_FALSE(timer_->deadline().has_value());
  });
  std::this_thread::sleep_for(milliseconds(40));
  EXPECT_TRUE(FireTimes().empty());
  OnLoop([&] {
    timer_->Set(SteadyClock::now() + milliseconds(10));
    timer_->Set(std::nullopt);
  });
  std::this_thread::sleep_for(milliseconds(40));
  EXPECT_TRUE(FireTimes().empty());
  OnLoop([&] { timer_->Set(SteadyClock::now()); });
  WaitForFires(1);
  EXPECT_EQ(FireTimes().size(), 1u);
}

TEST_F(DeadlineTimerTest, APastDeadlineFiresSoonButNotInline) {
  OnLoop([&] {
    timer_->ArmAt(SteadyClock::now() - milliseconds(100));
    EXPECT_TRUE(fire_times_.empty());  // not inside ArmAt
  });
  WaitForFires(1);
  EXPECT_EQ(FireTimes().size(), 1u);
}

TEST_F(DeadlineTimerTest, TheCallbackMayRearm) {
  OnLoop([&] {
    rearm_count_ = 2;
    timer_->ArmAt(SteadyClock::now() + milliseconds(5));
  });
  WaitForFires(3);
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(FireTimes().size(), 3u);
}

TEST_F(DeadlineTimerTest, DestroyedWhileArmedNeverFires) {
  OnLoop([&] {
    timer_->ArmAt(SteadyClock::now() + milliseconds(10));
    timer_.reset();
    timer_ = std::make_unique<DeadlineTimer>(*loop_, [this] { OnDeadline(); });
  });
  std::this_thread::sleep_for(milliseconds(40));
  EXPECT_TRUE(FireTimes().empty());
}

TEST(DeadlineTimerStopTest, AnArmedTimerOnAStoppedLoopIsDestroyedQuietly) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::unique_ptr<DeadlineTimer> timer;
  std::atomic<int> fired{0};
  ASSERT_TRUE((*loop)
                  ->RunSync([&] {
                    timer = std::make_unique<DeadlineTimer>(**loop, [&] { ++fired; });
                    timer->ArmAt(SteadyClock::now() + std::chrono::hours(1));
                  })
                  .ok());
  (*loop)->Stop();
  timer.reset();  // the loop thread is gone: safe here
  EXPECT_EQ(fired.load(), 0);
}

}  // namespace
}  // namespace ipsec::engine::net
