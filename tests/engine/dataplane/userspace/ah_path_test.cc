// AH (RFC 4302) in the userspace data path (engine/dataplane/userspace/ah_path.cc) with a fake
// PacketIo: A protects with its outbound AH SA (transport and tunnel mode, IPv4 and IPv6
// outer headers), the whole IP packet leaves through SendClear, B verifies it with InboundAh
// and delivers the original packet. Tampering with the payload or an immutable header field
// is an integrity drop, a changed mutable field (TTL, hop limit, flow label) is not (RFC 4302
// §3.3.3.1); replays, unknown SPIs and runts are counted by reason; AH across a NAT is refused
// at install.

#include <gtest/gtest.h>

#include <algorithm>

#include <cstring>

#include "engine/dataplane/userspace/pipeline.h"
#include "engine/esp/esp_wire.h"
#include "engine/esp/udp_encap.h"
#include "tests/engine/dataplane/userspace/test_packets.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

using namespace testing;

policy::TableEntry Negotiate(const IpAddress& dst) {
  policy::TableEntry e;
  e.id = 1;
  e.direction = policy::Direction::kOutbound;
  e.source = IpRange::Full(IpFamily::kV4);
  e.destination = IpRange::Single(dst);
  e.action = policy::Action::kNegotiate;
  e.weight = 100;
  return e;
}

// One direction of an AH HMAC-SHA-256-128 SA between A (10.0.0.1) and B (10.0.0.2); the outer
// endpoints may be IPv6 (tunnel mode over IPv6).
SaConfig AhSa(uint32_t spi, SaDirection direction, bool a_side, SaMode mode,
              bool outer_v6 = false) {
  SaConfig c = GcmSa(spi, direction, 7, a_side, mode);
  c.protocol = SaProtocol::kAh;
  c.algorithms.encryption_id = 0;
  c.algorithms.encryption_key_bits = 0;
  c.algorithms.encryption_key = SecretBytes();
  c.algorithms.integrity_id = 12;  // AUTH_HMAC_SHA2_256_128
  std::string key(32, '\0');
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(spi * 3 + i);
  c.algorithms.integrity_key = SecretBytes(key);
  if (outer_v6) {
    const IpAddress a = *IpAddress::Parse("fd00::1"), b = *IpAddress::Parse("fd00::2");
    c.local = {a_side ? a : b, 0};
    c.remote = {a_side ? b : a, 0};
  }
  return c;
}

class AhPathTest : public ::testing::Test {
 protected:
  AhPathTest() : a_sas_(2), b_sas_(2), a_(a_sas_, a_queue_, a_io_), b_(b_sas_, b_queue_, b_io_) {
    policy::FilterTable t;
    t.policy = "p";
    t.entries = {Negotiate(V4("10.0.0.2"))};
    a_.SetClassifier(std::make_shared<const policy::Classifier>(t));
  }

  void Install(SaMode mode, bool outer_v6 = false, uint32_t spi = 0x5000) {
    ASSERT_TRUE(a_sas_.AddSa(AhSa(spi, SaDirection::kOutbound, true, mode, outer_v6)).ok());
    ASSERT_TRUE(a_sas_.AddPolicy(Policy(7, SaDirection::kOutbound, true)).ok());
    ASSERT_TRUE(b_sas_.AddSa(AhSa(spi, SaDirection::kInbound, false, mode, outer_v6)).ok());
  }

  // A's packet out; returns what went on the wire (empty: nothing).
  std::vector<uint8_t> SendFromA(const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> buffer(kBufferSize);
    std::memcpy(buffer.data() + kHeadroom, packet.data(), packet.size());
    a_.Refresh(wa_);
    const size_t before = a_io_.clear.size();
    a_.Outbound(wa_, buffer.data(), buffer.size(), packet.size());
    return a_io_.clear.size() > before ? a_io_.clear.back() : std::vector<uint8_t>{};
  }

  void ReceiveAtB(const std::vector<uint8_t>& wire) {
    std::vector<uint8_t> buffer(kBufferSize);
    std::copy(wire.begin(), wire.end(), buffer.begin() + kHeadroom);  // may be empty
    b_.Refresh(wb_);
    b_.InboundAh(wb_, buffer.data(), buffer.size(), kHeadroom, wire.size());
  }

  uint64_t DropsB(DropReason r) { return b_.Counters().drops[static_cast<int>(r)]; }
  uint64_t AllDropsB() {
    uint64_t n = 0;
    for (uint64_t d : b_.Counters().drops) n += d;
    return n;
  }

  SaTable a_sas_, b_sas_;
  AcquireQueue a_queue_, b_queue_;
  RecordingIo a_io_, b_io_;
  Pipeline a_, b_;
  WorkerContext wa_{0}, wb_{1};
};

TEST_F(AhPathTest, TransportRoundTripKeepsThePodsHeaderAndAddsAh) {
  Install(SaMode::kTransport);
  const auto packet = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 100);
  const auto wire = SendFromA(packet);
  ASSERT_FALSE(wire.empty());
  EXPECT_TRUE(a_io_.esp.empty());
  EXPECT_EQ(wire[0], 0x45);
  EXPECT_EQ(wire[9], esp::kNextHeaderAh);  // RFC 4302 §3.1.1: AH after the original header
  EXPECT_EQ(0, std::memcmp(&wire[12], &packet[12], 8));  // the pod's own addresses
  EXPECT_EQ(wire[20], 17);                               // AH's next header: UDP
  EXPECT_EQ(esp::Load32(&wire[24]), 0x5000u);            // SPI
  EXPECT_EQ(esp::Load32(&wire[28]), 1u);                 // first sequence number
  // 12 octets of AH + a 16-octet ICV (HMAC-SHA-256-128), IPv4: a multiple of 4.
  EXPECT_EQ(wire.size(), packet.size() + 28);
  EXPECT_EQ(esp::Load16(&wire[2]), wire.size());
  EXPECT_EQ(a_.Counters().packets[0], 1u);

  ReceiveAtB(wire);
  ASSERT_EQ(b_io_.delivered.size(), 1u);
  EXPECT_EQ(b_io_.delivered[0], packet);  // header restored, checksum included
  EXPECT_EQ(b_.Counters().packets[1], 1u);
  EXPECT_EQ(AllDropsB(), 0u);
}

TEST_F(AhPathTest, TunnelRoundTripOverIpv4AndIpv6OuterHeaders) {
  for (bool outer_v6 : {false, true}) {
    SCOPED_TRACE(outer_v6 ? "outer IPv6" : "outer IPv4");
    SaTable fresh_a(2), fresh_b(2);
    AcquireQueue qa, qb;
    RecordingIo ia, ib;
    Pipeline a(fresh_a, qa, ia), b(fresh_b, qb, ib);
    policy::FilterTable t;
    t.entries = {Negotiate(V4("10.0.0.2"))};
    a.SetClassifier(std::make_shared<const policy::Classifier>(t));
    ASSERT_TRUE(
        fresh_a.AddSa(AhSa(0x6000, SaDirection::kOutbound, true, SaMode::kTunnel, outer_v6)).ok());
    ASSERT_TRUE(fresh_a.AddPolicy(Policy(7, SaDirection::kOutbound, true)).ok());
    ASSERT_TRUE(
        fresh_b.AddSa(AhSa(0x6000, SaDirection::kInbound, false, SaMode::kTunnel, outer_v6)).ok());
    const auto packet = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 64);
    std::vector<uint8_t> buffer(kBufferSize);
    std::memcpy(buffer.data() + kHeadroom, packet.data(), packet.size());
    WorkerContext wa(0), wb(1);
    a.Refresh(wa);
    a.Outbound(wa, buffer.data(), buffer.size(), packet.size());
    ASSERT_EQ(ia.clear.size(), 1u);
    std::vector<uint8_t> wire = ia.clear[0];
    const size_t ip = outer_v6 ? 40 : 20;
    // AH: 12 + a 16-octet ICV = 28, a multiple of 4 (IPv4) but not of 8: IPv6 pads it to 32
    // (RFC 4302 §2.2).
    const size_t ah = outer_v6 ? 32 : 28;
    ASSERT_EQ(wire.size(), ip + ah + packet.size());
    if (outer_v6) {
      EXPECT_EQ(wire[0] >> 4, 6);
      EXPECT_EQ(wire[6], esp::kNextHeaderAh);
    } else {
      EXPECT_EQ(wire[0], 0x45);
      EXPECT_EQ(wire[9], esp::kNextHeaderAh);
      EXPECT_NE(esp::Load16(&wire[4]), 0);  // identification set before the ICV
      EXPECT_EQ(V4("10.0.0.1"), IpAddress::FromV4Bytes(&wire[12]));
    }
    EXPECT_EQ(wire[ip], esp::kNextHeaderIpv4);  // AH's next header: the inner IPv4 packet
    EXPECT_EQ(0, std::memcmp(&wire[ip + ah], packet.data(), packet.size()));  // in clear: AH

    // Mutable fields may change on the way (RFC 4302 §3.3.3.1): TTL / hop limit, and on IPv6
    // the traffic class and flow label (the raw IPv6 socket does not report them: ah_io.h
    // rebuilds the header with zeros).
    if (outer_v6) {
      wire[7] = 3;
      wire[1] = 0x0f;
      wire[3] = 0x42;
    } else {
      wire[8] = 3;
    }
    std::vector<uint8_t> in(kBufferSize);
    std::memcpy(in.data() + kHeadroom, wire.data(), wire.size());
    b.Refresh(wb);
    b.InboundAh(wb, in.data(), in.size(), kHeadroom, wire.size());
    ASSERT_EQ(ib.delivered.size(), 1u);
    EXPECT_EQ(ib.delivered[0], packet);
  }
}

TEST_F(AhPathTest, ZeroIdentificationIsSetBeforeTheIcv) {
  Install(SaMode::kTransport);
  auto packet = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000);
  esp::Store16(&packet[4], 0);  // Linux sends DF datagrams of unconnected sockets with ID 0
  packet[6] = 0x40;
  esp::Store16(&packet[10], 0);
  esp::SetIpv4HeaderChecksum(packet.data(), 20);
  const auto wire = SendFromA(packet);
  ASSERT_FALSE(wire.empty());
  EXPECT_NE(esp::Load16(&wire[4]), 0);  // the kernel would otherwise fill it after the ICV
  ReceiveAtB(wire);
  ASSERT_EQ(b_io_.delivered.size(), 1u);
  EXPECT_EQ(AllDropsB(), 0u);
}

TEST_F(AhPathTest, TamperingIsAnIntegrityDropAndMutableFieldsAreNot) {
  Install(SaMode::kTransport);
  std::vector<std::vector<uint8_t>> wires;
  for (int i = 0; i < 5; ++i) {
    wires.push_back(SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000, 40)));
  }
  auto payload = wires[0];
  payload.back() ^= 1;  // the UDP payload
  ReceiveAtB(payload);
  auto source = wires[1];
  source[15] ^= 1;  // the source address: immutable (RFC 4302 §3.3.3.1.1.1)
  ReceiveAtB(source);
  auto protocol_field = wires[2];
  protocol_field[20] = 6;  // AH's next header
  ReceiveAtB(protocol_field);
  EXPECT_EQ(DropsB(DropReason::kIntegrity), 3u);
  EXPECT_TRUE(b_io_.delivered.empty());

  auto ttl = wires[3];
  ttl[8] = 1;       // TTL: mutable
  ttl[1] = 0xb8;    // DSCP/ECN: mutable
  ttl[10] ^= 0xff;  // header checksum: mutable
  ReceiveAtB(ttl);
  EXPECT_EQ(b_io_.delivered.size(), 1u);
  EXPECT_EQ(DropsB(DropReason::kIntegrity), 3u);

  // A failed ICV does not move the window (check, authenticate, then commit): the genuine
  // packets still go through.
  ReceiveAtB(wires[0]);
  ReceiveAtB(wires[4]);
  EXPECT_EQ(b_io_.delivered.size(), 3u);
}

TEST_F(AhPathTest, ReplayUnknownSpiAndRuntsAreCountedByReason) {
  Install(SaMode::kTunnel);
  const auto wire = SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000));
  ASSERT_FALSE(wire.empty());
  ReceiveAtB(wire);
  ReceiveAtB(wire);
  EXPECT_EQ(DropsB(DropReason::kReplay), 1u);
  EXPECT_EQ(b_io_.delivered.size(), 1u);

  auto other = wire;
  esp::Store32(&other[24], 0x7777);
  ReceiveAtB(other);
  EXPECT_EQ(DropsB(DropReason::kNoSa), 1u);

  ReceiveAtB({});  // AhSockets: an IPv6 packet it cannot rebuild
  ReceiveAtB(std::vector<uint8_t>(wire.begin(), wire.begin() + 30));  // cut inside AH
  auto not_ah = wire;
  not_ah[9] = 50;
  ReceiveAtB(not_ah);
  EXPECT_EQ(DropsB(DropReason::kMalformed), 3u);
  EXPECT_EQ(b_io_.delivered.size(), 1u);
}

TEST_F(AhPathTest, EspSpiDoesNotReachAnAhSaNorTheOtherWayRound) {
  Install(SaMode::kTunnel);
  // ESP for the AH SA's SPI: the ESP path finds no ESP context.
  std::vector<uint8_t> esp_packet(64, 0);
  esp::Store32(esp_packet.data(), 0x5000);
  esp::Store32(esp_packet.data() + 4, 1);
  std::vector<uint8_t> buffer(kBufferSize);
  std::memcpy(buffer.data() + kHeadroom, esp_packet.data(), esp_packet.size());
  b_.Refresh(wb_);
  b_.Inbound(wb_, buffer.data(), buffer.size(), kHeadroom, esp_packet.size(), V4("10.0.0.1"));
  EXPECT_EQ(DropsB(DropReason::kNoSa), 1u);
  // AH for an ESP SA's SPI likewise.
  ASSERT_TRUE(b_sas_.AddSa(GcmSa(0x9000, SaDirection::kInbound, 8, false)).ok());
  auto wire = SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1000, 2000));
  esp::Store32(&wire[24], 0x9000);
  ReceiveAtB(wire);
  EXPECT_EQ(DropsB(DropReason::kNoSa), 2u);
}

TEST_F(AhPathTest, InnerPacketOutsideTheSelectorsIsDropped) {
  Install(SaMode::kTunnel);
  // B's SA expects 10.0.0.1 -> 10.0.0.2; A's policy is made wider so it sends 10.0.0.9 too.
  PolicyConfig wide = Policy(7, SaDirection::kOutbound, true);
  wide.local_ts = {};
  ASSERT_TRUE(a_sas_.AddPolicy(wide).ok());
  const auto wire = SendFromA(UdpPacket(V4("10.0.0.9"), V4("10.0.0.2"), 1000, 2000));
  ASSERT_FALSE(wire.empty());
  ReceiveAtB(wire);
  EXPECT_EQ(DropsB(DropReason::kTsMismatch), 1u);
  EXPECT_TRUE(b_io_.delivered.empty());
}

TEST_F(AhPathTest, AhAcrossANatIsRefusedAtInstallAndOnEndpointUpdate) {
  SaConfig natted = AhSa(0x5100, SaDirection::kOutbound, true, SaMode::kTunnel);
  natted.udp_encapsulation = true;
  Status s = a_sas_.AddSa(natted);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message.find("AH cannot cross a NAT"), std::string::npos);

  ASSERT_TRUE(a_sas_.AddSa(AhSa(0x5200, SaDirection::kOutbound, true, SaMode::kTunnel)).ok());
  s = a_sas_.UpdateEndpoints(SaProtocol::kAh, 0x5200, {V4("10.0.0.1"), 4500},
                             {V4("10.0.0.2"), 4500}, /*udp_encapsulation=*/true);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(
      a_sas_
          .UpdateEndpoints(SaProtocol::kAh, 0x5200, {V4("10.0.0.5"), 0}, {V4("10.0.0.2"), 0}, false)
          .ok());
  // ESP in UDP stays allowed.
  SaConfig esp_natted = GcmSa(0x5300, SaDirection::kOutbound, 9, true);
  esp_natted.udp_encapsulation = true;
  EXPECT_TRUE(a_sas_.AddSa(esp_natted).ok());
}

TEST_F(AhPathTest, PerSaCountersCountAhTraffic) {
  ASSERT_TRUE(a_sas_.AddSa(AhSa(0x5400, SaDirection::kOutbound, true, SaMode::kTransport)).ok());
  ASSERT_TRUE(a_sas_.AddPolicy(Policy(7, SaDirection::kOutbound, true)).ok());
  for (int i = 0; i < 3; ++i) SendFromA(UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 40));
  auto q = a_sas_.Query(SaProtocol::kAh, 0x5400);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->packets, 3u);
  EXPECT_EQ(q->bytes, 3u * 68);  // the pod's packets, as for ESP
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace
