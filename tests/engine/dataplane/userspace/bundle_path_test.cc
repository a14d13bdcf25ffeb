// The AH+ESP bundle (FAQ 46; engine/dataplane/userspace/bundle_path.cc) between two pipelines
// with a fake PacketIo: A protects with its reqid's newest bundled ESP SA and then its newest
// bundled AH SA (transport and tunnel mode, IPv4 and IPv6 outer headers); what leaves through
// SendClear is IP | AH (next header 50) | ESP, parsed here; B removes AH, then ESP, and delivers
// the pod's packet. Tampering with the outer source address is an integrity drop; ESP straight
// to a bundled ESP SA, a bundled AH SA carrying anything but ESP, and ESP of another reqid
// inside AH are bundle_mismatch (RFC 4301 §5.2); a half-installed bundle sends nothing (no_sa);
// a rekey's new SAs carry traffic from their AddSa on while the old inbound ones still accept;
// the (rule, peer) counters count a bundled packet once, each SA's own counters count it too;
// super-packets go segment by segment; the MTU guard leaves room for AH.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <string>
#include <tuple>

#include "engine/dataplane/userspace/link_mtu.h"
#include "engine/dataplane/userspace/pipeline.h"
#include "engine/esp/esp_wire.h"
#include "tests/engine/dataplane/userspace/test_packets.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

using namespace testing;

constexpr uint32_t kReqid = 7;

struct Case {
  SaMode mode;
  bool v6;  // the outer header's family (transport mode: the pod's packets are IPv6 too)
  const char* name;
};
const Case kCases[] = {{SaMode::kTransport, false, "transport over IPv4"},
                       {SaMode::kTransport, true, "transport over IPv6"},
                       {SaMode::kTunnel, false, "tunnel over IPv4"},
                       {SaMode::kTunnel, true, "tunnel over IPv6"}};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// The pods' addresses: IPv4 except for transport mode over IPv6.
IpAddress PodA(const Case& c) {
  return c.mode == SaMode::kTransport && c.v6 ? V4("fd00::1") : V4("10.0.0.1");
}
IpAddress PodB(const Case& c) {
  return c.mode == SaMode::kTransport && c.v6 ? V4("fd00::2") : V4("10.0.0.2");
}

std::vector<uint8_t> PodPacket(const Case& c, bool from_a = true, size_t payload = 100) {
  const IpAddress s = from_a ? PodA(c) : PodB(c), d = from_a ? PodB(c) : PodA(c);
  return s.is_v4() ? UdpPacket(s, d, 1000, 2000, payload) : Udp6(s, d, 48 + payload);
}

// One SA of the bundle between A and B: ESP (AES-GCM-16-128) or AH (HMAC-SHA-256-128). The
// keys follow the SPI, so both ends of one SPI agree.
SaConfig BundleSa(const Case& c, SaProtocol protocol, uint32_t spi, SaDirection direction,
                  bool a_side, uint32_t reqid = kReqid, bool bundle = true) {
  SaConfig s = GcmSa(spi, direction, reqid, a_side, c.mode);
  if (c.v6) {
    const IpAddress a = V4("fd00::1"), b = V4("fd00::2");
    s.local = {a_side ? a : b, 0};
    s.remote = {a_side ? b : a, 0};
  }
  s.local_ts = {Ts(a_side ? PodA(c) : PodB(c))};
  s.remote_ts = {Ts(a_side ? PodB(c) : PodA(c))};
  s.bundle = bundle;
  if (protocol == SaProtocol::kAh) {
    s.protocol = SaProtocol::kAh;
    s.algorithms.encryption_id = 0;
    s.algorithms.encryption_key_bits = 0;
    s.algorithms.encryption_key = SecretBytes();
    s.algorithms.integrity_id = 12;  // AUTH_HMAC_SHA2_256_128
    std::string key(32, '\0');
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(spi * 3 + i);
    s.algorithms.integrity_key = SecretBytes(key);
  }
  return s;
}

PolicyConfig BundlePolicy(const Case& c, SaDirection d, bool a_side, uint32_t reqid = kReqid) {
  PolicyConfig p;
  p.reqid = reqid;
  p.direction = d;
  p.mode = c.mode;
  p.local_ts = {Ts(a_side ? PodA(c) : PodB(c))};
  p.remote_ts = {Ts(a_side ? PodB(c) : PodA(c))};
  return p;
}

// The wire packet, parsed: outer header, AH, ESP.
struct Wire {
  bool v6 = false;
  size_t ip = 0;  // outer header length
  uint8_t ah_next = 0;
  size_t ah_length = 0;
  uint32_t ah_spi = 0;
  uint32_t esp_spi = 0;
  IpAddress source, destination;
};
Wire Parse(const std::vector<uint8_t>& p) {
  Wire w;
  EXPECT_GE(p.size(), 40u);
  if (p.size() < 40) return w;
  w.v6 = (p[0] >> 4) == 6;
  if (w.v6) {
    w.ip = 40;
    EXPECT_EQ(p[6], esp::kNextHeaderAh);
    EXPECT_EQ(esp::Load16(&p[4]) + 40u, p.size());
    w.source = IpAddress::FromV6Bytes(&p[8]);
    w.destination = IpAddress::FromV6Bytes(&p[24]);
  } else {
    EXPECT_EQ(p[0], 0x45);
    w.ip = 20;
    EXPECT_EQ(p[9], esp::kNextHeaderAh);
    EXPECT_EQ(esp::Load16(&p[2]), p.size());
    EXPECT_NE(esp::Load16(&p[4]), 0);  // the identification is set before the ICV
    w.source = IpAddress::FromV4Bytes(&p[12]);
    w.destination = IpAddress::FromV4Bytes(&p[16]);
  }
  // RFC 4302 §2: next header, payload length ((AH length in 32-bit words) - 2), SPI, sequence.
  w.ah_next = p[w.ip];
  w.ah_length = (size_t{p[w.ip + 1]} + 2) * 4;
  w.ah_spi = esp::Load32(&p[w.ip + 4]);
  EXPECT_GE(p.size(), w.ip + w.ah_length + esp::kEspHeaderSize);
  if (p.size() >= w.ip + w.ah_length + 4) w.esp_spi = esp::Load32(&p[w.ip + w.ah_length]);
  return w;
}

class BundlePathTest : public ::testing::TestWithParam<Case> {
 protected:
  BundlePathTest() : a_sas_(2), b_sas_(2), a_(a_sas_, aq_, a_io_), b_(b_sas_, bq_, b_io_) {
    Classify(a_, PodB(c()));
    Classify(b_, PodA(c()));
  }
  const Case& c() const { return GetParam(); }

  static void Classify(Pipeline& p, const IpAddress& peer) {
    policy::TableEntry e;
    e.id = 1;
    e.direction = policy::Direction::kOutbound;
    e.source = IpRange::Full(peer.is_v4() ? IpFamily::kV4 : IpFamily::kV6);
    e.destination = IpRange::Single(peer);
    e.action = policy::Action::kNegotiate;
    e.weight = 100;
    policy::FilterTable t;
    t.policy = "p";
    t.entries = {e};
    p.SetClassifier(std::make_shared<const policy::Classifier>(t));
  }

  // A set of four SAs per side as IKE installs them (AH first, then ESP; inbound, outbound),
  // A -> B on esp/ah, B -> A on esp + 1 / ah + 1.
  void Install(uint32_t esp, uint32_t ah, bool policies = true) {
    for (bool a_side : {true, false}) {
      SaTable& t = a_side ? a_sas_ : b_sas_;
      const uint32_t out = a_side ? 0 : 1, in = a_side ? 1 : 0;
      ASSERT_TRUE(
          t.AddSa(BundleSa(c(), SaProtocol::kAh, ah + in, SaDirection::kInbound, a_side)).ok());
      ASSERT_TRUE(
          t.AddSa(BundleSa(c(), SaProtocol::kAh, ah + out, SaDirection::kOutbound, a_side)).ok());
      ASSERT_TRUE(
          t.AddSa(BundleSa(c(), SaProtocol::kEsp, esp + in, SaDirection::kInbound, a_side)).ok());
      ASSERT_TRUE(
          t.AddSa(BundleSa(c(), SaProtocol::kEsp, esp + out, SaDirection::kOutbound, a_side)).ok());
      if (policies) {
        ASSERT_TRUE(t.AddPolicy(BundlePolicy(c(), SaDirection::kOutbound, a_side)).ok());
        ASSERT_TRUE(t.AddPolicy(BundlePolicy(c(), SaDirection::kInbound, a_side)).ok());
      }
    }
  }

  // One packet out of `from`; what went on the wire (empty: nothing).
  static std::vector<uint8_t> Send(Pipeline& p, WorkerContext& w, RecordingIo& io,
                                   const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> buffer(kBufferSize);
    std::memcpy(buffer.data() + kHeadroom, packet.data(), packet.size());
    p.Refresh(w);
    const size_t before = io.clear.size();
    p.Outbound(w, buffer.data(), buffer.size(), packet.size());
    EXPECT_TRUE(io.esp.empty());  // never ESP alone
    return io.clear.size() > before ? io.clear.back() : std::vector<uint8_t>{};
  }
  std::vector<uint8_t> SendFromA(const std::vector<uint8_t>& packet) {
    return Send(a_, wa_, a_io_, packet);
  }
  // The AH socket's way in (ah_io.h): the whole IP packet.
  static void ReceiveAh(Pipeline& p, WorkerContext& w, const std::vector<uint8_t>& wire) {
    std::vector<uint8_t> buffer(kBufferSize);
    std::copy(wire.begin(), wire.end(), buffer.begin() + kHeadroom);
    p.Refresh(w);
    p.InboundAh(w, buffer.data(), buffer.size(), kHeadroom, wire.size());
  }
  void ReceiveAtB(const std::vector<uint8_t>& wire) { ReceiveAh(b_, wb_, wire); }

  // What B should deliver for A's `packet`: tunnel mode the packet itself; transport mode the
  // same addresses, protocol and upper-layer bytes (the receiver writes the IP header again
  // from the outer addresses, as on the ESP path).
  void ExpectDelivered(const std::vector<uint8_t>& got, const std::vector<uint8_t>& sent) {
    if (c().mode == SaMode::kTunnel) {
      EXPECT_EQ(got, sent);
      return;
    }
    ASSERT_EQ(got.size(), sent.size());
    const size_t h = (sent[0] >> 4) == 4 ? 20 : 40;
    EXPECT_TRUE(std::equal(got.begin() + static_cast<long>(h), got.end(),
                           sent.begin() + static_cast<long>(h)));
    auto g = esp::ParseIpPacket(got), s = esp::ParseIpPacket(sent);
    ASSERT_TRUE(g && s);
    EXPECT_EQ(g->source, s->source);
    EXPECT_EQ(g->destination, s->destination);
    EXPECT_EQ(g->protocol, s->protocol);
  }

  uint64_t DropsA(DropReason r) { return a_.Counters().drops[static_cast<int>(r)]; }
  uint64_t DropsB(DropReason r) { return b_.Counters().drops[static_cast<int>(r)]; }
  uint64_t AllDropsB() {
    uint64_t n = 0;
    for (uint64_t d : b_.Counters().drops) n += d;
    return n;
  }
  uint64_t SaPackets(SaTable& t, SaProtocol p, uint32_t spi) {
    auto q = t.Query(p, spi);
    EXPECT_TRUE(q.ok());
    return q.ok() ? q->packets : 0;
  }
  // The ESP packet inside a wire packet (after the outer header and AH).
  static std::vector<uint8_t> EspOf(const std::vector<uint8_t>& wire) {
    const Wire w = Parse(wire);
    return {wire.begin() + static_cast<long>(w.ip + w.ah_length), wire.end()};
  }

  SaTable a_sas_, b_sas_;
  AcquireQueue aq_, bq_;
  RecordingIo a_io_, b_io_;
  Pipeline a_, b_;
  WorkerContext wa_{0}, wb_{1};
};

INSTANTIATE_TEST_SUITE_P(Modes, BundlePathTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = i.param.name;
                           std::replace(n.begin(), n.end(), ' ', '_');
                           return n;
                         });

TEST_P(BundlePathTest, RoundTripIsIpThenAhCarryingEsp) {
  Install(0x1000, 0x2000);
  const auto packet = PodPacket(c());
  const auto wire = SendFromA(packet);
  ASSERT_FALSE(wire.empty());
  const Wire w = Parse(wire);
  EXPECT_EQ(w.v6, c().v6);
  EXPECT_EQ(w.ah_next, esp::kNextHeaderEsp);  // RFC 4301 §4.5: AH outer, ESP inner
  EXPECT_EQ(w.ah_spi, 0x2000u);
  EXPECT_EQ(w.esp_spi, 0x1000u);
  // HMAC-SHA-256-128: 12 + 16 = 28 octets, padded to 32 on IPv6 (RFC 4302 §2.2).
  EXPECT_EQ(w.ah_length, c().v6 ? 32u : 28u);
  if (c().mode == SaMode::kTunnel) {
    // The outer header from the SA's endpoints; the pod's packet is encrypted inside ESP.
    EXPECT_EQ(w.source, V4(c().v6 ? "fd00::1" : "10.0.0.1"));
    EXPECT_EQ(w.destination, V4(c().v6 ? "fd00::2" : "10.0.0.2"));
    EXPECT_EQ(std::search(wire.begin(), wire.end(), packet.begin() + 20, packet.end()), wire.end());
  } else {
    // The pod's own addresses (RFC 4302 §3.1.1, RFC 4303 §3.1.1).
    EXPECT_EQ(w.source, PodA(c()));
    EXPECT_EQ(w.destination, PodB(c()));
  }
  ReceiveAtB(wire);
  ASSERT_EQ(b_io_.delivered.size(), 1u);
  ExpectDelivered(b_io_.delivered[0], packet);
  EXPECT_EQ(AllDropsB(), 0u);

  // And back, B -> A, on the other pair of SAs.
  const auto reply = PodPacket(c(), /*from_a=*/false);
  const auto back = Send(b_, wb_, b_io_, reply);
  ASSERT_FALSE(back.empty());
  EXPECT_EQ(Parse(back).ah_spi, 0x2001u);
  EXPECT_EQ(Parse(back).esp_spi, 0x1001u);
  ReceiveAh(a_, wa_, back);
  ASSERT_EQ(a_io_.delivered.size(), 1u);
}

TEST_P(BundlePathTest, TamperedOuterSourceIsAnIntegrityDrop) {
  Install(0x1000, 0x2000);
  auto wire = SendFromA(PodPacket(c()));
  ASSERT_FALSE(wire.empty());
  wire[c().v6 ? 23 : 15] ^= 1;  // the source address: immutable, under AH's ICV
  ReceiveAtB(wire);
  EXPECT_EQ(DropsB(DropReason::kIntegrity), 1u);
  EXPECT_TRUE(b_io_.delivered.empty());
}

TEST_P(BundlePathTest, EspSentStraightToABundledEspSaIsDropped) {
  Install(0x1000, 0x2000);
  const auto wire = SendFromA(PodPacket(c()));
  ASSERT_FALSE(wire.empty());
  // A genuine ESP packet of the bundle, without its AH (raw ESP socket or UDP 4500).
  const auto esp_packet = EspOf(wire);
  std::vector<uint8_t> buffer(kBufferSize);
  std::copy(esp_packet.begin(), esp_packet.end(), buffer.begin() + kHeadroom);
  b_.Refresh(wb_);
  b_.Inbound(wb_, buffer.data(), buffer.size(), kHeadroom, esp_packet.size(), PodA(c()));
  EXPECT_EQ(DropsB(DropReason::kBundleMismatch), 1u);
  EXPECT_TRUE(b_io_.delivered.empty());
  // Refused before the window: the same packet inside AH still goes through.
  ReceiveAtB(wire);
  EXPECT_EQ(b_io_.delivered.size(), 1u);
  EXPECT_EQ(SaPackets(b_sas_, SaProtocol::kEsp, 0x1000), 1u);
}

TEST_P(BundlePathTest, BundledAhSaCarryingAnythingButEspIsDropped) {
  Install(0x1000, 0x2000);
  // An AH-only sender with the bundled AH SA's SPI and key: AH over the pod's packet.
  SaTable t(2);
  AcquireQueue q;
  RecordingIo io;
  Pipeline sender(t, q, io);
  Classify(sender, PodB(c()));
  ASSERT_TRUE(t.AddSa(BundleSa(c(), SaProtocol::kAh, 0x2000, SaDirection::kOutbound, true, kReqid,
                               /*bundle=*/false))
                  .ok());
  ASSERT_TRUE(t.AddPolicy(BundlePolicy(c(), SaDirection::kOutbound, true)).ok());
  WorkerContext w(0);
  const auto wire = Send(sender, w, io, PodPacket(c()));
  ASSERT_FALSE(wire.empty());
  EXPECT_NE(Parse(wire).ah_next, esp::kNextHeaderEsp);
  ReceiveAtB(wire);
  EXPECT_EQ(DropsB(DropReason::kBundleMismatch), 1u);  // authentic AH, but not a bundle's
  EXPECT_EQ(DropsB(DropReason::kIntegrity), 0u);
  EXPECT_TRUE(b_io_.delivered.empty());
}

TEST_P(BundlePathTest, EspInsideAhMustBeABundledEspSaOfTheSameReqid) {
  Install(0x1000, 0x2000);
  // B also has a bundled ESP SA of another reqid (0x3000, reqid 8) and a plain ESP SA of the
  // same reqid (0x3100).
  ASSERT_TRUE(
      b_sas_.AddSa(BundleSa(c(), SaProtocol::kEsp, 0x3000, SaDirection::kInbound, false, 8)).ok());
  ASSERT_TRUE(b_sas_
                  .AddSa(BundleSa(c(), SaProtocol::kEsp, 0x3100, SaDirection::kInbound, false,
                                  kReqid, /*bundle=*/false))
                  .ok());
  for (uint32_t esp_spi : {0x3000u, 0x3100u, 0x3200u}) {
    SCOPED_TRACE(esp_spi);
    // A sender whose bundle pairs B's AH SA 0x2000 with that ESP SPI (0x3200: unknown at B).
    SaTable t(2);
    AcquireQueue q;
    RecordingIo io;
    Pipeline sender(t, q, io);
    Classify(sender, PodB(c()));
    ASSERT_TRUE(t.AddSa(BundleSa(c(), SaProtocol::kAh, 0x2000, SaDirection::kOutbound, true)).ok());
    ASSERT_TRUE(
        t.AddSa(BundleSa(c(), SaProtocol::kEsp, esp_spi, SaDirection::kOutbound, true)).ok());
    ASSERT_TRUE(t.AddPolicy(BundlePolicy(c(), SaDirection::kOutbound, true)).ok());
    WorkerContext w(0);
    auto* ah = t.Load()->outbound.find(0x2000)->second->ah_outbound.get();
    ah->SetNextSequenceForTesting(esp_spi);  // fresh sequence numbers for B's AH window
    const auto wire = Send(sender, w, io, PodPacket(c()));
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(Parse(wire).esp_spi, esp_spi);
    ReceiveAtB(wire);
  }
  EXPECT_EQ(DropsB(DropReason::kBundleMismatch), 2u);
  EXPECT_EQ(DropsB(DropReason::kNoSa), 1u);
  EXPECT_EQ(DropsB(DropReason::kIntegrity), 0u);
  EXPECT_TRUE(b_io_.delivered.empty());
  EXPECT_EQ(SaPackets(b_sas_, SaProtocol::kEsp, 0x3000), 0u);
  EXPECT_EQ(SaPackets(b_sas_, SaProtocol::kEsp, 0x3100), 0u);
}

TEST_P(BundlePathTest, HalfABundleSendsNothing) {
  // Only the ESP half outbound: dropped (no_sa), never sent as ESP alone.
  ASSERT_TRUE(
      a_sas_.AddSa(BundleSa(c(), SaProtocol::kEsp, 0x1000, SaDirection::kOutbound, true)).ok());
  ASSERT_TRUE(a_sas_.AddPolicy(BundlePolicy(c(), SaDirection::kOutbound, true)).ok());
  EXPECT_TRUE(SendFromA(PodPacket(c())).empty());
  EXPECT_EQ(DropsA(DropReason::kNoSa), 1u);
  EXPECT_EQ(a_.Counters().queued, 0u);
  EXPECT_EQ(SaPackets(a_sas_, SaProtocol::kEsp, 0x1000), 0u);
  // Only the AH half: likewise (an AH SA whose reqid has no ESP SA).
  ASSERT_TRUE(a_sas_.DeleteSa(SaProtocol::kEsp, 0x1000).ok());
  ASSERT_TRUE(
      a_sas_.AddSa(BundleSa(c(), SaProtocol::kAh, 0x2000, SaDirection::kOutbound, true)).ok());
  EXPECT_TRUE(SendFromA(PodPacket(c())).empty());
  EXPECT_EQ(DropsA(DropReason::kNoSa), 2u);
  EXPECT_EQ(SaPackets(a_sas_, SaProtocol::kAh, 0x2000), 0u);
  // Both: sent.
  ASSERT_TRUE(
      a_sas_.AddSa(BundleSa(c(), SaProtocol::kEsp, 0x1002, SaDirection::kOutbound, true)).ok());
  EXPECT_FALSE(SendFromA(PodPacket(c())).empty());
  EXPECT_TRUE(a_io_.esp.empty());
}

TEST_P(BundlePathTest, RekeyNewestSpisCarryAndOldInboundSasStillAccept) {
  Install(0x1000, 0x2000);
  const auto early = SendFromA(PodPacket(c()));  // sent on the old SAs, arrives late
  ASSERT_FALSE(early.empty());
  // The responder's order: B's new inbound ESP + AH first, A's new outbound later, one by one.
  ASSERT_TRUE(
      b_sas_.AddSa(BundleSa(c(), SaProtocol::kAh, 0x2100, SaDirection::kInbound, false)).ok());
  ASSERT_TRUE(
      b_sas_.AddSa(BundleSa(c(), SaProtocol::kEsp, 0x1100, SaDirection::kInbound, false)).ok());
  auto w = Parse(SendFromA(PodPacket(c())));
  EXPECT_EQ(w.esp_spi, 0x1000u);
  EXPECT_EQ(w.ah_spi, 0x2000u);
  ASSERT_TRUE(
      a_sas_.AddSa(BundleSa(c(), SaProtocol::kEsp, 0x1100, SaDirection::kOutbound, true)).ok());
  const auto mixed = SendFromA(PodPacket(c()));  // new ESP inside the old AH: both valid
  w = Parse(mixed);
  EXPECT_EQ(w.esp_spi, 0x1100u);
  EXPECT_EQ(w.ah_spi, 0x2000u);
  ASSERT_TRUE(
      a_sas_.AddSa(BundleSa(c(), SaProtocol::kAh, 0x2100, SaDirection::kOutbound, true)).ok());
  const auto fresh = SendFromA(PodPacket(c()));
  w = Parse(fresh);
  EXPECT_EQ(w.esp_spi, 0x1100u);
  EXPECT_EQ(w.ah_spi, 0x2100u);

  ReceiveAtB(fresh);
  ReceiveAtB(mixed);
  ReceiveAtB(early);  // the old inbound SAs still accept
  EXPECT_EQ(b_io_.delivered.size(), 3u);
  EXPECT_EQ(AllDropsB(), 0u);
  EXPECT_EQ(SaPackets(b_sas_, SaProtocol::kEsp, 0x1000), 1u);
  EXPECT_EQ(SaPackets(b_sas_, SaProtocol::kAh, 0x2000), 2u);
  EXPECT_EQ(SaPackets(b_sas_, SaProtocol::kEsp, 0x1100), 2u);
  EXPECT_EQ(SaPackets(b_sas_, SaProtocol::kAh, 0x2100), 1u);

  // The old outbound SAs deleted: the new ones go on alone.
  ASSERT_TRUE(a_sas_.DeleteSa(SaProtocol::kEsp, 0x1000).ok());
  ASSERT_TRUE(a_sas_.DeleteSa(SaProtocol::kAh, 0x2000).ok());
  w = Parse(SendFromA(PodPacket(c())));
  EXPECT_EQ(w.esp_spi, 0x1100u);
  EXPECT_EQ(w.ah_spi, 0x2100u);
}

TEST_P(BundlePathTest, RulePeerCountersCountABundledPacketOnce) {
  Install(0x1000, 0x2000);
  const auto packet = PodPacket(c());
  for (int i = 0; i < 3; ++i) ReceiveAtB(SendFromA(packet));
  ASSERT_EQ(b_io_.delivered.size(), 3u);
  auto one = [](const std::vector<RulePeerTraffic>& v) {
    EXPECT_EQ(v.size(), 1u);  // ESP and AH SAs share (rule, peer)
    return v.empty() ? RulePeerTraffic{} : v[0];
  };
  const RulePeerTraffic a = one(a_sas_.RulePeerCounters());
  EXPECT_EQ(a.packets[0], 3u);
  EXPECT_EQ(a.bytes[0], 3u * packet.size());
  const RulePeerTraffic b = one(b_sas_.RulePeerCounters());
  EXPECT_EQ(b.packets[1], 3u);
  EXPECT_EQ(b.bytes[1], 3u * packet.size());
  EXPECT_EQ(a_.Counters().packets[0], 3u);
  EXPECT_EQ(b_.Counters().packets[1], 3u);
  // Each SA counts its own traffic (the pod's bytes, as on the ESP and AH paths).
  for (auto [t, p, spi] : {std::tuple{&a_sas_, SaProtocol::kEsp, 0x1000u},
                           std::tuple{&a_sas_, SaProtocol::kAh, 0x2000u},
                           std::tuple{&b_sas_, SaProtocol::kEsp, 0x1000u},
                           std::tuple{&b_sas_, SaProtocol::kAh, 0x2000u}}) {
    auto q = t->Query(p, spi);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->packets, 3u) << spi;
    EXPECT_EQ(q->bytes, 3u * packet.size()) << spi;
  }
}

// The super-packet is IPv4 (TSO v4): the cases whose pods speak IPv4.
class BundleSegmentsTest : public BundlePathTest {};
INSTANTIATE_TEST_SUITE_P(Ipv4Pods, BundleSegmentsTest,
                         ::testing::Values(kCases[0], kCases[2], kCases[3]),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = i.param.name;
                           std::replace(n.begin(), n.end(), ' ', '_');
                           return n;
                         });

TEST_P(BundleSegmentsTest, SuperPacketSegmentsEachGetEspAndAh) {
  ASSERT_TRUE(PodA(c()).is_v4());
  Install(0x1000, 0x2000);
  a_io_.slots = true;  // the ESP-only fast path must not take a bundle's segments
  const std::vector<uint8_t> super = TcpSuperPacket(3000);
  const offload::VnetHdr h{offload::kFlagNeedsCsum, offload::kGsoTcpv4, 40, 1000, 20, 16};
  std::vector<uint8_t> buffer(kBufferSize), scratch(kBufferSize);
  std::memcpy(buffer.data() + kHeadroom, super.data(), super.size());
  auto plan = offload::PlanSplit(h, buffer.data() + kHeadroom, super.size());
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->segments, 3u);
  a_.Refresh(wa_);
  a_.OutboundSegments(wa_, *plan, buffer.data() + kHeadroom, scratch.data(), scratch.size());
  EXPECT_EQ(a_io_.committed, 0u);
  EXPECT_TRUE(a_io_.esp.empty());
  ASSERT_EQ(a_io_.clear.size(), 3u);
  for (size_t s = 0; s < plan->segments; ++s) {
    const Wire w = Parse(a_io_.clear[s]);
    EXPECT_EQ(w.ah_next, esp::kNextHeaderEsp);
    EXPECT_EQ(w.esp_spi, 0x1000u);
    ReceiveAtB(a_io_.clear[s]);
  }
  ASSERT_EQ(b_io_.delivered.size(), 3u);
  for (size_t s = 0; s < plan->segments; ++s) {
    std::vector<uint8_t> seg(kBufferSize);
    const size_t n =
        offload::WriteSegment(*plan, buffer.data() + kHeadroom, s, seg.data() + kHeadroom);
    ExpectDelivered(b_io_.delivered[s], {seg.begin() + kHeadroom, seg.begin() + kHeadroom + n});
  }
  EXPECT_EQ(SaPackets(a_sas_, SaProtocol::kAh, 0x2000), 3u);
}

struct FixedMtu final : PathMtuSource {
  int mtu = 0;
  int PathMtu(unsigned, const IpAddress&, const IpAddress&) override { return mtu; }
};

// The MTU guard counts AH too: a packet whose ESP packet alone would fit the path, but not with
// AH on top, is too big, and the ICMP error reports the largest packet that fits with both.
TEST_P(BundlePathTest, MtuGuardLeavesRoomForAh) {
  Install(0x1000, 0x2000);
  auto source = std::make_unique<FixedMtu>();
  source->mtu = 1400;
  a_.SetMtuGuard(std::make_unique<MtuGuard>(std::move(source)));
  const SaState& esp_sa = *a_sas_.Load()->outbound.find(0x1000)->second;
  const size_t ah = c().v6 ? 32 : 28;
  const size_t inner_header = PodA(c()).is_v4() ? 20 : 40;
  const size_t esp_only =
      MtuGuard::MaxInnerLength(esp_sa.config, *esp_sa.outbound, 1400, inner_header);
  const size_t both =
      MtuGuard::MaxInnerLength(esp_sa.config, *esp_sa.outbound, 1400, inner_header, ah);
  ASSERT_LT(both, esp_only);
  ASSERT_GT(both, size_t{1280});
  auto make = [&](size_t total) {
    auto p = PodA(c()).is_v4() ? UdpPacket(PodA(c()), PodB(c()), 1000, 2000, total - 28)
                               : Udp6(PodA(c()), PodB(c()), total);
    if (PodA(c()).is_v4()) {  // DF: too big is an error, not a fragmented outer packet
      p[6] |= 0x40;
      esp::Store16(&p[10], 0);
      esp::SetIpv4HeaderChecksum(p.data(), 20);
    }
    return p;
  };
  const auto fits = SendFromA(make(both));
  ASSERT_FALSE(fits.empty());
  EXPECT_LE(fits.size(), 1400u);
  EXPECT_TRUE(SendFromA(make(esp_only)).empty());  // fits ESP alone, not ESP + AH
  EXPECT_EQ(DropsA(DropReason::kTooBig), 1u);
  ASSERT_EQ(a_io_.delivered.size(), 1u);  // the ICMP error to the pod
  const auto& icmp = a_io_.delivered[0];
  const size_t reported =
      PodA(c()).is_v4() ? esp::Load16(&icmp[20 + 6]) : esp::Load32(&icmp[40 + 4]);
  EXPECT_EQ(reported, both);
}

// RFC 3715 §2.1: AH cannot cross a NAT, so neither half of a bundle is UDP-encapsulated: the
// bundled ESP SA is refused with encapsulation too, at install and on an endpoint update.
TEST_P(BundlePathTest, BundledEspSaIsNeverUdpEncapsulated) {
  SaConfig natted = BundleSa(c(), SaProtocol::kEsp, 0x1000, SaDirection::kOutbound, true);
  natted.udp_encapsulation = true;
  Status s = a_sas_.AddSa(natted);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  natted.bundle = false;
  EXPECT_TRUE(a_sas_.AddSa(natted).ok());  // plain ESP in UDP stays allowed
  ASSERT_TRUE(
      a_sas_.AddSa(BundleSa(c(), SaProtocol::kEsp, 0x1100, SaDirection::kInbound, true)).ok());
  const SaConfig plain = BundleSa(c(), SaProtocol::kEsp, 0, SaDirection::kInbound, true);
  EXPECT_FALSE(a_sas_
                   .UpdateEndpoints(SaProtocol::kEsp, 0x1100, {plain.local.address, 4500},
                                    {plain.remote.address, 4500}, true)
                   .ok());
  EXPECT_TRUE(
      a_sas_.UpdateEndpoints(SaProtocol::kEsp, 0x1100, plain.local, plain.remote, false).ok());
}

TEST(BundleMtu, TunMtuLeavesRoomForEspAndAh) {
  EXPECT_EQ(esp::kMaxAhHeaderSize, 48u);     // 12 + 32 (HMAC-SHA2-512-256), padded to 8
  EXPECT_EQ(esp::kMaxBundleOverhead, 161u);  // outer IPv6 40 + ESP 73 + AH 48, never in UDP
  EXPECT_EQ(CappedTunMtu(1400, 1500, esp::kMaxBundleOverhead), 1339);
  EXPECT_EQ(CappedTunMtu(1400, 1500), 1379);                           // ESP alone, as before
  EXPECT_EQ(CappedTunMtu(1400, 1400, esp::kMaxBundleOverhead), 1280);  // never below 1280
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
