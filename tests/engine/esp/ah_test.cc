#include "engine/esp/ah.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/crypto/integrity.h"
#include "engine/esp/checksum.h"
#include "engine/esp/inbound_sa.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/outbound_sa.h"
#include "engine/esp/udp_encap.h"
#include "tests/engine/esp/esp_test_util.h"

namespace ipsec::engine::esp {
namespace {

using testing::Hex;
using testing::KeyBytes;
using testing::Secret;

using AhResult = std::variant<AhInboundSa::Unprotected, DropReason>;

SaParams AhParams(uint16_t integrity_id, size_t key_size, bool esn = false) {
  SaParams p;
  p.spi = 0xA1A2A3A4;
  p.protocol = Protocol::kAh;
  p.mode = Mode::kTransport;
  p.transform.integrity_id = integrity_id;
  p.transform.integrity_key = Secret(KeyBytes(key_size, 0x40));
  p.transform.esn = esn;
  return p;
}

// IPv4 UDP with a Record Route option (mutable) and a Router Alert option (immutable).
Bytes Ipv4WithOptions() {
  Bytes p =
      Hex("48000030 12344000 40110000 0a000001 0a000002"
          "07070400 00000094 04000000"  // RR (len 7, ptr 4, one empty slot), Router Alert, EOL
          "13881389 00100000 01020304 05060708 090a0b0c 0d0e0f10 1112");
  p.resize(0x30);
  SetIpv4HeaderChecksum(p.data(), 32);
  return p;
}

Bytes Ipv4Simple() {
  Bytes p = Hex("45000024 00010000 40060000 c0000201 c6336402 03e801bb 00000001 00000000 aabbccdd");
  SetIpv4HeaderChecksum(p.data(), 20);
  return p;
}

// IPv6 with a hop-by-hop header carrying an option that may change en route (type 0x3e has
// bit 0x20 set) and one that may not (type 0x1e), then UDP.
Bytes Ipv6WithHopByHop() {
  return Hex(
      "6012345a 00180040 20010db8000000000000000000000001 20010db8000000000000000000000002"
      "1100 3e02 aaaa 1e00"  // hop-by-hop: next UDP, len 0 | 3e len 2 aaaa | 1e len 0
      "13881389 0010 0000 6162636465666768");
}

struct Pair {
  std::unique_ptr<AhOutboundSa> out;
  std::unique_ptr<AhInboundSa> in;
};

Pair MakePair(const SaParams& p) {
  auto out = AhOutboundSa::Create(p);
  auto in = AhInboundSa::Create(p);
  EXPECT_TRUE(out.ok() && in.ok());
  if (!out.ok() || !in.ok()) return {};
  return {std::move(out).value(), std::move(in).value()};
}

Bytes Protect(AhOutboundSa& sa, const Bytes& packet) {
  testing::PacketBuffer buf(packet, sa.headroom(), 0);
  auto p = sa.Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, buf.length);
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  if (!p.ok()) return {};
  return Bytes(buf.bytes.begin() + static_cast<long>(p->offset),
               buf.bytes.begin() + static_cast<long>(p->offset + p->length));
}

AhResult UnprotectCopy(AhInboundSa& sa, Bytes packet, Bytes* out = nullptr) {
  AhResult r = sa.Unprotect(0, packet.data(), packet.size());
  if (out != nullptr && std::holds_alternative<AhInboundSa::Unprotected>(r)) {
    const auto& u = std::get<AhInboundSa::Unprotected>(r);
    *out = Bytes(packet.begin() + static_cast<long>(u.offset),
                 packet.begin() + static_cast<long>(u.offset + u.length));
  }
  return r;
}

DropReason DropOf(const AhResult& r) {
  EXPECT_TRUE(std::holds_alternative<DropReason>(r)) << "accepted";
  return std::holds_alternative<DropReason>(r) ? std::get<DropReason>(r) : DropReason::kInternal;
}

TEST(AhTest, HeaderSizes) {
  // RFC 4302 §3.3.3.2.1: 32-bit alignment for IPv4, 64-bit for IPv6.
  EXPECT_EQ(AhHeaderSize(12, false), 24u);
  EXPECT_EQ(AhHeaderSize(12, true), 24u);
  EXPECT_EQ(AhHeaderSize(16, false), 28u);
  EXPECT_EQ(AhHeaderSize(16, true), 32u);
  EXPECT_EQ(AhHeaderSize(24, true), 40u);
  EXPECT_EQ(AhHeaderSize(32, false), 44u);
  EXPECT_EQ(AhHeaderSize(32, true), 48u);
}

TEST(AhTest, RoundTripEveryIntegrityAndFamily) {
  const std::pair<uint16_t, size_t> integrities[] = {{kAuthHmacSha2_256_128, 32},
                                                     {kAuthHmacSha2_384_192, 48},
                                                     {kAuthHmacSha2_512_256, 64},
                                                     {kAuthHmacSha1_96, 20},
                                                     {kAuthHmacMd5_96, 16}};
  for (const auto& [id, key] : integrities) {
    for (bool esn : {false, true}) {
      for (const Bytes& original : {Ipv4Simple(), Ipv4WithOptions(), Ipv6WithHopByHop()}) {
        SCOPED_TRACE(std::string(IntegrityIdName(id)) + (esn ? " ESN" : "") + " " +
                     ToHex(ByteSpan(original).first(1)));
        Pair sa = MakePair(AhParams(id, key, esn));
        ASSERT_TRUE(sa.out && sa.in);
        const Bytes sent = Protect(*sa.out, original);
        const bool v6 = IpVersion(original) == 6;
        const size_t icv = ResolveTransform(Protocol::kAh, AhParams(id, key).transform)->icv_size;
        ASSERT_EQ(sent.size(), original.size() + AhHeaderSize(icv, v6));
        auto info = ParseIpPacket(sent);
        ASSERT_TRUE(info.has_value());
        if (!v6) {
          EXPECT_EQ(sent[9], kNextHeaderAh);
          EXPECT_EQ(InternetChecksum(ByteSpan(sent.data(), (sent[0] & 15) * 4)), 0);
        }
        Bytes received;
        auto r = UnprotectCopy(*sa.in, sent, &received);
        ASSERT_TRUE(std::holds_alternative<AhInboundSa::Unprotected>(r))
            << DropReasonName(std::get<DropReason>(r));
        EXPECT_EQ(ToHex(received), ToHex(original));
        EXPECT_EQ(std::get<AhInboundSa::Unprotected>(r).sequence, 1u);
        EXPECT_EQ(DropOf(UnprotectCopy(*sa.in, sent)), DropReason::kReplay);
      }
    }
  }
}

// RFC 4302 §3.3.3.1: fields routers change (TTL, TOS, checksum, hop limit, flow label,
// record-route data, options marked as changing) do not break the ICV; anything else does.
TEST(AhTest, MutableFieldsMayChangeImmutableMayNot) {
  Pair sa = MakePair(AhParams(kAuthHmacSha2_256_128, 32));
  ASSERT_TRUE(sa.out && sa.in);
  // IPv4.
  Bytes v4 = Protect(*sa.out, Ipv4WithOptions());
  Bytes routed = v4;
  routed[1] = 0xb8;   // TOS/DSCP
  routed[8] = 1;      // TTL
  routed[6] = 0x00;   // DF cleared
  routed[23] = 0xc6;  // record-route slot filled
  SetIpv4HeaderChecksum(routed.data(), 32);
  EXPECT_TRUE(std::holds_alternative<AhInboundSa::Unprotected>(UnprotectCopy(*sa.in, routed)));
  for (size_t i : std::vector<size_t>{12, 16, 29, 30, 34, 37, 45, 60, v4.size() - 1}) {
    Bytes bad = Protect(*sa.out, Ipv4WithOptions());
    bad[i] ^= 0x01;
    EXPECT_EQ(DropOf(UnprotectCopy(*sa.in, bad)),
              i >= 32 + 4 && i < 32 + 8 ? DropReason::kMalformed : DropReason::kIntegrity)
        << i;
  }
  // IPv6.
  Bytes v6 = Protect(*sa.out, Ipv6WithHopByHop());
  routed = v6;
  routed[1] ^= 0xff;  // traffic class + flow label
  routed[3] ^= 0x55;
  routed[7] = 3;      // hop limit
  routed[44] = 0xbb;  // data of option 0x3e (may change)
  EXPECT_TRUE(std::holds_alternative<AhInboundSa::Unprotected>(UnprotectCopy(*sa.in, routed)));
  for (size_t i : std::vector<size_t>{9, 30, 46, 48, 60, v6.size() - 1}) {
    Bytes bad = Protect(*sa.out, Ipv6WithHopByHop());
    bad[i] ^= 0x01;
    EXPECT_NE(DropOf(UnprotectCopy(*sa.in, bad)), DropReason::kReplay) << i;
  }
}

// The ICV checked independently: HMAC-SHA-256-128 over the IPv4 header with TOS, flags,
// TTL and checksum zeroed, AH with a zero ICV, and the payload (RFC 4302 §3.3.3).
TEST(AhTest, IcvIsOverTheZeroedHeader) {
  const SaParams params = AhParams(kAuthHmacSha2_256_128, 32);
  Pair sa = MakePair(params);
  ASSERT_TRUE(sa.out);
  Bytes sent = Protect(*sa.out, Ipv4Simple());
  ASSERT_EQ(sent.size(), 36u + 28u);
  EXPECT_EQ(sent[20], kNextHeaderTcp);  // AH next header
  EXPECT_EQ(sent[21], 28 / 4 - 2);      // payload length
  EXPECT_EQ(Load32(&sent[24]), params.spi);
  EXPECT_EQ(Load32(&sent[28]), 1u);
  Bytes zeroed = sent;
  zeroed[1] = 0;
  zeroed[6] = zeroed[7] = zeroed[8] = 0;
  zeroed[10] = zeroed[11] = 0;
  std::memset(&zeroed[32], 0, 16);
  auto mac =
      crypto::Integrity::Create(crypto::IntegrityAlgorithm::kHmacSha256_128, KeyBytes(32, 0x40));
  ASSERT_TRUE(mac.ok());
  uint8_t icv[16];
  ASSERT_TRUE(mac->Compute(zeroed, icv).ok());
  EXPECT_EQ(ToHex(ByteSpan(&sent[32], 16)), ToHex(ByteSpan(icv, 16)));
}

// Tunnel mode: the caller puts the outer header in front; AH's next header is 4.
TEST(AhTest, TunnelModeWithOuterHeader) {
  SaParams params = AhParams(kAuthHmacSha2_256_128, 32);
  params.mode = Mode::kTunnel;
  Pair sa = MakePair(params);
  ASSERT_TRUE(sa.out && sa.in);
  const Bytes inner = Ipv4Simple();
  Bytes outer(20 + inner.size());
  ASSERT_TRUE(WriteIpv4Header(outer.data(), *IpAddress::Parse("192.0.2.1"),
                              *IpAddress::Parse("192.0.2.2"), kNextHeaderIpv4, inner.size(), 1,
                              false));
  std::copy(inner.begin(), inner.end(), outer.begin() + 20);
  Bytes sent = Protect(*sa.out, outer);
  EXPECT_EQ(sent[20], kNextHeaderIpv4);
  Bytes got(sent);
  auto r = sa.in->Unprotect(0, got.data(), got.size());
  ASSERT_TRUE(std::holds_alternative<AhInboundSa::Unprotected>(r));
  const auto& u = std::get<AhInboundSa::Unprotected>(r);
  EXPECT_EQ(u.next_header, kNextHeaderIpv4);
  EXPECT_EQ(ToHex(ByteSpan(got).subspan(u.payload_offset, inner.size())), ToHex(inner));
}

// FAQ 46 / RFC 4301 §4.5: ESP inner, AH outer, both transport mode.
TEST(AhTest, AhEspBundle) {
  SaParams esp_params =
      testing::MakeParams(testing::AllEspTransforms()[0], false, Mode::kTransport, 0xE5E5E5E5);
  auto esp_out = OutboundSa::Create(esp_params);
  auto esp_in = InboundSa::Create(esp_params);
  Pair ah = MakePair(AhParams(kAuthHmacSha2_256_128, 32));
  ASSERT_TRUE(esp_out.ok() && esp_in.ok() && ah.out && ah.in);
  const Bytes original = Ipv4Simple();
  // ESP first, on the transport payload.
  const size_t l4 = 20, l4_len = original.size() - 20;
  const size_t head = ah.out->headroom() + 20 + (*esp_out)->headroom();
  Bytes buf(head + l4_len + (*esp_out)->max_tailroom(), 0);
  std::copy(original.begin() + l4, original.end(), buf.begin() + static_cast<long>(head));
  auto e = (*esp_out)->Protect(0, buf.data(), buf.size(), head, l4_len, original[9]);
  ASSERT_TRUE(e.ok());
  // Then the IP header (protocol ESP) in front of the ESP packet.
  const size_t ip_at = e->offset - 20;
  std::copy(original.begin(), original.begin() + 20, buf.begin() + static_cast<long>(ip_at));
  buf[ip_at + 9] = kNextHeaderEsp;
  Store16(&buf[ip_at + 2], static_cast<uint16_t>(20 + e->length));
  SetIpv4HeaderChecksum(&buf[ip_at], 20);
  // Then AH, outer.
  auto a = ah.out->Protect(0, buf.data(), buf.size(), ip_at, 20 + e->length);
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  Bytes wire(buf.begin() + static_cast<long>(a->offset),
             buf.begin() + static_cast<long>(a->offset + a->length));
  EXPECT_EQ(wire[9], kNextHeaderAh);
  EXPECT_EQ(wire[20], kNextHeaderEsp);
  // Receive: AH, then ESP.
  auto ra = ah.in->Unprotect(0, wire.data(), wire.size());
  ASSERT_TRUE(std::holds_alternative<AhInboundSa::Unprotected>(ra));
  const auto& ua = std::get<AhInboundSa::Unprotected>(ra);
  EXPECT_EQ(ua.next_header, kNextHeaderEsp);
  uint8_t* esp = wire.data() + ua.payload_offset;
  auto re = (*esp_in)->Unprotect(0, esp, ua.offset + ua.length - ua.payload_offset);
  ASSERT_TRUE(std::holds_alternative<InboundSa::Unprotected>(re));
  const auto& ue = std::get<InboundSa::Unprotected>(re);
  EXPECT_EQ(ue.next_header, kNextHeaderTcp);
  EXPECT_EQ(ToHex(ByteSpan(esp + ue.payload_offset, ue.payload_length)),
            ToHex(ByteSpan(original).subspan(20)));
}

TEST(AhTest, BadInputIsDropped) {
  Pair sa = MakePair(AhParams(kAuthHmacSha2_256_128, 32));
  ASSERT_TRUE(sa.out && sa.in);
  const Bytes sent = Protect(*sa.out, Ipv4Simple());
  for (size_t n = 0; n < sent.size(); ++n) {
    Bytes cut(sent.begin(), sent.begin() + static_cast<long>(n));
    const DropReason d = DropOf(UnprotectCopy(*sa.in, cut));
    EXPECT_TRUE(d == DropReason::kMalformed || d == DropReason::kIntegrity) << n;
  }
  Bytes not_ah = Ipv4Simple();
  EXPECT_EQ(DropOf(UnprotectCopy(*sa.in, not_ah)), DropReason::kMalformed);
  Bytes fragment = sent;
  fragment[6] = 0x20;  // MF
  SetIpv4HeaderChecksum(fragment.data(), 20);
  EXPECT_EQ(DropOf(UnprotectCopy(*sa.in, fragment)), DropReason::kUnsupported);
  EXPECT_TRUE(std::holds_alternative<AhInboundSa::Unprotected>(UnprotectCopy(*sa.in, sent)));
  // Outbound: not an IP packet, no headroom.
  Bytes junk(40, 0x11);
  EXPECT_FALSE(sa.out->Protect(0, junk.data(), junk.size(), 30, 10).ok());
  Bytes ok = Ipv4Simple();
  EXPECT_FALSE(sa.out->Protect(0, ok.data(), ok.size(), 0, ok.size()).ok());
  // ESP transforms are refused.
  EXPECT_FALSE(
      AhOutboundSa::Create(testing::MakeParams(testing::AllEspTransforms()[0], false)).ok());
}

TEST(AhTest, RoutingHeaderInTransitIsUnsupported) {
  Pair sa = MakePair(AhParams(kAuthHmacSha2_256_128, 32));
  ASSERT_TRUE(sa.out && sa.in);
  // IPv6 with a type 4 (SRH-like) routing header with segments left 1, then UDP.
  Bytes p =
      Hex("60000000 00202b40 20010db8000000000000000000000001 20010db8000000000000000000000002"
          "11020401 00000000 20010db8000000000000000000000003"
          "13881389 0008 0000");
  p[5] = static_cast<uint8_t>(p.size() - 40);
  testing::PacketBuffer buf(p, sa.out->headroom(), 0);
  auto r = sa.out->Protect(0, buf.bytes.data(), buf.bytes.size(), buf.offset, buf.length);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnimplemented);
}

}  // namespace
}  // namespace ipsec::engine::esp
