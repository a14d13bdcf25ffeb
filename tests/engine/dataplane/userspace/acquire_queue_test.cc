// AcquireQueue: one acquire per destination per interval while packets wait; once IKE installed
// the SA (TakeAll, the packets went out, ForgetSatisfied), a packet after that SA is gone asks
// IKE again at once. Found by tests/interop/charon_traffic_test.cc: an SA deleted less than
// kAcquireInterval after its acquire left the next packet queued with no acquire sent.

#include "engine/dataplane/userspace/acquire_queue.h"

#include <gtest/gtest.h>

namespace ipsec::engine::dataplane::userspace {
namespace {

using Clock = AcquireQueue::Clock;
using namespace std::chrono_literals;

const uint8_t kPacket[20] = {0x45};

IpAddress Address(const char* text) { return *IpAddress::Parse(text); }

TEST(AcquireQueueTest, OneAcquirePerIntervalWhileWaiting) {
  AcquireQueue q;
  const Clock::time_point t0 = Clock::now();
  EXPECT_TRUE(q.Push(Address("10.0.0.2"), kPacket, sizeof(kPacket), t0).acquire);
  EXPECT_FALSE(q.Push(Address("10.0.0.2"), kPacket, sizeof(kPacket), t0 + 1s).acquire);
  EXPECT_TRUE(q.Push(Address("10.0.0.3"), kPacket, sizeof(kPacket), t0 + 1s).acquire);
  EXPECT_TRUE(q.Push(Address("10.0.0.2"), kPacket, sizeof(kPacket), t0 + 2s).acquire);
  EXPECT_EQ(q.size(), 4u);
}

TEST(AcquireQueueTest, SatisfiedDestinationAcquiresAgainAtOnce) {
  AcquireQueue q;
  const Clock::time_point t0 = Clock::now();
  ASSERT_TRUE(q.Push(Address("10.0.0.2"), kPacket, sizeof(kPacket), t0).acquire);
  ASSERT_TRUE(q.Push(Address("10.0.0.3"), kPacket, sizeof(kPacket), t0).acquire);
  // 10.0.0.2's SA is installed: the flush takes everything; 10.0.0.3 (still negotiating) is
  // queued again by the pipeline, 10.0.0.2's packet went out in ESP.
  EXPECT_EQ(q.TakeAll(t0 + 100ms).size(), 2u);
  EXPECT_FALSE(q.Push(Address("10.0.0.3"), kPacket, sizeof(kPacket), t0 + 100ms).acquire)
      << "re-queued packets of a destination still negotiating do not re-acquire";
  q.ForgetSatisfied();
  // 10.0.0.2's SA is deleted half a second later: its next packet must ask IKE again now.
  EXPECT_TRUE(q.Push(Address("10.0.0.2"), kPacket, sizeof(kPacket), t0 + 600ms).acquire);
  EXPECT_FALSE(q.Push(Address("10.0.0.3"), kPacket, sizeof(kPacket), t0 + 600ms).acquire);
  EXPECT_EQ(q.size(), 3u);
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
