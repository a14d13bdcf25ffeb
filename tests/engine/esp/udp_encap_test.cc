#include "engine/esp/udp_encap.h"

#include <gtest/gtest.h>

#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"
#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

TEST(UdpEncapTest, Ipv4HeaderHasZeroChecksum) {
  uint8_t h[8];
  ASSERT_TRUE(WriteUdpEncapHeader(h, 4500, 4501, 100));
  EXPECT_EQ(Load16(h), 4500);
  EXPECT_EQ(Load16(h + 2), 4501);
  EXPECT_EQ(Load16(h + 4), 108);
  EXPECT_EQ(Load16(h + 6), 0);  // RFC 3948 §2.1
  EXPECT_FALSE(WriteUdpEncapHeader(h, 1, 2, 65535 - 7));
}

TEST(UdpEncapTest, Ipv6HeaderChecksumVerifies) {
  const IpAddress s = *IpAddress::Parse("2001:db8::1"), d = *IpAddress::Parse("2001:db8::2");
  Bytes datagram(8 + 21, 0);
  for (size_t i = 8; i < datagram.size(); ++i) datagram[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(WriteUdpEncapHeaderV6(datagram.data(), 4500, 4500, 21, s, d));
  EXPECT_NE(Load16(&datagram[6]), 0);
  // Receiver's check (RFC 8200 §8.1): the sum over pseudo-header and datagram is all ones.
  uint32_t sum = ChecksumAdd(0, ByteSpan(s.ToBytes().data(), 16));
  sum = ChecksumAdd(sum, ByteSpan(d.ToBytes().data(), 16));
  uint8_t tail[8] = {0, 0, 0, static_cast<uint8_t>(datagram.size()), 0, 0, 0, 17};
  sum = ChecksumAdd(sum, ByteSpan(tail, 8));
  sum = ChecksumAdd(sum, datagram);
  EXPECT_EQ(ChecksumFinish(sum), 0);
  EXPECT_FALSE(WriteUdpEncapHeaderV6(datagram.data(), 1, 2, 21, *IpAddress::Parse("1.2.3.4"), d));
}

TEST(UdpEncapTest, OuterHeadersParseBack) {
  Bytes v4(20 + 8 + 50, 0);
  ASSERT_TRUE(WriteIpv4Header(v4.data(), *IpAddress::Parse("192.0.2.1"),
                              *IpAddress::Parse("198.51.100.2"), kNextHeaderUdp, 58, 7, true));
  EXPECT_EQ(InternetChecksum(ByteSpan(v4.data(), 20)), 0);
  auto info = ParseIpPacket(v4);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->protocol, kNextHeaderUdp);
  EXPECT_EQ(info->total_length, v4.size());
  EXPECT_EQ(info->destination.ToString(), "198.51.100.2");
  EXPECT_EQ(v4[6], 0x40);  // DF

  Bytes v6(40 + 30, 0);
  ASSERT_TRUE(WriteIpv6Header(v6.data(), *IpAddress::Parse("2001:db8::1"),
                              *IpAddress::Parse("2001:db8::2"), kNextHeaderEsp, 30));
  info = ParseIpPacket(v6);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->protocol, kNextHeaderEsp);
  EXPECT_EQ(info->total_length, v6.size());
  EXPECT_FALSE(WriteIpv4Header(v4.data(), *IpAddress::Parse("::1"), *IpAddress::Parse("192.0.2.1"),
                               50, 10, 0, false));
}

}  // namespace
}  // namespace ipsec::engine::esp
