// ICMP "fragmentation needed" (RFC 792, RFC 1191 §4) and ICMPv6 "packet too big" (RFC 4443
// §3.2) as the data path builds them: header fields, the quoted original (IPv4: header + 8
// octets; IPv6: as much as fits in 1280), checksums verified with an independent word-by-word
// sum (not engine/esp's), when no error may be sent (RFC 1122 §3.2.2, RFC 4443 §2.4(e)), and
// the token bucket (RFC 4443 §2.4(f)).

#include "engine/dataplane/userspace/icmp_error.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <vector>

namespace ipsec::engine::dataplane::userspace {
namespace {

IpAddress A(const char* s) { return *IpAddress::Parse(s); }

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// RFC 1071, the plain way: the one's complement sum of 16-bit words (odd octet padded) of the
// data including its checksum field is 0xffff when the checksum is right.
uint16_t OnesSum(const std::vector<uint8_t>& data) {
  uint32_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    const uint16_t word =
        static_cast<uint16_t>(data[i] << 8 | (i + 1 < data.size() ? data[i + 1] : 0));
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

// An IPv4 packet: protocol, flags/offset word, `payload` octets counting up, `options` octets of
// IP options (NOP).
std::vector<uint8_t> V4Packet(const char* src, const char* dst, uint8_t protocol, size_t payload,
                              uint16_t flags_offset = 0x4000, size_t options = 0) {
  const size_t h = 20 + options;
  std::vector<uint8_t> p(h + payload);
  p[0] = static_cast<uint8_t>(0x40 | (h / 4));
  p[2] = static_cast<uint8_t>(p.size() >> 8);
  p[3] = static_cast<uint8_t>(p.size());
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = static_cast<uint8_t>(flags_offset >> 8);
  p[7] = static_cast<uint8_t>(flags_offset);
  p[8] = 64;
  p[9] = protocol;
  std::memcpy(&p[12], A(src).ToBytes().data(), 4);
  std::memcpy(&p[16], A(dst).ToBytes().data(), 4);
  for (size_t i = 20; i < h; ++i) p[i] = 1;  // NOP
  for (size_t i = h; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  if (protocol == 1 && payload > 0) p[h] = 8;  // echo request unless the caller changes it
  return p;
}

std::vector<uint8_t> V6Packet(const char* src, const char* dst, uint8_t next, size_t payload) {
  std::vector<uint8_t> p(40 + payload);
  p[0] = 0x60;
  p[4] = static_cast<uint8_t>(payload >> 8);
  p[5] = static_cast<uint8_t>(payload);
  p[6] = next;
  p[7] = 64;
  std::memcpy(&p[8], A(src).ToBytes().data(), 16);
  std::memcpy(&p[24], A(dst).ToBytes().data(), 16);
  for (size_t i = 40; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 7);
  if (next == 58 && payload > 0) p[40] = 128;  // echo request
  return p;
}

TEST(IcmpErrorTest, FragNeededCarriesMtuHeaderPlus8AndValidChecksums) {
  const auto original = V4Packet("10.99.1.2", "10.99.2.2", 6, 1380);
  uint8_t out[kMaxIcmpErrorSize];
  const size_t n = BuildIcmpv4FragNeeded(original, 1306, A("10.99.2.2"), out, sizeof(out));
  ASSERT_EQ(n, 20u + 8u + 20u + 8u);
  // IPv4 header: version/IHL, total length, protocol ICMP, from `source` to the original source.
  EXPECT_EQ(out[0], 0x45);
  EXPECT_EQ(Get16(out + 2), n);
  EXPECT_EQ(out[9], 1);
  EXPECT_EQ(IpAddress::FromV4Bytes(out + 12), A("10.99.2.2"));
  EXPECT_EQ(IpAddress::FromV4Bytes(out + 16), A("10.99.1.2"));
  EXPECT_EQ(OnesSum(std::vector<uint8_t>(out, out + 20)), 0xffff) << "IP header checksum";
  uint8_t* icmp = out + 20;
  EXPECT_EQ(icmp[0], 3);  // destination unreachable
  EXPECT_EQ(icmp[1], 4);  // fragmentation needed and DF set
  EXPECT_EQ(Get16(icmp + 4), 0);
  EXPECT_EQ(Get16(icmp + 6), 1306);  // RFC 1191 §4 next-hop MTU
  EXPECT_EQ(std::memcmp(icmp + 8, original.data(), 28), 0) << "header + 64 bits of data";
  EXPECT_EQ(OnesSum(std::vector<uint8_t>(icmp, out + n)), 0xffff) << "ICMP checksum";
}

TEST(IcmpErrorTest, FragNeededQuotesOptionsAndRaisesMtuTo68) {
  const auto original = V4Packet("10.0.0.1", "10.0.0.2", 17, 100, 0x4000, 8);
  uint8_t out[kMaxIcmpErrorSize];
  const size_t n = BuildIcmpv4FragNeeded(original, 20, A("10.0.0.2"), out, sizeof(out));
  ASSERT_EQ(n, 20u + 8u + 28u + 8u);
  EXPECT_EQ(Get16(out + 20 + 6), 68);
  EXPECT_EQ(std::memcmp(out + 28, original.data(), 36), 0);
  EXPECT_EQ(OnesSum(std::vector<uint8_t>(out + 20, out + n)), 0xffff);
  // A packet shorter than header + 8 is quoted whole (odd length: the checksum pads).
  const auto tiny = V4Packet("10.0.0.1", "10.0.0.2", 17, 3);
  const size_t m = BuildIcmpv4FragNeeded(tiny, 1000, A("10.0.0.2"), out, sizeof(out));
  ASSERT_EQ(m, 20u + 8u + 23u);
  EXPECT_EQ(OnesSum(std::vector<uint8_t>(out + 20, out + m)), 0xffff);
  // Not IPv4, or a buffer too small: nothing.
  EXPECT_EQ(BuildIcmpv4FragNeeded(V6Packet("fd99:1::2", "fd99:2::2", 17, 8), 1300, A("10.0.0.2"),
                                  out, sizeof(out)),
            0u);
  EXPECT_EQ(BuildIcmpv4FragNeeded(original, 1300, A("10.0.0.2"), out, 40), 0u);
}

// The ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header, built here independently.
uint16_t V6Sum(const uint8_t* packet, size_t n) {
  std::vector<uint8_t> pseudo(packet + 8, packet + 40);  // source, destination
  const uint32_t len = static_cast<uint32_t>(n - 40);
  pseudo.push_back(static_cast<uint8_t>(len >> 24));
  pseudo.push_back(static_cast<uint8_t>(len >> 16));
  pseudo.push_back(static_cast<uint8_t>(len >> 8));
  pseudo.push_back(static_cast<uint8_t>(len));
  pseudo.insert(pseudo.end(), {0, 0, 0, 58});
  pseudo.insert(pseudo.end(), packet + 40, packet + n);
  return OnesSum(pseudo);
}

TEST(IcmpErrorTest, PacketTooBigQuotesAsMuchAsFitsIn1280) {
  const auto original = V6Packet("fd99:1::2", "fd99:2::2", 6, 1400 - 40);
  uint8_t out[kMaxIcmpErrorSize];
  const size_t n = BuildIcmpv6PacketTooBig(original, 1286, A("fd99:2::2"), out, sizeof(out));
  ASSERT_EQ(n, 1280u);  // RFC 4443 §3.2: no more than the minimum MTU
  EXPECT_EQ(out[0] >> 4, 6);
  EXPECT_EQ(Get16(out + 4), 1280 - 40);
  EXPECT_EQ(out[6], 58);
  EXPECT_EQ(IpAddress::FromV6Bytes(out + 8), A("fd99:2::2"));
  EXPECT_EQ(IpAddress::FromV6Bytes(out + 24), A("fd99:1::2"));
  EXPECT_EQ(out[40], 2);  // packet too big
  EXPECT_EQ(out[41], 0);
  EXPECT_EQ(Get32(out + 44), 1286u);
  EXPECT_EQ(std::memcmp(out + 48, original.data(), 1280 - 48), 0);
  EXPECT_EQ(V6Sum(out, n), 0xffff);
}

TEST(IcmpErrorTest, PacketTooBigSmallOriginalWholeAndMtuAtLeast1280) {
  const auto original = V6Packet("fd99:1::2", "fd99:2::2", 17, 101);
  uint8_t out[kMaxIcmpErrorSize];
  const size_t n = BuildIcmpv6PacketTooBig(original, 1000, A("fd99:2::2"), out, sizeof(out));
  ASSERT_EQ(n, 40u + 8u + original.size());
  EXPECT_EQ(Get32(out + 44), 1280u);
  EXPECT_EQ(std::memcmp(out + 48, original.data(), original.size()), 0);
  EXPECT_EQ(V6Sum(out, n), 0xffff);
  EXPECT_EQ(BuildIcmpv6PacketTooBig(V4Packet("10.0.0.1", "10.0.0.2", 6, 40), 1300, A("fd99:2::2"),
                                    out, sizeof(out)),
            0u);
}

TEST(IcmpErrorTest, NoErrorAboutErrorsFragmentsOrNonUnicastSources) {
  // IPv4 (RFC 1122 §3.2.2).
  EXPECT_TRUE(MayReplyWithIcmpError(V4Packet("10.0.0.1", "10.0.0.2", 6, 40)));
  EXPECT_TRUE(MayReplyWithIcmpError(V4Packet("10.0.0.1", "10.0.0.2", 1, 40)));  // echo
  auto error = V4Packet("10.0.0.1", "10.0.0.2", 1, 40);
  for (uint8_t type : {3, 4, 5, 11, 12}) {
    error[20] = type;
    EXPECT_FALSE(MayReplyWithIcmpError(error)) << int(type);
  }
  EXPECT_TRUE(MayReplyWithIcmpError(V4Packet("10.0.0.1", "10.0.0.2", 6, 40, 0x6000)))
      << "first fragment (MF, offset 0)";
  EXPECT_FALSE(MayReplyWithIcmpError(V4Packet("10.0.0.1", "10.0.0.2", 6, 40, 0x2010)))
      << "later fragment";
  EXPECT_FALSE(MayReplyWithIcmpError(V4Packet("10.0.0.1", "10.0.0.2", 6, 40, 0x0010)))
      << "last fragment";
  for (const char* src : {"0.0.0.0", "127.0.0.1", "224.0.0.5", "255.255.255.255", "240.0.0.1"}) {
    EXPECT_FALSE(MayReplyWithIcmpError(V4Packet(src, "10.0.0.2", 6, 40))) << src;
  }
  EXPECT_FALSE(MayReplyWithIcmpError(V4Packet("10.0.0.1", "255.255.255.255", 17, 40)));
  EXPECT_FALSE(MayReplyWithIcmpError(V4Packet("10.0.0.1", "239.1.1.1", 17, 40)));
  // IPv6 (RFC 4443 §2.4(e)).
  EXPECT_TRUE(MayReplyWithIcmpError(V6Packet("fd99:1::2", "fd99:2::2", 6, 40)));
  EXPECT_TRUE(MayReplyWithIcmpError(V6Packet("fd99:1::2", "fd99:2::2", 58, 40)));  // echo
  auto error6 = V6Packet("fd99:1::2", "fd99:2::2", 58, 40);
  for (uint8_t type : {1, 2, 3, 4}) {
    error6[40] = type;
    EXPECT_FALSE(MayReplyWithIcmpError(error6)) << int(type);
  }
  for (const char* src : {"::", "::1", "ff02::1"}) {
    EXPECT_FALSE(MayReplyWithIcmpError(V6Packet(src, "fd99:2::2", 6, 40))) << src;
  }
  EXPECT_TRUE(MayReplyWithIcmpError(V6Packet("fd99:1::2", "ff0e::1", 17, 40)))
      << "RFC 4443 §2.4(e.3): packet too big about a multicast destination";
  // IPv6 fragment header (RFC 8200 §4.5): offset != 0 -> a later fragment.
  auto frag = V6Packet("fd99:1::2", "fd99:2::2", 44, 48);
  frag[40] = 6;  // next header TCP
  frag[42] = 0x00;
  frag[43] = 0x08;  // offset 1 (8 octets)
  EXPECT_FALSE(MayReplyWithIcmpError(frag));
  frag[43] = 0x01;  // offset 0, M set: the first fragment
  EXPECT_TRUE(MayReplyWithIcmpError(frag));
  EXPECT_FALSE(MayReplyWithIcmpError(std::vector<uint8_t>{0x45, 0, 0}));
}

TEST(IcmpErrorTest, TokenBucketAllowsBurstThenRate) {
  using namespace std::chrono_literals;
  TokenBucket b(10, 3);  // 10 per second, burst 3
  const auto t0 = TokenBucket::Clock::time_point{} + 100s;
  EXPECT_TRUE(b.Take(t0));
  EXPECT_TRUE(b.Take(t0));
  EXPECT_TRUE(b.Take(t0));
  EXPECT_FALSE(b.Take(t0));
  EXPECT_FALSE(b.Take(t0 + 50ms));  // half a token
  EXPECT_TRUE(b.Take(t0 + 100ms));
  EXPECT_FALSE(b.Take(t0 + 100ms));
  EXPECT_TRUE(b.Take(t0 + 10s));  // refilled to the burst, not beyond
  EXPECT_TRUE(b.Take(t0 + 10s));
  EXPECT_TRUE(b.Take(t0 + 10s));
  EXPECT_FALSE(b.Take(t0 + 10s));
  EXPECT_FALSE(b.Take(t0 + 9s)) << "a clock going back adds nothing";
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
