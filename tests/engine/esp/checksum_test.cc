#include "engine/esp/checksum.h"

#include <gtest/gtest.h>

#include "engine/esp/esp_wire.h"
#include "engine/esp/ip_packet.h"
#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

using testing::Hex;

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (the checksum is its complement).
  const Bytes data = Hex("0001f203f4f5f6f7");
  EXPECT_EQ(ChecksumAdd(0, data), 0xddf2u);
  EXPECT_EQ(InternetChecksum(data), 0x220d);
  // Odd length: the last octet is padded with zero.
  EXPECT_EQ(ChecksumAdd(0, Hex("01")), 0x0100u);
}

TEST(ChecksumTest, Ipv4HeaderChecksum) {
  // A well-known IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) with checksum b861.
  Bytes h = Hex("45000073 00004000 40110000 c0a80001 c0a800c7");
  SetIpv4HeaderChecksum(h.data(), h.size());
  EXPECT_EQ(Load16(&h[10]), 0xb861);
  EXPECT_EQ(InternetChecksum(h), 0);
}

TEST(ChecksumTest, Rfc1624IncrementalUpdateMatchesRecomputation) {
  Bytes h = Hex("45000073 00004000 40110000 c0a80001 c0a800c7");
  SetIpv4HeaderChecksum(h.data(), h.size());
  const Bytes old_addr(h.begin() + 12, h.begin() + 16);
  const Bytes new_addr = Hex("0a0b0c0d");
  const uint16_t updated = ChecksumUpdate(Load16(&h[10]), old_addr, new_addr);
  std::copy(new_addr.begin(), new_addr.end(), h.begin() + 12);
  SetIpv4HeaderChecksum(h.data(), h.size());
  EXPECT_EQ(updated, Load16(&h[10]));
}

Bytes Udp4(const char* src, const char* dst) {
  Bytes p = Hex("4500001f 00000000 40110000");
  for (const char* a : {src, dst}) {
    auto b = IpAddress::Parse(a)->ToBytes();
    p.insert(p.end(), b.begin(), b.begin() + 4);
  }
  p.insert(p.end(), {0x11, 0x94, 0x00, 0x35, 0x00, 0x0b, 0x00, 0x00, 'a', 'b', 'c'});
  return p;
}

Bytes Tcp6(const char* src, const char* dst) {
  Bytes p = Hex("60000000 00180640");
  for (const char* a : {src, dst}) {
    auto b = IpAddress::Parse(a)->ToBytes();
    p.insert(p.end(), b.begin(), b.end());
  }
  Bytes tcp = Hex("03e801bb 00000001 00000000 50180100 00000000 68690a00");
  p.insert(p.end(), tcp.begin(), tcp.end());
  return p;
}

// RFC 3948 §3.1.2: after NAT changed the addresses, the incremental fix from the original
// addresses gives the checksum a fresh computation would.
TEST(ChecksumTest, TransportChecksumAfterNat) {
  struct Case {
    Bytes original;
    Bytes natted;
    const char* osrc;
    const char* odst;
  };
  const Case cases[] = {
      {Udp4("10.0.0.1", "10.0.0.2"), Udp4("198.51.100.7", "10.0.0.2"), "10.0.0.1", "10.0.0.2"},
      {Udp4("10.0.0.1", "10.0.0.2"), Udp4("198.51.100.7", "192.0.2.9"), "10.0.0.1", "10.0.0.2"},
      {Tcp6("2001:db8::1", "2001:db8::2"), Tcp6("2001:db8:ffff::1", "2001:db8::2"), "2001:db8::1",
       "2001:db8::2"},
  };
  for (const Case& c : cases) {
    Bytes sent = c.original;
    ASSERT_TRUE(RecomputeTransportChecksum(sent.data(), sent.size()));
    // The receiver sees the peer's checksum with NAT's addresses.
    Bytes received = c.natted;
    const size_t hl = ParseIpPacket(received)->header_length;
    const size_t field =
        hl + (received[6] == kNextHeaderTcp || received[9] == kNextHeaderTcp ? 16 : 6);
    received[field] = sent[field];
    received[field + 1] = sent[field + 1];
    Bytes expected = c.natted;
    ASSERT_TRUE(RecomputeTransportChecksum(expected.data(), expected.size()));
    ASSERT_TRUE(FixTransportChecksum(received.data(), received.size(), *IpAddress::Parse(c.osrc),
                                     *IpAddress::Parse(c.odst)));
    EXPECT_EQ(ToHex(received), ToHex(expected));
  }
}

TEST(ChecksumTest, ZeroUdpChecksumStaysZeroAndOthersAreRefused) {
  Bytes p = Udp4("10.0.0.1", "10.0.0.2");
  EXPECT_TRUE(FixTransportChecksum(p.data(), p.size(), *IpAddress::Parse("1.1.1.1"),
                                   *IpAddress::Parse("2.2.2.2")));
  EXPECT_EQ(Load16(&p[26]), 0);
  // ICMP: nothing to fix.
  Bytes icmp = Hex("45000020 00000000 40010000 0a000001 0a000002 08000000 00010001 00000000");
  EXPECT_FALSE(RecomputeTransportChecksum(icmp.data(), icmp.size()));
  // Family mismatch.
  EXPECT_FALSE(
      FixTransportChecksum(p.data(), p.size(), *IpAddress::Parse("::1"), *IpAddress::Parse("::2")));
  // Garbage.
  Bytes junk(5, 0x45);
  EXPECT_FALSE(RecomputeTransportChecksum(junk.data(), junk.size()));
}

}  // namespace
}  // namespace ipsec::engine::esp
