#include "engine/esp/ip_packet.h"

#include <gtest/gtest.h>

#include "engine/esp/esp_wire.h"
#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

using testing::Hex;

// IPv4 UDP 192.168.0.1:4660 -> 192.168.0.199:80 with 4 payload octets.
Bytes Ipv4Udp() {
  return Hex("45000020 00000000 40110000 c0a80001 c0a800c7  12340050 000c0000 01020304");
}

// IPv6 2001:db8::1 -> 2001:db8::2, hop-by-hop (8) + destination options (8) + TCP 1000 -> 443.
Bytes Ipv6WithExtensions() {
  return Hex(
      "60000000 00240040 20010db8000000000000000000000001 20010db8000000000000000000000002"
      "3c000000 00000000"  // hop-by-hop: next 60, len 0, six Pad1
      "06000104 00000000"  // destination options: next TCP, PadN(4)
      "03e801bb 00000000 00000000 50000000 00000000");
}

TEST(IpPacketTest, Ipv4FiveTuple) {
  auto info = ParseIpPacket(Ipv4Udp());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->family, IpFamily::kV4);
  EXPECT_EQ(info->source.ToString(), "192.168.0.1");
  EXPECT_EQ(info->destination.ToString(), "192.168.0.199");
  EXPECT_EQ(info->protocol, kNextHeaderUdp);
  EXPECT_EQ(info->header_length, 20u);
  EXPECT_EQ(info->total_length, 32u);
  EXPECT_TRUE(info->has_ports);
  EXPECT_EQ(info->source_port, 0x1234);
  EXPECT_EQ(info->destination_port, 80);
  EXPECT_FALSE(info->is_fragment);
}

TEST(IpPacketTest, Ipv4OptionsAndFragments) {
  // IHL 6: one option word (NOP NOP NOP EOL).
  Bytes p = Hex("46000024 00000000 40110000 0a000001 0a000002 01010100 00350035 000c0000 aabbccdd");
  auto info = ParseIpPacket(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->header_length, 24u);
  EXPECT_EQ(info->destination_port, 53);
  // A later fragment: no ports.
  p[6] = 0x00;
  p[7] = 0x10;
  info = ParseIpPacket(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->is_fragment);
  EXPECT_FALSE(info->is_first_fragment);
  EXPECT_FALSE(info->has_ports);
  // First fragment (MF): ports.
  p[6] = 0x20;
  p[7] = 0x00;
  info = ParseIpPacket(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->is_fragment);
  EXPECT_TRUE(info->has_ports);
}

TEST(IpPacketTest, Ipv6ExtensionHeadersAreSkipped) {
  auto info = ParseIpPacket(Ipv6WithExtensions());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->family, IpFamily::kV6);
  EXPECT_EQ(info->source.ToString(), "2001:db8::1");
  EXPECT_EQ(info->header_length, 56u);
  EXPECT_EQ(info->protocol, kNextHeaderTcp);
  EXPECT_EQ(info->source_port, 1000);
  EXPECT_EQ(info->destination_port, 443);
}

TEST(IpPacketTest, Ipv6Fragments) {
  Bytes p =
      Hex("60000000 00102c40 20010db8000000000000000000000001 20010db8000000000000000000000002"
          "11000001 12345678"  // fragment: next UDP, offset 0, M
          "00350035 00080000");
  auto info = ParseIpPacket(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->is_fragment);
  EXPECT_TRUE(info->is_first_fragment);
  EXPECT_EQ(info->protocol, kNextHeaderUdp);
  EXPECT_TRUE(info->has_ports);
  p[42] = 0x01;  // offset 32
  info = ParseIpPacket(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->is_first_fragment);
  EXPECT_FALSE(info->has_ports);
}

TEST(IpPacketTest, IcmpTypeAndCode) {
  Bytes p = Hex("45000020 00000000 40010000 0a000001 0a000002 08000000 00010001 00000000");
  auto info = ParseIpPacket(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->source_port, 0x0800);  // echo request, code 0
}

TEST(IpPacketTest, MalformedNeverReadsPastTheSpan) {
  for (const Bytes& good : {Ipv4Udp(), Ipv6WithExtensions()}) {
    for (size_t n = 0; n < good.size(); ++n) {
      // Heap copies of exactly n octets, so ASan would see an over-read.
      Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
      EXPECT_FALSE(ParseIpPacket(cut).has_value()) << n;
    }
  }
  Bytes p = Ipv4Udp();
  p[0] = 0x44;  // IHL 4
  EXPECT_FALSE(ParseIpPacket(p).has_value());
  p = Ipv4Udp();
  p[3] = 0x10;  // total length < header
  EXPECT_FALSE(ParseIpPacket(p).has_value());
  p = Ipv4Udp();
  p[0] = 0x55;
  EXPECT_FALSE(ParseIpPacket(p).has_value());
  EXPECT_EQ(IpVersion(Bytes{}), 0);
  // A chain of 40 empty destination-options headers.
  Bytes chain =
      Hex("60000000 01400040 20010db8000000000000000000000001 20010db8000000000000000000000002");
  chain[6] = kNextHeaderDestOptions;
  for (int i = 0; i < 40; ++i) {
    const uint8_t next = i == 39 ? kNextHeaderNone : kNextHeaderDestOptions;
    chain.insert(chain.end(), {next, 0, 1, 4, 0, 0, 0, 0});
  }
  EXPECT_FALSE(ParseIpPacket(chain).has_value());
}

TEST(IpPacketTest, TrailingLinkPaddingIsAllowed) {
  Bytes p = Ipv4Udp();
  p.insert(p.end(), 10, 0);
  auto info = ParseIpPacket(p);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->total_length, 32u);
}

}  // namespace
}  // namespace ipsec::engine::esp
