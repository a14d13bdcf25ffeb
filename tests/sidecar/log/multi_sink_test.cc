#include "sidecar/log/multi_sink.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ipsec::sidecar::log {
namespace {

using engine::telemetry::Event;
using engine::telemetry::Severity;

class CountingSink : public engine::telemetry::EventSink {
 public:
  void Emit(const Event& e) override {
    count.fetch_add(1);
    last_type = e.type;  // written only in the single-threaded tests
  }
  std::atomic<int> count{0};
  std::string last_type;
};

TEST(MultiSinkTest, ForwardsToEverySink) {
  CountingSink a, b;
  MultiSink sink({&a, nullptr, &b});
  sink.Emit(Event{"one", Severity::kInfo, ""});
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(b.count, 1);
  EXPECT_EQ(b.last_type, "one");

  CountingSink c;
  sink.Add(&c);
  sink.Add(nullptr);
  sink.Emit(Event{"two", Severity::kInfo, ""});
  EXPECT_EQ(a.count, 2);
  EXPECT_EQ(c.count, 1);
}

TEST(MultiSinkTest, EmptyIsFine) {
  MultiSink sink;
  sink.Emit(Event{"nobody", Severity::kInfo, ""});
}

TEST(MultiSinkTest, ConcurrentEmitAndAdd) {
  CountingSink a, late;
  MultiSink sink({&a});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&sink] {
      for (int i = 0; i < 1000; ++i) sink.Emit(Event{"x", Severity::kInfo, ""});
    });
  }
  sink.Add(&late);
  for (auto& th : threads) th.join();
  EXPECT_EQ(a.count, 4000);
  EXPECT_LE(late.count, 4000);
}

}  // namespace
}  // namespace ipsec::sidecar::log
