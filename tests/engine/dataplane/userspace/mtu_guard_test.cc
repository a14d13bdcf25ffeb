// MtuGuard (RFC 4301 §8): the ESP packet's exact size per SA (outer header, UDP, ESP header, IV,
// padding, trailer, ICV), the largest inner packet that fits a path MTU, and the decisions:
// IPv4 DF too big -> dropped + "fragmentation needed" with that size; IPv4 without DF -> sent
// (the outer packet is fragmented); IPv6 -> "packet too big" (>= 1280; up to 1280 always sent);
// the path MTU cached per peer and read again after the refresh; the rate limit; and the same
// through Pipeline::Outbound with a fake PacketIo (too_big counted, the ICMP delivered to the
// TUN, nothing sent as ESP).

#include "engine/dataplane/userspace/mtu_guard.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/dataplane/userspace/link_mtu.h"
#include "engine/dataplane/userspace/pipeline.h"
#include "tests/engine/dataplane/userspace/test_packets.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

using namespace testing;
using namespace std::chrono_literals;

struct FakeSource final : PathMtuSource {
  int mtu = 1360;
  int calls = 0;
  int PathMtu(unsigned, const IpAddress&, const IpAddress&) override {
    ++calls;
    return mtu;
  }
};

MtuGuard::Clock::time_point fake_now = MtuGuard::Clock::time_point{} + 1000s;
MtuGuard::Clock::time_point FakeNow() { return fake_now; }

std::vector<uint8_t> WithDf(std::vector<uint8_t> p) {
  p[6] |= 0x40;
  esp::Store16(&p[10], 0);
  esp::SetIpv4HeaderChecksum(p.data(), 20);
  return p;
}

class MtuGuardTest : public ::testing::Test {
 protected:
  MtuGuardTest() : sas_(1) {}

  // The outbound AES-GCM-16-128 SA (ICV 16, IV 8, block 4) with these outer addresses.
  const SaState& Sa(SaMode mode, bool udp, const char* local = "10.0.0.1",
                    const char* remote = "10.0.0.2") {
    ++spi_;
    SaConfig c = GcmSa(spi_, SaDirection::kOutbound, spi_, true, mode);
    c.local = {V4(local), static_cast<uint16_t>(udp ? 4500 : 0)};
    c.remote = {V4(remote), static_cast<uint16_t>(udp ? 4500 : 0)};
    c.udp_encapsulation = udp;
    EXPECT_TRUE(sas_.AddSa(c).ok());
    return *sas_.Load()->outbound.find(spi_)->second;
  }

  MtuGuard Guard(double burst = 10) {
    auto source = std::make_unique<FakeSource>();
    source_ = source.get();
    MtuGuard::Options o;
    o.now = &FakeNow;
    o.icmp_burst = burst;
    return MtuGuard(std::move(source), o);
  }

  MtuGuard::Verdict Check(MtuGuard& g, const SaState& sa, const std::vector<uint8_t>& p) {
    auto info = esp::ParseIpPacket(p);
    EXPECT_TRUE(info.has_value());
    return g.Check(0, sa.config, *sa.outbound, p.data(), p.size(), *info);
  }

  SaTable sas_;
  uint32_t spi_ = 0x1000;
  FakeSource* source_ = nullptr;
};

TEST_F(MtuGuardTest, SizesPerSa) {
  // Tunnel, IPv4 outer, raw ESP: 20 + 8 (ESP) + 8 (IV) + payload padded with the 2-octet
  // trailer to 4 + 16 (ICV).
  const SaState& t = Sa(SaMode::kTunnel, false);
  EXPECT_EQ(MtuGuard::OuterLength(t.config, *t.outbound, 1306, 20), 1360u);
  EXPECT_EQ(MtuGuard::OuterLength(t.config, *t.outbound, 1307, 20), 1364u);
  EXPECT_EQ(MtuGuard::MaxInnerLength(t.config, *t.outbound, 1360, 20), 1306u);
  EXPECT_EQ(MtuGuard::MaxInnerLength(t.config, *t.outbound, 1363, 20), 1306u);
  EXPECT_EQ(MtuGuard::MaxInnerLength(t.config, *t.outbound, 1500, 20), 1446u);
  // ESP in UDP: 8 more.
  const SaState& u = Sa(SaMode::kTunnel, true);
  EXPECT_EQ(MtuGuard::OuterLength(u.config, *u.outbound, 1306, 20), 1368u);
  EXPECT_EQ(MtuGuard::MaxInnerLength(u.config, *u.outbound, 1360, 20), 1298u);
  // Transport: the inner header is the outer one; ESP protects what follows it.
  const SaState& tr = Sa(SaMode::kTransport, false);
  EXPECT_EQ(MtuGuard::OuterLength(tr.config, *tr.outbound, 1326, 20), 1360u);
  EXPECT_EQ(MtuGuard::MaxInnerLength(tr.config, *tr.outbound, 1360, 20), 1326u);
  // The round trip: the largest inner length fits, one more does not.
  for (size_t mtu = 200; mtu <= 1500; mtu += 37) {
    for (const SaState* sa : {&t, &u, &tr}) {
      const size_t max = MtuGuard::MaxInnerLength(sa->config, *sa->outbound, mtu, 20);
      EXPECT_LE(MtuGuard::OuterLength(sa->config, *sa->outbound, max, 20), mtu) << mtu;
      EXPECT_GT(MtuGuard::OuterLength(sa->config, *sa->outbound, max + 4, 20), mtu) << mtu;
    }
  }
}

TEST_F(MtuGuardTest, Ipv4DfTooBigGetsFragNeededWithLargestFit) {
  MtuGuard g = Guard();
  const SaState& sa = Sa(SaMode::kTunnel, false);
  const auto big = WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 1400 - 28));
  MtuGuard::Verdict v = Check(g, sa, big);
  ASSERT_TRUE(v.drop);
  ASSERT_EQ(v.icmp.size(), 20u + 8u + 28u);
  EXPECT_EQ(v.icmp[9], 1);
  EXPECT_EQ(IpAddress::FromV4Bytes(&v.icmp[12]), V4("10.0.0.2")) << "from the inner destination";
  EXPECT_EQ(IpAddress::FromV4Bytes(&v.icmp[16]), V4("10.0.0.1"));
  EXPECT_EQ(v.icmp[20], 3);
  EXPECT_EQ(v.icmp[21], 4);
  EXPECT_EQ(esp::Load16(&v.icmp[26]), 1306);
  EXPECT_EQ(g.icmp_sent(), 1u);
  // The largest that fits goes; without DF a too-big one goes too (the outer is fragmented).
  EXPECT_FALSE(
      Check(g, sa, WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 1306 - 28))).drop);
  EXPECT_FALSE(Check(g, sa, UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 1400 - 28)).drop);
  EXPECT_EQ(source_->calls, 1) << "cached per peer";
}

TEST_F(MtuGuardTest, SmallPacketsNeverAskTheSourceAndUnknownMtuPasses) {
  MtuGuard g = Guard();
  const SaState& sa = Sa(SaMode::kTunnel, false);
  EXPECT_FALSE(Check(g, sa, WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1000))).drop);
  EXPECT_EQ(source_->calls, 0);
  source_->mtu = 0;  // unknown: never a reason to drop
  EXPECT_FALSE(Check(g, sa, WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1400))).drop);
  EXPECT_EQ(source_->calls, 1);
}

TEST_F(MtuGuardTest, PathMtuReadAgainAfterRefresh) {
  MtuGuard g = Guard();
  const SaState& sa = Sa(SaMode::kTunnel, false);
  const auto p = WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1400 - 28));
  source_->mtu = 1500;
  EXPECT_FALSE(Check(g, sa, p).drop);
  source_->mtu = 1360;  // the kernel learned a smaller path MTU (ICMP about our ESP)
  fake_now += 500ms;
  EXPECT_FALSE(Check(g, sa, p).drop) << "still cached";
  fake_now += 600ms;
  EXPECT_TRUE(Check(g, sa, p).drop);
  EXPECT_EQ(source_->calls, 2);
}

TEST_F(MtuGuardTest, RateLimitedAndNeverAboutIcmpErrors) {
  MtuGuard g = Guard(/*burst=*/2);
  const SaState& sa = Sa(SaMode::kTunnel, false);
  const auto p = WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1400 - 28));
  EXPECT_FALSE(Check(g, sa, p).icmp.empty());
  EXPECT_FALSE(Check(g, sa, p).icmp.empty());
  MtuGuard::Verdict third = Check(g, sa, p);
  EXPECT_TRUE(third.drop);
  EXPECT_TRUE(third.icmp.empty()) << "over the burst";
  fake_now += 1s;  // 20 per second: refilled
  EXPECT_FALSE(Check(g, sa, p).icmp.empty());
  // An ICMP error (type 3) too big: dropped, no error about an error.
  auto err = WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1400 - 28));
  err[9] = 1;
  err[20] = 3;
  fake_now += 1s;
  MtuGuard::Verdict v = Check(g, sa, err);
  EXPECT_TRUE(v.drop);
  EXPECT_TRUE(v.icmp.empty());
  EXPECT_EQ(g.icmp_suppressed(), 2u);
}

TEST_F(MtuGuardTest, Ipv6PacketTooBigAtLeast1280) {
  MtuGuard g = Guard();
  SaConfig c = GcmSa(0x2001, SaDirection::kOutbound, 9, true);
  c.local = {*IpAddress::Parse("fd99:1::2"), 0};
  c.remote = {*IpAddress::Parse("fd99:2::2"), 0};
  ASSERT_TRUE(sas_.AddSa(c).ok());
  const SaState& sa = *sas_.Load()->outbound.find(0x2001)->second;
  const IpAddress a = *IpAddress::Parse("fd99:1::2"), b = *IpAddress::Parse("fd99:2::2");
  // Outer IPv6 (40) + 32 of ESP: 1360 leaves 1286 for the inner packet.
  EXPECT_EQ(MtuGuard::MaxInnerLength(sa.config, *sa.outbound, 1360, 40), 1286u);
  source_->mtu = 1360;
  MtuGuard::Verdict v = Check(g, sa, Udp6(a, b, 1348));
  ASSERT_TRUE(v.drop);
  ASSERT_EQ(v.icmp.size(), 1280u);
  EXPECT_EQ(v.icmp[40], 2);
  EXPECT_EQ(esp::Load32(&v.icmp[44]), 1286u);
  EXPECT_EQ(IpAddress::FromV6Bytes(&v.icmp[8]), b);
  EXPECT_EQ(IpAddress::FromV6Bytes(&v.icmp[24]), a);
  EXPECT_FALSE(Check(g, sa, Udp6(a, b, 1286)).drop);
  // A path that cannot carry 1280 inner octets: up to 1280 go (fragmented outside), larger
  // ones are told 1280.
  fake_now += 2s;
  source_->mtu = 1300;
  EXPECT_FALSE(Check(g, sa, Udp6(a, b, 1280)).drop);
  v = Check(g, sa, Udp6(a, b, 1300));
  ASSERT_TRUE(v.drop);
  EXPECT_EQ(esp::Load32(&v.icmp[44]), 1280u);
}

TEST(KernelPathMtuTest, PacketTooBigAboutOurEspIsParsed) {
  // What a raw ICMPv6 socket delivers: the ICMPv6 message, quoting our raw ESP over IPv6.
  const IpAddress a = *IpAddress::Parse("fd99:1::2"), b = *IpAddress::Parse("fd99:2::2");
  std::vector<uint8_t> m(8 + 40 + 8, 0);
  m[0] = 2;
  esp::Store32(&m[4], 1360);
  esp::Store32(&m[8], 0x6000'0000);
  m[8 + 6] = 50;  // ESP
  std::memcpy(&m[8 + 8], a.ToBytes().data(), 16);
  std::memcpy(&m[8 + 24], b.ToBytes().data(), 16);
  auto t = ParseEspPacketTooBig(m);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->destination, b);
  EXPECT_EQ(t->mtu, 1360);
  esp::Store32(&m[4], 600);
  EXPECT_EQ(ParseEspPacketTooBig(m)->mtu, 1280) << "never below the IPv6 minimum";
  m[8 + 6] = 17;  // about UDP: the kernel's UDP sockets learn that themselves
  EXPECT_FALSE(ParseEspPacketTooBig(m).has_value());
  m[8 + 6] = 50;
  m[0] = 1;  // destination unreachable
  EXPECT_FALSE(ParseEspPacketTooBig(m).has_value());
  m[0] = 2;
  EXPECT_FALSE(ParseEspPacketTooBig(ByteSpan(m.data(), 47)).has_value()) << "truncated";
}

TEST(LinkMtuTest, TunMtuLeavesRoomForWorstCaseEsp) {
  EXPECT_EQ(CappedTunMtu(1400, 1500), 1379);  // 1500 - 121 (outer IPv6 + UDP + ESP worst case)
  EXPECT_EQ(CappedTunMtu(1300, 1500), 1300);  // never raised
  EXPECT_EQ(CappedTunMtu(1400, 9000), 1400);
  EXPECT_EQ(CappedTunMtu(1400, 1360), 1280);  // 1239 would turn IPv6 off on the TUN
  EXPECT_EQ(CappedTunMtu(1400, 0), 1400);     // no link known
  EXPECT_EQ(CappedTunMtu(1000, 1360), 1000);  // a smaller configured value stays
}

// Through the pipeline: A's outbound with a guard whose path MTU is 1360.
TEST(MtuGuardPipelineTest, TooBigIsCountedAndAnsweredThroughTheTun) {
  SaTable sas(1);
  AcquireQueue queue;
  RecordingIo io;
  Pipeline pipeline(sas, queue, io);
  policy::TableEntry e;
  e.id = 1;
  e.direction = policy::Direction::kOutbound;
  e.source = IpRange::Full(IpFamily::kV4);
  e.destination = IpRange::Single(V4("10.0.0.2"));
  e.action = policy::Action::kNegotiate;
  e.weight = 100;
  policy::FilterTable t;
  t.policy = "p";
  t.entries = {e};
  pipeline.SetClassifier(std::make_shared<const policy::Classifier>(t));
  auto source = std::make_unique<FakeSource>();
  pipeline.SetMtuGuard(std::make_unique<MtuGuard>(std::move(source)));
  ASSERT_TRUE(sas.AddSa(GcmSa(0x3001, SaDirection::kOutbound, 7, true)).ok());
  ASSERT_TRUE(sas.AddPolicy(Policy(7, SaDirection::kOutbound, true)).ok());
  WorkerContext w(0);
  auto send = [&](const std::vector<uint8_t>& p) {
    std::vector<uint8_t> buffer(kBufferSize);
    std::memcpy(buffer.data() + kHeadroom, p.data(), p.size());
    pipeline.Refresh(w);
    pipeline.Outbound(w, buffer.data(), buffer.size(), p.size());
  };
  send(WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1400 - 28)));
  EXPECT_EQ(io.esp.size(), 0u);
  EXPECT_EQ(pipeline.Counters().drops[static_cast<int>(DropReason::kTooBig)], 1u);
  ASSERT_EQ(io.delivered.size(), 1u);
  EXPECT_EQ(io.delivered[0][20], 3);
  EXPECT_EQ(esp::Load16(&io.delivered[0][26]), 1306);
  send(WithDf(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1306 - 28)));
  send(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 1400 - 28));  // no DF
  EXPECT_EQ(io.esp.size(), 2u);
  EXPECT_EQ(pipeline.Counters().drops[static_cast<int>(DropReason::kTooBig)], 1u);
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
