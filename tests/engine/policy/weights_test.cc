#include "engine/policy/weights.h"

#include <gtest/gtest.h>

#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::policy {
namespace {

using namespace ::ipsec::engine::policy::testing;  // NOLINT: test builders

TEST(WeightsTest, AddressSpecificityScalesBothFamiliesTo128) {
  EXPECT_EQ(AddressSpecificity(R("10.0.0.1")), 128);
  EXPECT_EQ(AddressSpecificity(R("10.0.0.0/31")), 124);
  EXPECT_EQ(AddressSpecificity(R("10.0.0.0/24")), 96);
  EXPECT_EQ(AddressSpecificity(R("10.0.0.0/8")), 32);
  EXPECT_EQ(AddressSpecificity(IpRange::Full(IpFamily::kV4)), 0);
  EXPECT_EQ(AddressSpecificity(R("fd00::1")), 128);
  EXPECT_EQ(AddressSpecificity(R("fd00::/64")), 64);
  EXPECT_EQ(AddressSpecificity(R("fd00::/127")), 127);
  EXPECT_EQ(AddressSpecificity(IpRange::Full(IpFamily::kV6)), 0);
}

TEST(WeightsTest, RangesRoundTheirSizeUp) {
  EXPECT_EQ(AddressRangeBits(R("10.0.0.5-10.0.0.9")), 3);   // 5 addresses -> 8
  EXPECT_EQ(AddressRangeBits(R("10.0.0.0-10.0.0.255")), 8);  // exactly 256
  EXPECT_EQ(AddressRangeBits(R("10.0.0.0-10.0.1.0")), 9);    // 257
  EXPECT_EQ(AddressSpecificity(R("10.0.0.5-10.0.0.9")), 116);
  EXPECT_EQ(AddressRangeBits(R("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")), 128);
}

TEST(WeightsTest, PortSpecificity) {
  EXPECT_EQ(PortSpecificity(PortRange::Single(443)), 16);
  EXPECT_EQ(PortSpecificity(PortRange{1000, 1001}), 15);
  EXPECT_EQ(PortSpecificity(PortRange{1000, 1999}), 6);
  EXPECT_EQ(PortSpecificity(PortRange{1024, 65535}), 0);
  EXPECT_EQ(PortSpecificity(PortRange{}), 0);
}

TEST(WeightsTest, AddressesDominatePortsDominateProtocol) {
  const uint64_t tier = uint64_t{1} << 32;
  EXPECT_EQ(ComposeWeight(1, 256, 32, true), tier | (256 << 8) | (32 << 1) | 1);
  // One more unit of address specificity outweighs the most specific ports and protocol.
  EXPECT_GT(ComposeWeight(1, 97, 0, false), ComposeWeight(1, 96, 32, true));
  EXPECT_GT(ComposeWeight(1, 96, 1, false), ComposeWeight(1, 96, 0, true));
  EXPECT_GT(ComposeWeight(1, 96, 0, true), ComposeWeight(1, 96, 0, false));
  // Every exemption outranks every rule.
  EXPECT_GT(ComposeWeight(kExemptionTier, 0, 0, false), ComposeWeight(kRuleTier, 256, 32, true));
}

TEST(WeightsTest, EntryAndGenericWeights) {
  EXPECT_EQ(EntryWeight(kRuleTier, R("10.0.0.1"), R("10.1.0.0/24"), kProtoTcp, {},
                        PortRange::Single(5432)),
            ComposeWeight(kRuleTier, 224, 16, true));
  Filter f = MakeFilter(AddressSpec::Me(), AddressSpec::Any());
  EXPECT_EQ(GenericWeight(kRuleTier, f), ComposeWeight(kRuleTier, 128, 0, false));
  f = MakeFilter(Net("fd00::/64"), One("fd00::1"), kProtoUdp, PortRange{0, 255}, {});
  EXPECT_EQ(GenericWeight(kRuleTier, f), ComposeWeight(kRuleTier, 192, 8, true));
}

}  // namespace
}  // namespace ipsec::engine::policy
