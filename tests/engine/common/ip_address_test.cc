#include "engine/common/ip_address.h"

#include <gtest/gtest.h>

namespace ipsec {
namespace {

IpAddress Ip(std::string_view s) {
  auto a = IpAddress::Parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddress());
}

TEST(IpAddressTest, ParsesAndPrintsIpv4) {
  IpAddress a = Ip("10.99.1.2");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.value(), 0x0a630102u);
  EXPECT_EQ(a.ToString(), "10.99.1.2");
  EXPECT_EQ(IpAddress::V4(0xc0a80001u).ToString(), "192.168.0.1");
}

TEST(IpAddressTest, ParsesAndPrintsIpv6Canonically) {
  IpAddress a = Ip("FD00:0:0:0::0001");
  EXPECT_EQ(a.family(), IpFamily::kV6);
  EXPECT_EQ(a.ToString(), "fd00::1");  // RFC 5952
  EXPECT_EQ(a.value(), (Uint128{0xfd00} << 112) | 1);
  EXPECT_EQ(Ip("::").ToString(), "::");
  EXPECT_EQ(Ip("::ffff:10.0.0.1").family(), IpFamily::kV6);
}

TEST(IpAddressTest, RejectsGarbage) {
  for (std::string_view s : {"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "fd00:::1", "abc", "10.0.0.1/24",
                             " 10.0.0.1", "gggg::1"}) {
    EXPECT_FALSE(IpAddress::Parse(s).has_value()) << s;
  }
  EXPECT_FALSE(IpAddress::Parse(std::string(100, '1')).has_value());
}

TEST(IpAddressTest, BytesRoundTrip) {
  IpAddress v4 = Ip("1.2.3.4");
  auto b = v4.ToBytes();
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[3], 4);
  EXPECT_EQ(IpAddress::FromV4Bytes(b.data()), v4);
  IpAddress v6 = Ip("2001:db8::ff");
  auto b6 = v6.ToBytes();
  EXPECT_EQ(b6[0], 0x20);
  EXPECT_EQ(b6[15], 0xff);
  EXPECT_EQ(IpAddress::FromV6Bytes(b6.data()), v6);
}

TEST(IpAddressTest, OrderedByFamilyThenValue) {
  EXPECT_LT(Ip("10.0.0.1"), Ip("10.0.0.2"));
  EXPECT_LT(Ip("255.255.255.255"), Ip("::"));
  EXPECT_NE(IpAddress(IpFamily::kV4, 1), IpAddress(IpFamily::kV6, 1));
  EXPECT_EQ(IpAddress::Min(IpFamily::kV4).ToString(), "0.0.0.0");
  EXPECT_EQ(IpAddress::Max(IpFamily::kV4).ToString(), "255.255.255.255");
  EXPECT_EQ(IpAddress::Max(IpFamily::kV6).ToString(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(IpAddressTest, MulticastAndBroadcast) {
  EXPECT_TRUE(Ip("224.0.0.1").IsMulticast());
  EXPECT_TRUE(Ip("239.255.255.255").IsMulticast());
  EXPECT_FALSE(Ip("223.255.255.255").IsMulticast());
  EXPECT_FALSE(Ip("240.0.0.0").IsMulticast());
  EXPECT_TRUE(Ip("ff02::1").IsMulticast());
  EXPECT_FALSE(Ip("fe80::1").IsMulticast());
  EXPECT_TRUE(Ip("255.255.255.255").IsLimitedBroadcast());
  EXPECT_FALSE(Ip("10.0.0.255").IsLimitedBroadcast());
  EXPECT_FALSE(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").IsLimitedBroadcast());
}

TEST(IpAddressTest, PrefixMask) {
  EXPECT_EQ(PrefixMask(IpFamily::kV4, 0), 0u);
  EXPECT_EQ(PrefixMask(IpFamily::kV4, 24), 0xffffff00u);
  EXPECT_EQ(PrefixMask(IpFamily::kV4, 32), 0xffffffffu);
  EXPECT_EQ(PrefixMask(IpFamily::kV6, 128), ~Uint128{0});
  EXPECT_EQ(PrefixMask(IpFamily::kV6, 8), Uint128{0xff} << 120);
}

TEST(IpRangeTest, FromPrefixAndContains) {
  IpRange r = IpRange::FromPrefix(Ip("10.99.2.77"), 24);
  EXPECT_EQ(r.first, Ip("10.99.2.0"));
  EXPECT_EQ(r.last, Ip("10.99.2.255"));
  EXPECT_TRUE(r.Contains(Ip("10.99.2.0")));
  EXPECT_TRUE(r.Contains(Ip("10.99.2.255")));
  EXPECT_FALSE(r.Contains(Ip("10.99.3.0")));
  EXPECT_FALSE(r.Contains(IpAddress(IpFamily::kV6, r.first.value())));
  IpRange all6 = IpRange::Full(IpFamily::kV6);
  EXPECT_TRUE(all6.Contains(Ip("::")));
  EXPECT_TRUE(all6.Contains(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_EQ(IpRange::FromPrefix(Ip("fd00::"), 0), all6);
}

TEST(IpRangeTest, OverlapsAndContainedIn) {
  IpRange a{Ip("10.0.0.0"), Ip("10.0.0.10")};
  IpRange b{Ip("10.0.0.10"), Ip("10.0.0.20")};
  IpRange c{Ip("10.0.0.11"), Ip("10.0.0.20")};
  EXPECT_TRUE(a.Overlaps(b));
  EXPECT_FALSE(a.Overlaps(c));
  EXPECT_TRUE(c.ContainedIn(b));
  EXPECT_FALSE(b.ContainedIn(c));
  EXPECT_FALSE(IpRange::Full(IpFamily::kV4).Overlaps(IpRange::Full(IpFamily::kV6)));
}

TEST(IpRangeTest, ToString) {
  EXPECT_EQ(IpRange::Single(Ip("10.0.0.1")).ToString(), "10.0.0.1");
  EXPECT_EQ(IpRange::FromPrefix(Ip("10.0.0.0"), 24).ToString(), "10.0.0.0/24");
  EXPECT_EQ((IpRange{Ip("10.0.0.5"), Ip("10.0.0.9")}).ToString(), "10.0.0.5-10.0.0.9");
  EXPECT_EQ(IpRange::Full(IpFamily::kV4).ToString(), "0.0.0.0/0");
  EXPECT_EQ(IpRange::Full(IpFamily::kV6).ToString(), "::/0");
  EXPECT_EQ(IpRange::FromPrefix(Ip("fd00:99::"), 64).ToString(), "fd00:99::/64");
  // Aligned size but not aligned start: a range, not a prefix.
  EXPECT_EQ((IpRange{Ip("10.0.0.1"), Ip("10.0.0.2")}).ToString(), "10.0.0.1-10.0.0.2");
}

TEST(ParsePrefixTest, AcceptsOnlyNetworks) {
  auto p = ParsePrefix("10.99.0.0/16");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->first, Ip("10.99.0.0"));
  EXPECT_EQ(p->second, 16);
  EXPECT_TRUE(ParsePrefix("fd00::/8").has_value());
  EXPECT_TRUE(ParsePrefix("0.0.0.0/0").has_value());
  EXPECT_TRUE(ParsePrefix("10.0.0.1/32").has_value());
  for (std::string_view s : {"10.99.0.1/16", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0", "fd00::/129",
                             "10.0.0.0/-1", "10.0.0.0/8x", "x/8"}) {
    EXPECT_FALSE(ParsePrefix(s).has_value()) << s;
  }
}

TEST(IpAddressTest, FamilyNames) {
  EXPECT_STREQ(FamilyName(IpFamily::kV4), "ipv4");
  EXPECT_STREQ(FamilyName(IpFamily::kV6), "ipv6");
  EXPECT_EQ(FamilyBits(IpFamily::kV4), 32);
  EXPECT_EQ(FamilyBits(IpFamily::kV6), 128);
}

}  // namespace
}  // namespace ipsec
