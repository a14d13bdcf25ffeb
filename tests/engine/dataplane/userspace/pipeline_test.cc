// The per-packet decisions of the userspace data path with a fake PacketIo: classification
// (block, permit, negotiate), queueing with one acquire, protect on one side and unprotect on
// the other, traffic-selector check (RFC 4301 §5.2), replay, unknown SPI, byte lifetimes,
// make-before-break.

#include "engine/dataplane/userspace/pipeline.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>

#include "tests/engine/dataplane/userspace/test_packets.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

using namespace testing;

struct FakeEvents final : BackendEvents {
  std::vector<Acquire> acquires;
  std::vector<std::pair<uint32_t, bool>> expires;
  void OnAcquire(const Acquire& a) override { acquires.push_back(a); }
  void OnExpire(SaProtocol, uint32_t spi, bool hard) override { expires.push_back({spi, hard}); }
};

policy::TableEntry Entry(uint32_t id, policy::Action action, const IpAddress& dst, uint64_t weight,
                         std::optional<uint8_t> protocol = std::nullopt, uint16_t dport = 0) {
  policy::TableEntry e;
  e.id = id;
  e.direction = policy::Direction::kOutbound;
  e.source = IpRange::Full(IpFamily::kV4);
  e.destination = IpRange::Single(dst);
  e.protocol = protocol;
  if (dport != 0) e.destination_ports = policy::PortRange::Single(dport);
  e.action = action;
  e.weight = weight;
  return e;
}

// A: 10.0.0.1, B: 10.0.0.2. A's table: negotiate to B, except UDP 53 (permit) and 10.0.0.3
// (block).
std::shared_ptr<const policy::Classifier> TableA() {
  policy::FilterTable t;
  t.policy = "p";
  t.entries = {Entry(1, policy::Action::kPermit, V4("10.0.0.2"), 300, 17, 53),
               Entry(2, policy::Action::kBlock, V4("10.0.0.3"), 200),
               Entry(3, policy::Action::kNegotiate, V4("10.0.0.2"), 100)};
  return std::make_shared<const policy::Classifier>(t);
}

// A TCP super-packet of `payload` octets (TcpSuperPacket) as a TSO read from the TUN gives it:
// in a read buffer at kHeadroom, planned for segments of `gso_size` octets.
struct SuperPacket {
  SuperPacket(size_t payload, uint16_t gso_size) : buffer(kBufferSize), scratch(kBufferSize) {
    const std::vector<uint8_t> super = TcpSuperPacket(payload);
    const offload::VnetHdr h{offload::kFlagNeedsCsum, offload::kGsoTcpv4, 40, gso_size, 20, 16};
    std::memcpy(packet(), super.data(), super.size());
    plan = offload::PlanSplit(h, packet(), super.size());
  }
  uint8_t* packet() { return buffer.data() + kHeadroom; }
  // Pipeline::OutboundSegments, as the TX loop calls it.
  void Send(Pipeline& p, WorkerContext& w) {
    p.OutboundSegments(w, *plan, packet(), scratch.data(), scratch.size());
  }
  std::vector<uint8_t> buffer, scratch;
  std::optional<offload::SplitPlan> plan;
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : a_sas_(2), b_sas_(2), a_(a_sas_, a_queue_, a_io_), b_(b_sas_, b_queue_, b_io_) {
    a_.SetClassifier(TableA());
    a_.SetEvents(&a_events_);
    b_.SetEvents(&b_events_);
  }

  // Installs the A -> B SA (A outbound, B inbound) and its policy.
  void InstallAtoB(uint32_t spi, uint32_t reqid = 7, Lifetime lifetime = {}) {
    SaConfig out = GcmSa(spi, SaDirection::kOutbound, reqid, true);
    out.lifetime = lifetime;
    ASSERT_TRUE(a_sas_.AddSa(out).ok());
    ASSERT_TRUE(a_sas_.AddPolicy(Policy(reqid, SaDirection::kOutbound, true)).ok());
    ASSERT_TRUE(b_sas_.AddSa(GcmSa(spi, SaDirection::kInbound, reqid, false)).ok());
  }

  void SendFromA(const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> buffer(kBufferSize);
    std::memcpy(buffer.data() + kHeadroom, packet.data(), packet.size());
    a_.Refresh(wa_);
    a_.Outbound(wa_, buffer.data(), buffer.size(), packet.size());
  }

  void ReceiveAtB(const std::vector<uint8_t>& esp) {
    std::vector<uint8_t> buffer(kBufferSize);
    std::memcpy(buffer.data() + kHeadroom, esp.data(), esp.size());
    b_.Refresh(wb_);
    b_.Inbound(wb_, buffer.data(), buffer.size(), kHeadroom, esp.size(), V4("10.0.0.1"));
  }

  uint64_t DropsA(DropReason r) { return a_.Counters().drops[static_cast<int>(r)]; }
  uint64_t DropsB(DropReason r) { return b_.Counters().drops[static_cast<int>(r)]; }

  SaTable a_sas_, b_sas_;
  AcquireQueue a_queue_, b_queue_;
  RecordingIo a_io_, b_io_;
  FakeEvents a_events_, b_events_;
  Pipeline a_, b_;
  WorkerContext wa_{0}, wb_{1};
};

TEST_F(PipelineTest, BlockIsDroppedAndCounted) {
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.3"), 1000, 2000));
  EXPECT_EQ(DropsA(DropReason::kPolicyBlock), 1u);
  EXPECT_TRUE(a_io_.esp.empty());
  EXPECT_TRUE(a_io_.clear.empty());
}

TEST_F(PipelineTest, PermitInsideANegotiateRangeGoesOnInClear) {
  auto dns = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 53);
  SendFromA(dns);
  ASSERT_EQ(a_io_.clear.size(), 1u);
  EXPECT_EQ(a_io_.clear[0], dns);
  EXPECT_EQ(a_.Counters().passed, 1u);
}

TEST_F(PipelineTest, NoSaQueuesAcquiresOnceThenFlushesWhenInstalled) {
  auto p1 = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 10);
  auto p2 = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 20);
  SendFromA(p1);
  SendFromA(p2);
  ASSERT_EQ(a_events_.acquires.size(), 1u);  // once per destination, not per packet
  EXPECT_EQ(a_events_.acquires[0].destination, V4("10.0.0.2"));
  EXPECT_EQ(a_events_.acquires[0].filter_entry, 3u);
  EXPECT_EQ(a_events_.acquires[0].destination_port, 2000);
  EXPECT_EQ(a_queue_.size(), 2u);
  EXPECT_TRUE(a_io_.esp.empty());

  InstallAtoB(0x1001);
  std::vector<uint8_t> buffer(kBufferSize);
  a_.FlushQueue(wa_, buffer.data(), buffer.size());
  ASSERT_EQ(a_io_.esp.size(), 2u);
  EXPECT_EQ(a_queue_.size(), 0u);
  // In order, and B gets both back intact.
  for (const auto& e : a_io_.esp) ReceiveAtB(e.bytes);
  ASSERT_EQ(b_io_.delivered.size(), 2u);
  EXPECT_EQ(b_io_.delivered[0], p1);
  EXPECT_EQ(b_io_.delivered[1], p2);
  EXPECT_EQ(b_.Counters().packets[static_cast<int>(TrafficDirection::kInbound)], 2u);
  auto q = a_sas_.Query(SaProtocol::kEsp, 0x1001);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->packets, 2u);
  EXPECT_EQ(q->bytes, p1.size() + p2.size());
  EXPECT_GT(q->last_used_unix, 0);
}

TEST_F(PipelineTest, QueueIsBoundedOldestDroppedAndCounted) {
  for (int i = 0; i < 70; ++i) {
    SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, static_cast<size_t>(i)));
  }
  EXPECT_EQ(a_queue_.size(), AcquireQueue::kDefaultPerDestination);
  EXPECT_EQ(DropsA(DropReason::kQueueFull), 70 - AcquireQueue::kDefaultPerDestination);
  EXPECT_EQ(a_events_.acquires.size(), 1u);
  InstallAtoB(0x1002);
  std::vector<uint8_t> buffer(kBufferSize);
  a_.FlushQueue(wa_, buffer.data(), buffer.size());
  ASSERT_EQ(a_io_.esp.size(), AcquireQueue::kDefaultPerDestination);
  ReceiveAtB(a_io_.esp.front().bytes);
  ASSERT_EQ(b_io_.delivered.size(), 1u);
  EXPECT_EQ(b_io_.delivered[0].size(), 28u + 6u);  // the 7th packet (payload 6) is the oldest kept
}

TEST_F(PipelineTest, ProtectUnprotectTunnelAndTransport) {
  for (SaMode mode : {SaMode::kTunnel, SaMode::kTransport}) {
    SCOPED_TRACE(mode == SaMode::kTunnel ? "tunnel" : "transport");
    const uint32_t spi = mode == SaMode::kTunnel ? 0x2001 : 0x2002;
    const uint32_t reqid = mode == SaMode::kTunnel ? 1 : 2;
    ASSERT_TRUE(a_sas_.AddSa(GcmSa(spi, SaDirection::kOutbound, reqid, true, mode)).ok());
    ASSERT_TRUE(a_sas_.AddPolicy(Policy(reqid, SaDirection::kOutbound, true)).ok());
    ASSERT_TRUE(b_sas_.AddSa(GcmSa(spi, SaDirection::kInbound, reqid, false, mode)).ok());
    a_io_.esp.clear();
    b_io_.delivered.clear();
    auto p = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 4000, 5000, 100);
    SendFromA(p);
    ASSERT_EQ(a_io_.esp.size(), 1u);
    EXPECT_EQ(esp::Load32(a_io_.esp[0].bytes.data()), spi);
    // Nothing of the payload in clear.
    const auto& e = a_io_.esp[0].bytes;
    EXPECT_EQ(std::search(e.begin(), e.end(), p.begin() + 28, p.begin() + 60), e.end());
    ReceiveAtB(a_io_.esp[0].bytes);
    ASSERT_EQ(b_io_.delivered.size(), 1u);
    if (mode == SaMode::kTunnel) {
      EXPECT_EQ(b_io_.delivered[0], p);
    } else {
      // The header is rebuilt (identification differs); addresses, protocol and payload agree.
      auto info = esp::ParseIpPacket(ByteSpan(b_io_.delivered[0]));
      ASSERT_TRUE(info);
      EXPECT_EQ(info->source, V4("10.0.0.1"));
      EXPECT_EQ(info->destination, V4("10.0.0.2"));
      EXPECT_EQ(info->protocol, 17);
      EXPECT_TRUE(std::equal(p.begin() + 20, p.end(), b_io_.delivered[0].begin() + 20));
    }
    ASSERT_TRUE(a_sas_.DeletePolicy(reqid, SaDirection::kOutbound).ok());
  }
}

// A datagram the pod's kernel fragmented before the TUN is reassembled, classified by its ports
// and protected whole: one ESP packet (transport mode protects only whole datagrams, RFC 4303
// §3.1.1) that B delivers as the original datagram; no ICMP "too big" for it.
TEST_F(PipelineTest, FragmentsAreReassembledThenProtectedOrPassedWhole) {
  for (SaMode mode : {SaMode::kTunnel, SaMode::kTransport}) {
    SCOPED_TRACE(mode == SaMode::kTunnel ? "tunnel" : "transport");
    const uint32_t reqid = mode == SaMode::kTunnel ? 1 : 2;
    const uint32_t spi = 0x3000 + reqid;
    ASSERT_TRUE(a_sas_.AddSa(GcmSa(spi, SaDirection::kOutbound, reqid, true, mode)).ok());
    ASSERT_TRUE(a_sas_.AddPolicy(Policy(reqid, SaDirection::kOutbound, true)).ok());
    ASSERT_TRUE(b_sas_.AddSa(GcmSa(spi, SaDirection::kInbound, reqid, false, mode)).ok());
    a_io_.esp.clear();
    b_io_.delivered.clear();
    auto p = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 4000, 5000, 3000);
    for (size_t i = 28; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 11);
    const auto fragments = FragmentV4(p, 1344);
    ASSERT_EQ(fragments.size(), 3u);
    for (size_t i = fragments.size(); i-- > 0;) SendFromA(fragments[i]);  // any order
    ASSERT_EQ(a_io_.esp.size(), 1u);
    ReceiveAtB(a_io_.esp[0].bytes);
    ASSERT_EQ(b_io_.delivered.size(), 1u);
    ASSERT_EQ(b_io_.delivered[0].size(), p.size());
    EXPECT_TRUE(std::equal(p.begin() + 20, p.end(), b_io_.delivered[0].begin() + 20));
    auto info = esp::ParseIpPacket(ByteSpan(b_io_.delivered[0]));
    ASSERT_TRUE(info);
    EXPECT_FALSE(info->is_fragment);
    EXPECT_EQ(a_.Counters().packets[0], mode == SaMode::kTunnel ? 1u : 2u);
    ASSERT_TRUE(a_sas_.DeletePolicy(reqid, SaDirection::kOutbound).ok());
  }
  // DNS exempt by port: every fragment goes on in clear with the datagram, not only the first
  // (non-initial fragments have no ports to match, RFC 4301 §7), cut again to the pod's size
  // (the clear socket includes the header and does not fragment).
  a_io_.clear.clear();
  auto dns = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 53, 2000);
  for (const auto& f : FragmentV4(dns, 1000)) SendFromA(f);
  ASSERT_EQ(a_io_.clear.size(), 3u);
  Reassembler again;
  std::vector<uint8_t> whole(kBufferSize);
  size_t whole_length = 0;
  for (const auto& f : a_io_.clear) {
    EXPECT_LE(f.size(), 1020u);
    auto info = esp::ParseIpPacket(ByteSpan(f));
    ASSERT_TRUE(info);
    whole_length +=
        again.Add(ByteSpan(f), *info, Reassembler::Clock::now(), whole.data(), whole.size()).length;
  }
  ASSERT_EQ(whole_length, dns.size());
  EXPECT_TRUE(std::equal(dns.begin(), dns.end(), whole.begin()));
  EXPECT_EQ(DropsA(DropReason::kReassembly), 0u);
  // A lone overlapping pair is dropped and counted, nothing sent.
  auto other = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 2000);
  auto f1 = FragmentV4(other, 1000), f2 = FragmentV4(other, 504);
  SendFromA(f1[0]);
  SendFromA(f2[1]);
  EXPECT_EQ(DropsA(DropReason::kReassembly), 2u);
}

// OutboundSegments protects each segment of a super-packet straight into the send slot: the ESP
// packets are byte-identical to cutting the segments first (WriteSegment) and protecting each
// with Outbound, they decrypt to those segments, and the counters count every segment.
TEST_F(PipelineTest, SuperPacketSegmentsGoStraightIntoSendSlotsIdentically) {
  for (SaMode mode : {SaMode::kTunnel, SaMode::kTransport}) {
    SCOPED_TRACE(mode == SaMode::kTunnel ? "tunnel" : "transport");
    const uint32_t spi = mode == SaMode::kTunnel ? 0x2101 : 0x2102;
    const uint32_t reqid = mode == SaMode::kTunnel ? 11 : 12;
    // A reference sender with the same SA (same keys, same sequence numbers).
    SaTable ref_sas(2);
    AcquireQueue ref_queue;
    RecordingIo ref_io;
    Pipeline ref(ref_sas, ref_queue, ref_io);
    ref.SetClassifier(TableA());
    for (SaTable* t : {&a_sas_, &ref_sas}) {
      ASSERT_TRUE(t->AddSa(GcmSa(spi, SaDirection::kOutbound, reqid, true, mode)).ok());
      ASSERT_TRUE(t->AddPolicy(Policy(reqid, SaDirection::kOutbound, true)).ok());
    }
    ASSERT_TRUE(b_sas_.AddSa(GcmSa(spi, SaDirection::kInbound, reqid, false, mode)).ok());
    a_io_.esp.clear();
    a_io_.slots = true;
    a_io_.committed = 0;
    b_io_.delivered.clear();
    const uint64_t packets_before = a_.Counters().packets[0];
    const uint64_t bytes_before = a_.Counters().bytes[0];

    SuperPacket sp(5000, 1400);
    const auto& plan = sp.plan;
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->segments, 4u);
    a_.Refresh(wa_);
    sp.Send(a_, wa_);

    WorkerContext wr(0);
    ref.Refresh(wr);
    std::vector<std::vector<uint8_t>> segments;
    size_t bytes = 0;
    for (size_t s = 0; s < plan->segments; ++s) {
      std::vector<uint8_t> seg(kBufferSize);
      const size_t n = offload::WriteSegment(*plan, sp.packet(), s, seg.data() + kHeadroom);
      segments.emplace_back(seg.begin() + kHeadroom, seg.begin() + kHeadroom + n);
      bytes += n;
      ref.Outbound(wr, seg.data(), seg.size(), n);
    }
    ASSERT_EQ(a_io_.esp.size(), plan->segments);
    ASSERT_EQ(ref_io.esp.size(), plan->segments);
    EXPECT_EQ(a_io_.committed, plan->segments);  // none took the copying path
    for (size_t s = 0; s < plan->segments; ++s) {
      EXPECT_EQ(a_io_.esp[s].bytes, ref_io.esp[s].bytes) << "segment " << s;
      ReceiveAtB(a_io_.esp[s].bytes);
    }
    ASSERT_EQ(b_io_.delivered.size(), plan->segments);
    for (size_t s = 0; s < plan->segments; ++s) {
      const auto& d = b_io_.delivered[s];
      if (mode == SaMode::kTunnel) {
        EXPECT_EQ(d, segments[s]) << "segment " << s;
      } else {  // the receiver rebuilds the IP header: the TCP segment is the same
        ASSERT_EQ(d.size(), segments[s].size());
        EXPECT_TRUE(std::equal(d.begin() + 20, d.end(), segments[s].begin() + 20));
      }
    }
    EXPECT_EQ(a_.Counters().packets[0] - packets_before, plan->segments);
    EXPECT_EQ(a_.Counters().bytes[0] - bytes_before, bytes);
    EXPECT_EQ(a_.Counters().bytes[0] - bytes_before, ref.Counters().bytes[0]);
    a_io_.slots = false;
    ASSERT_TRUE(a_sas_.DeletePolicy(reqid, SaDirection::kOutbound).ok());
  }
}

// Without send slots (or when the first segment is not for ESP) every segment still goes, the
// per-packet way.
TEST_F(PipelineTest, SuperPacketWithoutSlotsOrSaTakesThePerSegmentPath) {
  SuperPacket sp(3000, 1000);
  ASSERT_TRUE(sp.plan);
  ASSERT_EQ(sp.plan->segments, 3u);
  a_.Refresh(wa_);
  // No SA yet: every segment is queued (one acquire).
  sp.Send(a_, wa_);
  EXPECT_EQ(a_.Counters().queued, 3u);
  EXPECT_EQ(a_events_.acquires.size(), 1u);
  InstallAtoB(0x2201);
  a_io_.esp.clear();
  a_.Refresh(wa_);
  sp.Send(a_, wa_);
  ASSERT_EQ(a_io_.esp.size(), 3u);
  for (const auto& e : a_io_.esp) ReceiveAtB(e.bytes);
  EXPECT_EQ(b_io_.delivered.size(), 3u);
}

TEST_F(PipelineTest, ReplayUnknownSpiAndTamperingAreDroppedByReason) {
  InstallAtoB(0x3001);
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2));
  ASSERT_EQ(a_io_.esp.size(), 1u);
  auto esp = a_io_.esp[0].bytes;
  ReceiveAtB(esp);
  ReceiveAtB(esp);  // RFC 4303 §3.4.3
  EXPECT_EQ(b_io_.delivered.size(), 1u);
  EXPECT_EQ(DropsB(DropReason::kReplay), 1u);
  auto unknown = esp;
  esp::Store32(unknown.data(), 0x9999);
  ReceiveAtB(unknown);
  EXPECT_EQ(DropsB(DropReason::kNoSa), 1u);
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2));
  auto tampered = a_io_.esp[1].bytes;
  tampered[20] ^= 1;
  ReceiveAtB(tampered);
  EXPECT_EQ(DropsB(DropReason::kIntegrity), 1u);
  std::vector<uint8_t> tiny = {0, 0, 0x30, 0x01};
  ReceiveAtB(tiny);
  EXPECT_EQ(DropsB(DropReason::kMalformed), 1u);
}

TEST_F(PipelineTest, InnerPacketOutsideTheSelectorsIsDropped) {
  // B's inbound SA accepts 10.0.0.1 -> 10.0.0.2 only; A's policy is wider than that.
  ASSERT_TRUE(a_sas_.AddSa(GcmSa(0x4001, SaDirection::kOutbound, 9, true)).ok());
  PolicyConfig wide = Policy(9, SaDirection::kOutbound, true);
  wide.local_ts = {{IpRange::Full(IpFamily::kV4), 0, 0, 65535}};
  ASSERT_TRUE(a_sas_.AddPolicy(wide).ok());
  ASSERT_TRUE(b_sas_.AddSa(GcmSa(0x4001, SaDirection::kInbound, 9, false)).ok());
  SendFromA(UdpPacket(V4("10.0.0.7"), V4("10.0.0.2"), 1, 2));  // spoofed inner source
  ASSERT_EQ(a_io_.esp.size(), 1u);
  ReceiveAtB(a_io_.esp[0].bytes);
  EXPECT_TRUE(b_io_.delivered.empty());
  EXPECT_EQ(DropsB(DropReason::kTsMismatch), 1u);  // RFC 4301 §5.2
}

TEST_F(PipelineTest, ByteLifetimesExpireOnceEach) {
  InstallAtoB(0x5001, 7, Lifetime{.soft_bytes = 100, .hard_bytes = 250});
  for (int i = 0; i < 6; ++i) SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 32));
  // 60 octets each: soft at the 2nd packet, hard at the 5th.
  ASSERT_EQ(a_events_.expires.size(), 2u);
  EXPECT_EQ(a_events_.expires[0], std::make_pair(0x5001u, false));
  EXPECT_EQ(a_events_.expires[1], std::make_pair(0x5001u, true));
  // RFC 4301 §4.4.2.1: the 5th packet was the SA's last; the 6th waits for a new SA, as with
  // none (queued, one acquire), and goes in it once installed.
  EXPECT_EQ(a_io_.esp.size(), 5u);
  EXPECT_EQ(a_.Counters().queued, 1u);
  ASSERT_EQ(a_events_.acquires.size(), 1u);
  EXPECT_EQ(a_events_.acquires[0].destination, V4("10.0.0.2"));
  ASSERT_TRUE(a_sas_.AddSa(GcmSa(0x5002, SaDirection::kOutbound, 7, true)).ok());
  std::vector<uint8_t> buffer(kBufferSize);
  a_.FlushQueue(wa_, buffer.data(), buffer.size());
  ASSERT_EQ(a_io_.esp.size(), 6u);
  EXPECT_EQ(esp::Load32(a_io_.esp[5].bytes.data()), 0x5002u);
}

// The inbound side: past its hard byte lifetime an SA takes nothing more (dropped as
// "expired", IKE told once), while a new SA of the child takes over.
TEST_F(PipelineTest, InboundSaPastItsHardByteLifetimeDropsAsExpired) {
  ASSERT_TRUE(a_sas_.AddSa(GcmSa(0x5101, SaDirection::kOutbound, 7, true)).ok());
  ASSERT_TRUE(a_sas_.AddPolicy(Policy(7, SaDirection::kOutbound, true)).ok());
  SaConfig in = GcmSa(0x5101, SaDirection::kInbound, 7, false);
  in.lifetime.hard_bytes = 130;  // 60-octet packets: the 3rd reaches it
  ASSERT_TRUE(b_sas_.AddSa(in).ok());
  for (int i = 0; i < 4; ++i) SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 32));
  ASSERT_EQ(a_io_.esp.size(), 4u);
  for (const auto& e : a_io_.esp) ReceiveAtB(e.bytes);
  EXPECT_EQ(b_io_.delivered.size(), 3u);
  EXPECT_EQ(DropsB(DropReason::kExpired), 1u);
  ASSERT_EQ(b_events_.expires.size(), 1u);
  EXPECT_EQ(b_events_.expires[0], std::make_pair(0x5101u, true));
  EXPECT_STREQ(Name(DropReason::kExpired), "expired");
}

// A super-packet that reaches the hard byte lifetime part way: the segment that reaches it is
// the SA's last, the rest wait for the new SA (one acquire), none is lost.
TEST_F(PipelineTest, SuperPacketStopsAtTheHardByteLifetimeAndTheRestWaits) {
  SuperPacket sp(5000, 1000);
  ASSERT_TRUE(sp.plan);
  ASSERT_EQ(sp.plan->segments, 5u);  // 1040-octet segments
  for (bool slots : {true, false}) {
    SCOPED_TRACE(slots ? "send slots" : "per packet");
    const uint32_t spi = slots ? 0x5201 : 0x5202;
    const uint32_t reqid = slots ? 21 : 22;
    SaConfig out = GcmSa(spi, SaDirection::kOutbound, reqid, true);
    out.lifetime.hard_bytes = 2500;  // the 3rd segment reaches it
    ASSERT_TRUE(a_sas_.AddSa(out).ok());
    ASSERT_TRUE(a_sas_.AddPolicy(Policy(reqid, SaDirection::kOutbound, true)).ok());
    a_io_.esp.clear();
    a_io_.slots = slots;
    a_events_.acquires.clear();
    const uint64_t queued_before = a_.Counters().queued;
    a_.Refresh(wa_);
    sp.Send(a_, wa_);
    EXPECT_EQ(a_io_.esp.size(), 3u);
    EXPECT_EQ(a_.Counters().queued - queued_before, 2u);
    EXPECT_EQ(a_events_.acquires.size(), 1u);
    auto q = a_sas_.Query(SaProtocol::kEsp, spi);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->packets, 3u);
    // The new SA carries the two that waited.
    ASSERT_TRUE(a_sas_.AddSa(GcmSa(spi + 0x10, SaDirection::kOutbound, reqid, true)).ok());
    std::vector<uint8_t> flush(kBufferSize);
    a_.FlushQueue(wa_, flush.data(), flush.size());
    ASSERT_EQ(a_io_.esp.size(), 5u);
    EXPECT_EQ(esp::Load32(a_io_.esp[3].bytes.data()), spi + 0x10);
    EXPECT_EQ(esp::Load32(a_io_.esp[4].bytes.data()), spi + 0x10);
    a_io_.slots = false;
    ASSERT_TRUE(a_sas_.DeletePolicy(reqid, SaDirection::kOutbound).ok());
  }
}

TEST_F(PipelineTest, NewOutboundSaOfTheReqidTakesOverAndOldInboundStillAccepts) {
  InstallAtoB(0x6001);
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2));
  // Rekey: the new pair is installed, then (later) the old one deleted.
  ASSERT_TRUE(a_sas_.AddSa(GcmSa(0x6002, SaDirection::kOutbound, 7, true)).ok());
  ASSERT_TRUE(b_sas_.AddSa(GcmSa(0x6002, SaDirection::kInbound, 7, false)).ok());
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2));
  ASSERT_EQ(a_io_.esp.size(), 2u);
  EXPECT_EQ(esp::Load32(a_io_.esp[0].bytes.data()), 0x6001u);
  EXPECT_EQ(esp::Load32(a_io_.esp[1].bytes.data()), 0x6002u);
  ReceiveAtB(a_io_.esp[1].bytes);
  ReceiveAtB(a_io_.esp[0].bytes);  // late packet of the old SA: still accepted
  EXPECT_EQ(b_io_.delivered.size(), 2u);
  ASSERT_TRUE(a_sas_.DeleteSa(SaProtocol::kEsp, 0x6002).ok());
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2));
  EXPECT_EQ(esp::Load32(a_io_.esp[2].bytes.data()), 0x6001u);  // back to the remaining one
  // The per (rule, peer) counters sum every SA.
  auto rp = a_sas_.RulePeerCounters();
  ASSERT_EQ(rp.size(), 1u);
  EXPECT_EQ(rp[0].packets[static_cast<int>(TrafficDirection::kOutbound)], 3u);
}

TEST_F(PipelineTest, DeletedInboundSaLingersThenGoes) {
  InstallAtoB(0x7001);
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2));
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2));
  const auto now = SaTable::Clock::now();
  ASSERT_TRUE(b_sas_.DeleteSa(SaProtocol::kEsp, 0x7001, now).ok());
  EXPECT_FALSE(b_sas_.DeleteSa(SaProtocol::kEsp, 0x7001, now).ok());  // gone for IKE
  EXPECT_TRUE(b_sas_.SpiInUse(0x7001));                               // not handed out again
  ReceiveAtB(a_io_.esp[0].bytes);  // in flight when IKE deleted it: still accepted
  EXPECT_EQ(b_io_.delivered.size(), 1u);
  b_sas_.Sweep(now + SaTable::kInboundLinger / 2);
  EXPECT_TRUE(b_sas_.SpiInUse(0x7001));
  b_sas_.Sweep(now + SaTable::kInboundLinger + std::chrono::milliseconds(1));
  EXPECT_FALSE(b_sas_.SpiInUse(0x7001));
  ReceiveAtB(a_io_.esp[1].bytes);
  EXPECT_EQ(b_io_.delivered.size(), 1u);
  EXPECT_EQ(DropsB(DropReason::kNoSa), 1u);
}

// IKE's fallback to clear with `peer` (transport mode: its own address) until `until`.
ClearFallback Fallback(const IpAddress& peer, Pipeline::Clock::time_point until) {
  return {.rule = "r", .peer = peer, .destinations = {IpRange::Single(peer)}, .until = until};
}

// FAQ 16: while IKE's fallback to clear lasts, "negotiate" traffic to the peer goes in clear
// (the packets that waited for IKE too); an SA, when there is one, still wins; when the
// fallback ends the next packet waits for IKE again.
TEST_F(PipelineTest, FallbackToClearSendsInClearWhileItLasts) {
  const auto now = Pipeline::Clock::now();
  auto p1 = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 10);
  SendFromA(p1);
  ASSERT_EQ(a_queue_.size(), 1u);
  ASSERT_EQ(a_events_.acquires.size(), 1u);
  a_.SetClearFallbacks({Fallback(V4("10.0.0.2"), now + std::chrono::hours(1))});
  std::vector<uint8_t> buffer(kBufferSize);
  a_.FlushQueue(wa_, buffer.data(), buffer.size());
  ASSERT_EQ(a_io_.clear.size(), 1u);
  EXPECT_EQ(a_io_.clear[0], p1);
  auto p2 = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 20);
  SendFromA(p2);
  ASSERT_EQ(a_io_.clear.size(), 2u);
  EXPECT_EQ(a_io_.clear[1], p2);
  EXPECT_EQ(a_.Counters().passed, 2u);
  EXPECT_EQ(a_events_.acquires.size(), 1u);
  EXPECT_TRUE(a_io_.esp.empty());
  // Block filters still block during a fallback.
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.3"), 1, 2));
  EXPECT_EQ(DropsA(DropReason::kPolicyBlock), 1u);
  // The fallback is over: queued again.
  a_.SetClearFallbacks({Fallback(V4("10.0.0.2"), now - std::chrono::seconds(1))});
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 30));
  EXPECT_EQ(a_io_.clear.size(), 2u);
  EXPECT_EQ(a_queue_.size(), 1u);
  // An SA wins over a fallback.
  a_.SetClearFallbacks({Fallback(V4("10.0.0.2"), now + std::chrono::hours(1))});
  InstallAtoB(0x7001);
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 40));
  EXPECT_EQ(a_io_.clear.size(), 2u);
  EXPECT_EQ(a_io_.esp.size(), 1u);
}

// FAQ 19: the default response rule's child SA has no filter of ours (its filters are
// dynamic): unmatched traffic it covers goes in it; other unmatched traffic and explicit
// permit filters (exemptions) stay in clear.
TEST_F(PipelineTest, UnmatchedTrafficAnSaCoversGoesInItExemptionsDoNot) {
  // B has no filter table at all; a default-response SA B -> A (local 10.0.0.2).
  ASSERT_TRUE(b_sas_.AddSa(GcmSa(0x7101, SaDirection::kOutbound, 4, false)).ok());
  ASSERT_TRUE(b_sas_.AddPolicy(Policy(4, SaDirection::kOutbound, false)).ok());
  ASSERT_TRUE(a_sas_.AddSa(GcmSa(0x7101, SaDirection::kInbound, 4, true)).ok());
  auto reply = UdpPacket(V4("10.0.0.2"), V4("10.0.0.1"), 2000, 1000, 16);
  std::vector<uint8_t> buffer(kBufferSize);
  std::memcpy(buffer.data() + kHeadroom, reply.data(), reply.size());
  b_.Refresh(wb_);
  b_.Outbound(wb_, buffer.data(), buffer.size(), reply.size());
  ASSERT_EQ(b_io_.esp.size(), 1u);
  EXPECT_TRUE(b_io_.clear.empty());
  auto other = UdpPacket(V4("10.0.0.2"), V4("10.0.0.9"), 2000, 1000, 16);
  std::memcpy(buffer.data() + kHeadroom, other.data(), other.size());
  b_.Outbound(wb_, buffer.data(), buffer.size(), other.size());
  EXPECT_EQ(b_io_.clear.size(), 1u);
  // A's DNS exemption (an explicit permit) stays in clear although A -> B has an SA.
  InstallAtoB(0x7102);
  SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 53));
  EXPECT_EQ(a_io_.clear.size(), 1u);
  EXPECT_TRUE(a_io_.esp.empty());
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
