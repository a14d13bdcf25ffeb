#include "engine/dataplane/userspace/reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"
#include "tests/engine/dataplane/userspace/test_packets.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

using testing::FragmentV4;
using testing::UdpPacket;
using testing::V4;
using Clock = Reassembler::Clock;

// An IPv6 UDP datagram with a destination options header (unfragmentable here only if placed
// before the fragment header: `dest_opts_first`), cut per RFC 8200 §4.5.
std::vector<uint8_t> UdpV6(size_t payload, bool hop_by_hop) {
  std::vector<uint8_t> p(40, 0);
  p[0] = 0x60;
  p[6] = hop_by_hop ? esp::kNextHeaderHopByHop : esp::kNextHeaderUdp;
  p[7] = 64;
  p[8 + 15] = 1;  // ::1 -> ::2 with a prefix
  p[8] = 0xfd;
  p[24] = 0xfd;
  p[24 + 15] = 2;
  if (hop_by_hop) {
    std::vector<uint8_t> h = {esp::kNextHeaderUdp, 0, 1, 4, 0, 0, 0, 0};  // PadN
    p.insert(p.end(), h.begin(), h.end());
  }
  std::vector<uint8_t> udp(8 + payload);
  for (size_t i = 0; i < udp.size(); ++i) udp[i] = static_cast<uint8_t>(i * 7);
  esp::Store16(&udp[4], static_cast<uint16_t>(udp.size()));
  p.insert(p.end(), udp.begin(), udp.end());
  esp::Store16(&p[4], static_cast<uint16_t>(p.size() - 40));
  return p;
}

std::vector<std::vector<uint8_t>> FragmentV6(const std::vector<uint8_t>& d, size_t unfrag,
                                             size_t chunk, uint32_t id) {
  std::vector<std::vector<uint8_t>> out;
  const size_t next_at = unfrag == 40 ? 6 : 40;  // the header before the fragment header
  for (size_t off = 0; unfrag + off < d.size(); off += chunk) {
    const size_t n = std::min(chunk, d.size() - unfrag - off);
    std::vector<uint8_t> f(d.begin(), d.begin() + static_cast<long>(unfrag));
    const uint8_t next = f[next_at];
    f[next_at] = esp::kNextHeaderFragment;
    const bool more = unfrag + off + n < d.size();
    uint8_t fh[8] = {next, 0, 0, 0, 0, 0, 0, 0};
    esp::Store16(&fh[2], static_cast<uint16_t>(off | (more ? 1 : 0)));
    esp::Store32(&fh[4], id);
    f.insert(f.end(), fh, fh + 8);
    f.insert(f.end(), d.begin() + static_cast<long>(unfrag + off),
             d.begin() + static_cast<long>(unfrag + off + n));
    esp::Store16(&f[4], static_cast<uint16_t>(f.size() - 40));
    out.push_back(std::move(f));
  }
  return out;
}

struct Fed {
  std::vector<uint8_t> datagram;  // empty: none completed
  size_t dropped = 0;
};

Fed Feed(Reassembler& r, const std::vector<std::vector<uint8_t>>& fragments,
         Clock::time_point now = Clock::time_point{} + std::chrono::hours(1)) {
  Fed fed;
  std::vector<uint8_t> out(70000);
  for (const auto& f : fragments) {
    auto info = esp::ParseIpPacket(ByteSpan(f.data(), f.size()));
    EXPECT_TRUE(info.has_value());
    if (!info) continue;
    auto o = r.Add(ByteSpan(f.data(), f.size()), *info, now, out.data(), out.size());
    fed.dropped += o.dropped;
    if (o.length != 0) fed.datagram.assign(out.begin(), out.begin() + static_cast<long>(o.length));
  }
  return fed;
}

std::vector<uint8_t> BigUdpV4() {
  auto d = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 5000, 53, 3000);
  for (size_t i = 28; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i);
  return d;
}

TEST(Reassembler, Ipv4InOrderGivesTheOriginalDatagram) {
  Reassembler r;
  const auto d = BigUdpV4();
  const auto fed = Feed(r, FragmentV4(d, 1376));
  EXPECT_EQ(fed.datagram, d);  // same header (MF/offset clear, checksum recomputed) and payload
  EXPECT_EQ(fed.dropped, 0u);
  EXPECT_EQ(r.in_progress(), 0u);
  auto info = esp::ParseIpPacket(ByteSpan(fed.datagram.data(), fed.datagram.size()));
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->is_fragment);
  EXPECT_EQ(info->destination_port, 53);  // the ports are there for the classifier
}

TEST(Reassembler, Ipv4AnyOrderAndExactDuplicates) {
  Reassembler r;
  const auto d = BigUdpV4();
  auto f = FragmentV4(d, 1000);
  ASSERT_EQ(f.size(), 4u);
  const std::vector<std::vector<uint8_t>> shuffled = {f[3], f[1], f[1], f[0], f[2]};
  const auto fed = Feed(r, shuffled);
  EXPECT_EQ(fed.datagram, d);
  EXPECT_EQ(fed.dropped, 1u);  // the duplicate
}

TEST(Reassembler, OverlapDiscardsTheDatagram) {
  Reassembler r;
  const auto d = BigUdpV4();
  auto f = FragmentV4(d, 1000);
  auto overlapping = FragmentV4(d, 504);  // [504, 1008) overlaps [0, 1000) differently
  const auto fed = Feed(r, {f[0], overlapping[1], f[1], f[2], f[3]});
  EXPECT_TRUE(fed.datagram.empty());
  EXPECT_EQ(r.in_progress(), 1u);  // the later fragments started a new one that never completes
  EXPECT_EQ(fed.dropped, 2u);      // f[0] and the overlapping fragment
}

TEST(Reassembler, DifferentIdsAndProtocolsAreDifferentDatagrams) {
  Reassembler r;
  auto a = BigUdpV4();
  auto b = BigUdpV4();
  esp::Store16(&b[4], 0x9999);
  b[30] ^= 0xff;
  esp::SetIpv4HeaderChecksum(b.data(), 20);
  auto fa = FragmentV4(a, 1000), fb = FragmentV4(b, 1000);
  auto fed = Feed(r, {fa[0], fb[0], fa[1], fb[1], fa[2], fb[2], fa[3]});
  EXPECT_EQ(fed.datagram, a);
  fed = Feed(r, {fb[3]});
  EXPECT_EQ(fed.datagram, b);
}

TEST(Reassembler, TimeoutDropsTheHeldFragments) {
  Reassembler r(Reassembler::Limits{.timeout = std::chrono::seconds(15)});
  const auto d = BigUdpV4();
  auto f = FragmentV4(d, 1000);
  const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(Feed(r, {f[0], f[1]}, t0).dropped, 0u);
  const auto late = Feed(r, {f[2], f[3]}, t0 + std::chrono::seconds(16));
  EXPECT_TRUE(late.datagram.empty());
  EXPECT_EQ(late.dropped, 2u);  // the two held ones expired; f[2], f[3] start a new datagram
}

TEST(Reassembler, BoundedDatagramsAndBytes) {
  Reassembler r(Reassembler::Limits{.max_datagrams = 2, .max_bytes = 8000});
  std::vector<std::vector<uint8_t>> firsts;
  for (uint16_t id = 1; id <= 3; ++id) {
    auto d = BigUdpV4();
    esp::Store16(&d[4], id);
    esp::SetIpv4HeaderChecksum(d.data(), 20);
    firsts.push_back(FragmentV4(d, 1000)[0]);
  }
  EXPECT_EQ(Feed(r, firsts).dropped, 1u);  // the oldest evicted for the third
  EXPECT_EQ(r.in_progress(), 2u);
  // One datagram larger than the byte bound never holds more than it.
  auto big = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 20000);
  esp::Store16(&big[4], 77);
  esp::SetIpv4HeaderChecksum(big.data(), 20);
  const auto fed = Feed(r, FragmentV4(big, 1480));
  EXPECT_TRUE(fed.datagram.empty());
  EXPECT_GT(fed.dropped, 2u);
}

TEST(Reassembler, MalformedFragmentsAreDropped) {
  Reassembler r;
  const auto d = BigUdpV4();
  auto f = FragmentV4(d, 1000);
  // A middle fragment whose length is not a multiple of 8 (RFC 791).
  auto odd = f[1];
  odd.pop_back();
  esp::Store16(&odd[2], static_cast<uint16_t>(odd.size()));
  EXPECT_EQ(Feed(r, {odd}).dropped, 1u);
  // Past 65535 octets in all.
  auto far = f[3];
  esp::Store16(&far[6], static_cast<uint16_t>(0x1FFF));
  EXPECT_EQ(Feed(r, {far}).dropped, 1u);
  // A second, different last fragment.
  auto fed = Feed(r, {f[3]});
  auto other_last = f[2];
  esp::Store16(&other_last[6], static_cast<uint16_t>(esp::Load16(&other_last[6]) & 0x1FFF));
  fed = Feed(r, {other_last});
  EXPECT_EQ(fed.dropped, 2u);  // f[3] held, and the contradicting last
}

TEST(Reassembler, Ipv6WithoutAndWithAnUnfragmentablePart) {
  for (bool hop : {false, true}) {
    Reassembler r;
    const auto d = UdpV6(3000, hop);
    const size_t unfrag = hop ? 48 : 40;
    auto f = FragmentV6(d, unfrag, 1232, 0xabcdef);
    std::reverse(f.begin(), f.end());
    auto info = esp::ParseIpPacket(ByteSpan(f[0].data(), f[0].size()));
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->is_fragment);
    const auto fed = Feed(r, f);
    EXPECT_EQ(fed.datagram, d) << "hop-by-hop " << hop;
    EXPECT_EQ(fed.dropped, 0u);
  }
}

TEST(Reassembler, Ipv6AtomicFragmentIsComplete) {
  // RFC 6946: offset 0 and M = 0 is a whole datagram in a fragment header.
  Reassembler r;
  const auto d = UdpV6(100, false);
  const auto fed = Feed(r, FragmentV6(d, 40, 2000, 5));
  EXPECT_EQ(fed.datagram, d);
}

// ForEachFragment cuts what the Reassembler puts back together, both families.
TEST(ForEachFragment, RoundTripsThroughTheReassembler) {
  std::vector<std::vector<uint8_t>> datagrams = {BigUdpV4(), UdpV6(3000, false), UdpV6(3000, true)};
  for (const auto& d : datagrams) {
    std::vector<std::vector<uint8_t>> fragments;
    ASSERT_TRUE(ForEachFragment(d.data(), d.size(), 1300, 0x51, [&](const uint8_t* f, size_t n) {
      fragments.emplace_back(f, f + n);
      return true;
    }));
    ASSERT_EQ(fragments.size(), 3u);
    for (const auto& f : fragments) EXPECT_LE(f.size(), 1300u);
    Reassembler r;
    std::reverse(fragments.begin(), fragments.end());
    EXPECT_EQ(Feed(r, fragments).datagram, d);
  }
}

TEST(ForEachFragment, FitsAsItIsAndRefusesDontFragment) {
  auto d = BigUdpV4();
  size_t calls = 0;
  EXPECT_TRUE(ForEachFragment(d.data(), d.size(), d.size(), 0, [&](const uint8_t*, size_t n) {
    ++calls;
    return n == d.size();
  }));
  EXPECT_EQ(calls, 1u);
  esp::Store16(&d[6], 0x4000);  // DF
  EXPECT_FALSE(
      ForEachFragment(d.data(), d.size(), 1300, 0, [](const uint8_t*, size_t) { return true; }));
  // A sink that refuses stops the cutting.
  esp::Store16(&d[6], 0);
  calls = 0;
  EXPECT_FALSE(ForEachFragment(d.data(), d.size(), 1300, 0,
                               [&](const uint8_t*, size_t) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2u);
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
