#include "engine/esp/esp_wire.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace ipsec::engine::esp {
namespace {

TEST(EspWireTest, Constants) {
  EXPECT_EQ(kEspHeaderSize, 8u);
  EXPECT_EQ(kMaxIvSize, 16u);
  EXPECT_EQ(kMaxIcvSize, 32u);
  EXPECT_EQ(kMaxPadding, 255u);
  EXPECT_GE(kDefaultReplayWindow, 1024u);
  EXPECT_EQ(kUdpEncapHeaderSize, 8u);
  EXPECT_EQ(kNextHeaderIpv4, 4);
  EXPECT_EQ(kNextHeaderIpv6, 41);
  EXPECT_EQ(kNextHeaderNone, 59);
  EXPECT_EQ(static_cast<int>(Protocol::kEsp), 50);
  EXPECT_EQ(static_cast<int>(Protocol::kAh), 51);
  EXPECT_EQ(kMaxEspOverhead, 73u);
  EXPECT_EQ(kMaxOutboundOverhead, 121u);
  EXPECT_LT(kSeqRekeyThreshold, kMaxSequence32);
}

TEST(EspWireTest, DropReasonNamesAreDistinct) {
  std::set<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    names.insert(DropReasonName(static_cast<DropReason>(i)));
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_EQ(names.count("unknown"), 0u);
  EXPECT_STREQ(DropReasonName(DropReason::kMalformed), "malformed");
  EXPECT_STREQ(DropReasonName(DropReason::kPadding), "padding");
}

}  // namespace
}  // namespace ipsec::engine::esp
