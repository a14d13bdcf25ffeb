// offload: TUN super-packet segmentation (TSO/USO), checksum completion, and the TCP
// coalescer (GRO for TUN writes). Checksums are verified with engine/esp's independent
// RFC 1071 implementation, never with offload's own.

#include "engine/dataplane/userspace/offload.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <cstring>
#include <random>
#include <vector>

#include "engine/esp/checksum.h"

namespace ipsec::engine::dataplane::userspace::offload {
namespace {

using Bytes = std::vector<uint8_t>;

uint16_t L16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t L32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void S16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void S32(uint8_t* p, uint32_t v) {
  S16(p, static_cast<uint16_t>(v >> 16));
  S16(p + 2, static_cast<uint16_t>(v));
}

// The pseudo-header, built by hand (RFC 9293 §3.1, RFC 8200 §8.1).
Bytes Pseudo(const uint8_t* ip, bool v4, uint8_t proto, size_t l4_length) {
  Bytes b(v4 ? 12 : 40, 0);
  if (v4) {
    std::memcpy(b.data(), ip + 12, 8);
    b[9] = proto;
    S16(&b[10], static_cast<uint16_t>(l4_length));
  } else {
    std::memcpy(b.data(), ip + 8, 32);
    S16(&b[34], static_cast<uint16_t>(l4_length));
    b[39] = proto;
  }
  return b;
}

// True when the TCP/UDP checksum of the IP packet verifies (esp's RFC 1071 code).
bool L4ChecksumOk(const uint8_t* ip, size_t length) {
  const bool v4 = (ip[0] >> 4) == 4;
  const size_t ihl = v4 ? (ip[0] & 15) * 4u : 40u;
  const uint8_t proto = v4 ? ip[9] : ip[6];
  Bytes ph = Pseudo(ip, v4, proto, length - ihl);
  uint32_t s = esp::ChecksumAdd(0, ByteSpan(ph.data(), ph.size()));
  s = esp::ChecksumAdd(s, ByteSpan(ip + ihl, length - ihl));
  return esp::ChecksumFinish(s) == 0;
}
bool Ipv4HeaderOk(const uint8_t* ip) {
  return esp::InternetChecksum(ByteSpan(ip, (ip[0] & 15) * 4u)) == 0;
}

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A TCP packet (IPv4 or IPv6) with a 12-octet timestamp option block, `payload` octets.
Bytes Tcp(bool v4, uint32_t seq, uint8_t flags, const Bytes& payload, uint32_t ack = 777,
          uint16_t sport = 40000, uint32_t tsval = 1) {
  const size_t ihl = v4 ? 20 : 40, thl = 32;
  Bytes p(ihl + thl + payload.size(), 0);
  if (v4) {
    p[0] = 0x45;
    S16(&p[2], static_cast<uint16_t>(p.size()));
    S16(&p[4], 0x1000);
    p[6] = 0x40;  // DF
    p[8] = 64;
    p[9] = 6;
    const uint8_t a[8] = {10, 1, 0, 1, 10, 2, 0, 2};
    std::memcpy(&p[12], a, 8);
    S16(&p[10], esp::InternetChecksum(ByteSpan(p.data(), 20)));
  } else {
    p[0] = 0x60;
    S16(&p[4], static_cast<uint16_t>(p.size() - 40));
    p[6] = 6;
    p[7] = 64;
    p[8] = 0xfd;
    p[23] = 1;
    p[24] = 0xfd;
    p[39] = 2;
  }
  uint8_t* t = &p[ihl];
  S16(t, sport);
  S16(t + 2, 5201);
  S32(t + 4, seq);
  S32(t + 8, ack);
  t[12] = (thl / 4) << 4;
  t[13] = flags;
  S16(t + 14, 512);
  const uint8_t opts[12] = {1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 9};
  std::memcpy(t + 20, opts, 12);
  S32(t + 24, tsval);
  std::copy(payload.begin(), payload.end(), t + thl);  // may be empty
  Bytes ph = Pseudo(p.data(), v4, 6, p.size() - ihl);
  uint32_t s = esp::ChecksumAdd(0, ByteSpan(ph.data(), ph.size()));
  s = esp::ChecksumAdd(s, ByteSpan(t, p.size() - ihl));
  S16(t + 16, esp::ChecksumFinish(s));
  return p;
}

// As the kernel hands a TSO packet over: the checksum field holds the pseudo-header sum.
void MakePartial(Bytes& p, bool v4, uint8_t proto, size_t field_offset) {
  const size_t ihl = v4 ? 20 : 40;
  Bytes ph = Pseudo(p.data(), v4, proto, p.size() - ihl);
  uint32_t s = esp::ChecksumAdd(0, ByteSpan(ph.data(), ph.size()));
  S16(&p[ihl + field_offset], static_cast<uint16_t>(~esp::ChecksumFinish(s)));
}

TEST(OffloadSum, MatchesEspChecksumForEveryLengthAndStart) {
  Bytes data = RandomBytes(3000, 1);
  for (size_t len : {0u, 1u, 2u, 3u, 15u, 16u, 17u, 63u, 64u, 65u, 1499u, 3000u}) {
    for (uint16_t initial : {0, 1, 0x8000, 0xfffe, 0xffff}) {
      const uint32_t want = esp::ChecksumAdd(initial, ByteSpan(data.data(), len));
      const uint16_t got = Sum(data.data(), len, initial);
      // 0 and 0xffff are the same one's-complement value.
      EXPECT_EQ(esp::ChecksumFinish(want), esp::ChecksumFinish(got))
          << "len " << len << " initial " << initial;
    }
  }
  Bytes ones(4096, 0xff);
  EXPECT_EQ(esp::ChecksumFinish(Sum(ones.data(), ones.size())), 0);
}

// The vectorised bulk (from 128 octets on) agrees with the reference at every length, start
// alignment and continuation, up to a whole 64 KB packet of 0xff (the largest lane sums).
TEST(OffloadSum, BulkPathMatchesAtEveryLengthAlignmentAndSize) {
  Bytes data = RandomBytes(70000, 9);
  for (size_t start = 0; start < 8; ++start) {
    for (size_t len = 100; len < 400; ++len) {
      const uint32_t want = esp::ChecksumAdd(0x1234, ByteSpan(data.data() + start, len));
      EXPECT_EQ(esp::ChecksumFinish(want),
                esp::ChecksumFinish(Sum(data.data() + start, len, 0x1234)))
          << "start " << start << " len " << len;
    }
  }
  for (size_t len : {1448u, 9000u, 65535u, 65536u}) {
    EXPECT_EQ(esp::ChecksumFinish(esp::ChecksumAdd(0, ByteSpan(data.data(), len))),
              esp::ChecksumFinish(Sum(data.data(), len)));
  }
  Bytes ones(65536, 0xff);
  EXPECT_EQ(esp::ChecksumFinish(Sum(ones.data(), ones.size())), 0);
  // A sum continued over two parts (a header of a multiple of 4, then the payload).
  const uint16_t h = Sum(data.data(), 52);
  EXPECT_EQ(esp::ChecksumFinish(Sum(data.data() + 52, 1448, h)),
            esp::ChecksumFinish(esp::ChecksumAdd(0, ByteSpan(data.data(), 1500))));
}

TEST(OffloadVnetHdr, EncodeDecodeRoundTrip) {
  VnetHdr h{kFlagNeedsCsum, kGsoTcpv6, 72, 1428, 40, 16};
  uint8_t raw[kVnetHdrSize];
  EncodeVnetHdr(h, raw);
  VnetHdr d = DecodeVnetHdr(raw);
  EXPECT_EQ(d.flags, h.flags);
  EXPECT_EQ(d.gso_type, h.gso_type);
  EXPECT_EQ(d.hdr_len, 72);
  EXPECT_EQ(d.gso_size, 1428);
  EXPECT_EQ(d.csum_start, 40);
  EXPECT_EQ(d.csum_offset, 16);
  EXPECT_EQ(raw[4], 1428 & 0xff);  // host (little-endian) order, legacy virtio
}

void CheckTcpSplit(bool v4) {
  const size_t ihl = v4 ? 20 : 40, hl = ihl + 32, gso = 1448;
  const Bytes payload = RandomBytes(5000, 2);
  const uint32_t seq0 = 0xfffff000;                 // wraps within the super-packet
  const uint8_t flags = 0x10 | 0x08 | 0x01 | 0x80;  // ACK PSH FIN CWR
  Bytes super = Tcp(v4, seq0, flags, payload);
  MakePartial(super, v4, 6, 16);
  VnetHdr h{kFlagNeedsCsum,
            static_cast<uint8_t>(v4 ? kGsoTcpv4 : kGsoTcpv6),
            static_cast<uint16_t>(hl),
            gso,
            static_cast<uint16_t>(ihl),
            16};
  auto plan = PlanSplit(h, super.data(), super.size());
  ASSERT_TRUE(plan);
  ASSERT_TRUE(plan->gso);
  EXPECT_EQ(plan->segments, 4u);  // 3 x 1448 + 656
  EXPECT_EQ(plan->header_length, hl);
  EXPECT_EQ(plan->max_segment, hl + gso);
  size_t seen = 0;
  for (size_t i = 0; i < plan->segments; ++i) {
    Bytes out(plan->max_segment + 16, 0xEE);
    const size_t n = WriteSegment(*plan, super.data(), i, out.data());
    ASSERT_LE(n, plan->max_segment);
    EXPECT_EQ(out[plan->max_segment], 0xEE);  // nothing written past the segment
    const size_t want_payload = i < 3 ? gso : 656;
    EXPECT_EQ(n, hl + want_payload);
    if (v4) {
      EXPECT_EQ(L16(&out[2]), n);
      EXPECT_EQ(L16(&out[4]), 0x1000 + i);
      EXPECT_TRUE(Ipv4HeaderOk(out.data())) << i;
    } else {
      EXPECT_EQ(L16(&out[4]), n - 40);
    }
    const uint8_t* t = &out[ihl];
    EXPECT_EQ(L32(t + 4), static_cast<uint32_t>(seq0 + i * gso));
    const bool last = i + 1 == plan->segments;
    EXPECT_EQ((t[13] & 0x01) != 0, last) << "FIN only on the last";
    EXPECT_EQ((t[13] & 0x08) != 0, last) << "PSH only on the last";
    EXPECT_EQ((t[13] & 0x80) != 0, i == 0) << "CWR only on the first";
    EXPECT_TRUE(t[13] & 0x10);
    EXPECT_EQ(std::memcmp(t + 20, &super[ihl + 20], 12), 0) << "options copied";
    EXPECT_TRUE(L4ChecksumOk(out.data(), n)) << "segment " << i;
    EXPECT_EQ(std::memcmp(&out[hl], payload.data() + seen, want_payload), 0);
    seen += want_payload;
  }
  EXPECT_EQ(seen, payload.size());
}

TEST(OffloadSplit, TcpIpv4) { CheckTcpSplit(true); }
TEST(OffloadSplit, TcpIpv6) { CheckTcpSplit(false); }

TEST(OffloadSplit, UdpL4Ipv4AndEcnBitMasked) {
  const Bytes payload = RandomBytes(3000, 3);
  Bytes p(28 + payload.size(), 0);
  p[0] = 0x45;
  S16(&p[2], static_cast<uint16_t>(p.size()));
  p[8] = 64;
  p[9] = 17;
  const uint8_t a[8] = {10, 1, 0, 1, 10, 2, 0, 2};
  std::memcpy(&p[12], a, 8);
  S16(&p[20], 5000);
  S16(&p[22], 6000);
  S16(&p[24], static_cast<uint16_t>(8 + payload.size()));
  std::copy(payload.begin(), payload.end(), p.begin() + 28);
  MakePartial(p, true, 17, 6);
  VnetHdr h{kFlagNeedsCsum, kGsoUdpL4, 28, 1200, 20, 6};
  auto plan = PlanSplit(h, p.data(), p.size());
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->segments, 3u);
  for (size_t i = 0; i < 3; ++i) {
    Bytes out(plan->max_segment);
    const size_t n = WriteSegment(*plan, p.data(), i, out.data());
    const size_t want = i < 2 ? 1200 : 600;
    EXPECT_EQ(n, 28 + want);
    EXPECT_EQ(L16(&out[24]), 8 + want);
    EXPECT_TRUE(Ipv4HeaderOk(out.data()));
    EXPECT_TRUE(L4ChecksumOk(out.data(), n));
    EXPECT_EQ(std::memcmp(&out[28], payload.data() + i * 1200, want), 0);
  }
  // TCP with the ECN bit in gso_type is still TSO.
  Bytes t = Tcp(true, 1, 0x10, RandomBytes(3000, 4));
  VnetHdr e{kFlagNeedsCsum, kGsoTcpv4 | kGsoEcn, 52, 1000, 20, 16};
  EXPECT_TRUE(PlanSplit(e, t.data(), t.size()));
}

TEST(OffloadSplit, NonGsoPartialChecksumIsCompleted) {
  Bytes t = Tcp(false, 5, 0x18, RandomBytes(333, 5));  // odd length
  MakePartial(t, false, 6, 16);
  EXPECT_FALSE(L4ChecksumOk(t.data(), t.size()));
  VnetHdr h{kFlagNeedsCsum, kGsoNone, 0, 0, 40, 16};
  auto plan = PlanSplit(h, t.data(), t.size());
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->gso);
  EXPECT_TRUE(L4ChecksumOk(t.data(), t.size()));
  // Without NEEDS_CSUM nothing is touched.
  Bytes before = t;
  ASSERT_TRUE(PlanSplit(VnetHdr{}, t.data(), t.size()));
  EXPECT_EQ(t, before);
}

TEST(OffloadSplit, BadHeadersAreRefusedNeverACrash) {
  Bytes t = Tcp(true, 1, 0x10, RandomBytes(3000, 6));
  auto refuse = [&](VnetHdr h, size_t length, const char* why) {
    Bytes copy = t;
    EXPECT_FALSE(PlanSplit(h, copy.data(), length)) << why;
  };
  refuse({kFlagNeedsCsum, kGsoTcpv4, 52, 0, 20, 16}, t.size(), "gso_size 0");
  refuse({kFlagNeedsCsum, kGsoTcpv4, 52, 65535, 20, 16}, t.size(), "oversize gso_size");
  refuse({kFlagNeedsCsum, kGsoTcpv6, 52, 1000, 20, 16}, t.size(), "TCPV6 on IPv4");
  refuse({kFlagNeedsCsum, kGsoUdp, 52, 1000, 20, 16}, t.size(), "UFO");
  refuse({kFlagNeedsCsum, 9, 52, 1000, 20, 16}, t.size(), "unknown type");
  refuse({kFlagNeedsCsum, kGsoUdpL4, 28, 1000, 20, 6}, t.size(), "USO on TCP");
  refuse({kFlagNeedsCsum, kGsoTcpv4, 52, 1000, 24, 16}, t.size(), "csum_start not L4");
  refuse({kFlagNeedsCsum, kGsoTcpv4, 52, 1000, 20, 16}, 52, "no payload");
  refuse({kFlagNeedsCsum, kGsoTcpv4, 52, 1000, 20, 16}, 30, "truncated TCP header");
  refuse({kFlagNeedsCsum, kGsoNone, 0, 0, 4000, 16}, t.size(), "csum_start past the end");
  refuse({kFlagNeedsCsum, kGsoNone, 0, 0, 20, 65000}, t.size(), "csum_offset past the end");
  refuse({}, 10, "runt");
  Bytes frag = t;
  frag[6] |= 0x20;  // MF
  EXPECT_FALSE(PlanSplit({kFlagNeedsCsum, kGsoTcpv4, 52, 1000, 20, 16}, frag.data(), frag.size()));
  Bytes bad_doff = t;
  bad_doff[32] = 0x10;  // data offset 4 octets
  EXPECT_FALSE(
      PlanSplit({kFlagNeedsCsum, kGsoTcpv4, 52, 1000, 20, 16}, bad_doff.data(), bad_doff.size()));
  // Random headers on random packets: a plan or a refusal, and segments stay in bounds.
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    Bytes p = RandomBytes(20 + rng() % 3000, static_cast<uint32_t>(i));
    p[0] = static_cast<uint8_t>((rng() & 1 ? 0x40 : 0x60) | (rng() & 15));
    if (rng() & 1) p[9] = p[6] = static_cast<uint8_t>(rng() & 1 ? 6 : 17);
    if (rng() & 1) p[6] = p[7] = 0;  // no fragment bits (IPv4)
    VnetHdr h{static_cast<uint8_t>(rng() & 3),   static_cast<uint8_t>(rng() % 7),
              static_cast<uint16_t>(rng()),      static_cast<uint16_t>(rng() % 4000),
              static_cast<uint16_t>(rng() % 64), static_cast<uint16_t>(rng() % 24)};
    auto plan = PlanSplit(h, p.data(), p.size());
    if (!plan || !plan->gso) continue;
    ASSERT_LE(plan->max_segment, kMaxIpPacket);
    Bytes out(plan->max_segment + 1, 0xEE);
    for (size_t s = 0; s < plan->segments; ++s) {
      ASSERT_LE(WriteSegment(*plan, p.data(), s, out.data()), plan->max_segment);
      ASSERT_EQ(out.back(), 0xEE);
    }
  }
}

struct Written {
  VnetHdr h;
  Bytes packet;
};
class RecordingSink : public TcpCoalescer::Sink {
 public:
  void Write(const VnetHdr& h, const uint8_t* p, size_t n) override {
    writes.push_back({h, Bytes(p, p + n)});
  }
  std::vector<Written> writes;
};

// The segments of a TSO super-packet (as the peer's data path cut and sent them).
std::vector<Bytes> Segments(bool v4, uint32_t seq, size_t total, size_t gso, uint8_t flags,
                            uint32_t seed) {
  Bytes super = Tcp(v4, seq, flags, RandomBytes(total, seed));
  const size_t ihl = v4 ? 20 : 40;
  VnetHdr h{0,
            static_cast<uint8_t>(v4 ? kGsoTcpv4 : kGsoTcpv6),
            0,
            static_cast<uint16_t>(gso),
            static_cast<uint16_t>(ihl),
            16};
  auto plan = PlanSplit(h, super.data(), super.size());
  std::vector<Bytes> out;
  for (size_t i = 0; plan && i < plan->segments; ++i) {
    Bytes s(plan->max_segment);
    s.resize(WriteSegment(*plan, super.data(), i, s.data()));
    out.push_back(std::move(s));
  }
  return out;
}

void CheckCoalesceRoundTrip(bool v4) {
  const size_t ihl = v4 ? 20 : 40;
  auto segs = Segments(v4, 1000, 40000, 1348, 0x18, 11);  // ACK PSH: PSH only on the last
  ASSERT_EQ(segs.size(), 30u);
  TcpCoalescer gro;
  RecordingSink sink;
  for (const auto& s : segs) gro.Add(s.data(), s.size(), sink);
  EXPECT_TRUE(sink.writes.empty()) << "held until Flush";
  gro.Flush(sink);
  ASSERT_EQ(sink.writes.size(), 1u);
  EXPECT_EQ(gro.merged(), 29u);
  const Written& w = sink.writes[0];
  EXPECT_EQ(w.h.flags, kFlagNeedsCsum);
  EXPECT_EQ(w.h.gso_type, v4 ? kGsoTcpv4 : kGsoTcpv6);
  EXPECT_EQ(w.h.gso_size, 1348);
  EXPECT_EQ(w.h.hdr_len, ihl + 32);
  EXPECT_EQ(w.h.csum_start, ihl);
  EXPECT_EQ(w.h.csum_offset, 16);
  EXPECT_EQ(w.packet.size(), ihl + 32 + 40000);
  if (v4) {
    EXPECT_EQ(L16(&w.packet[2]), w.packet.size());
    EXPECT_TRUE(Ipv4HeaderOk(w.packet.data()));
  } else {
    EXPECT_EQ(L16(&w.packet[4]), w.packet.size() - 40);
  }
  EXPECT_EQ(L32(&w.packet[ihl + 4]), 1000u);
  EXPECT_TRUE(w.packet[ihl + 13] & 0x08) << "the last segment's PSH";
  // The kernel's view: complete the partial checksum -> valid; cut it again -> the segments.
  Bytes copy = w.packet;
  auto plan = PlanSplit(w.h, copy.data(), copy.size());
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->segments, segs.size());
  for (size_t i = 0; i < segs.size(); ++i) {
    Bytes s(plan->max_segment);
    s.resize(WriteSegment(*plan, copy.data(), i, s.data()));
    EXPECT_EQ(s, segs[i]) << "segment " << i;
  }
  Bytes full = w.packet;
  VnetHdr none{kFlagNeedsCsum, kGsoNone, 0, 0, static_cast<uint16_t>(ihl), 16};
  ASSERT_TRUE(PlanSplit(none, full.data(), full.size()));
  EXPECT_TRUE(L4ChecksumOk(full.data(), full.size()));
}

TEST(OffloadCoalesce, Ipv4SegmentsBecomeOneSuperPacket) { CheckCoalesceRoundTrip(true); }
TEST(OffloadCoalesce, Ipv6SegmentsBecomeOneSuperPacket) { CheckCoalesceRoundTrip(false); }

TEST(OffloadCoalesce, SinglePacketPassesUnchangedWithZeroHeader) {
  Bytes t = Tcp(true, 1, 0x10, RandomBytes(100, 12));
  TcpCoalescer gro;
  RecordingSink sink;
  gro.Add(t.data(), t.size(), sink);
  gro.Flush(sink);
  ASSERT_EQ(sink.writes.size(), 1u);
  EXPECT_EQ(sink.writes[0].h.gso_type, kGsoNone);
  EXPECT_EQ(sink.writes[0].h.flags, 0);
  EXPECT_EQ(sink.writes[0].packet, t);
}

size_t CountWrites(const std::vector<Bytes>& packets) {
  TcpCoalescer gro;
  RecordingSink sink;
  for (const auto& p : packets) gro.Add(p.data(), p.size(), sink);
  gro.Flush(sink);
  for (const auto& w : sink.writes) {
    Bytes copy = w.packet;
    auto plan = PlanSplit(w.h, copy.data(), copy.size());
    EXPECT_TRUE(plan);
    if (plan && plan->gso) {
      // A merged packet: its partial checksum, completed as the kernel would, verifies.
      VnetHdr none{kFlagNeedsCsum, kGsoNone, 0, 0, w.h.csum_start, w.h.csum_offset};
      EXPECT_TRUE(PlanSplit(none, copy.data(), copy.size()));
      EXPECT_TRUE(L4ChecksumOk(copy.data(), copy.size()));
    }
  }
  return sink.writes.size();
}

TEST(OffloadCoalesce, RefusesWhatMustNotMerge) {
  const Bytes pl = RandomBytes(1000, 13);
  auto at = [&](uint32_t seq, uint8_t flags = 0x10, uint32_t ack = 777, uint32_t ts = 1) {
    return Tcp(true, seq, flags, pl, ack, 40000, ts);
  };
  EXPECT_EQ(CountWrites({at(0), at(1000), at(2000)}), 1u);
  EXPECT_EQ(CountWrites({at(0), at(1001)}), 2u) << "a gap";
  EXPECT_EQ(CountWrites({at(1000), at(0)}), 2u) << "out of order";
  EXPECT_EQ(CountWrites({at(0), at(1000, 0x10, 778)}), 2u) << "another ack";
  EXPECT_EQ(CountWrites({at(0), at(1000, 0x11)}), 2u) << "FIN";
  EXPECT_EQ(CountWrites({at(0), at(1000, 0x12)}), 2u) << "SYN";
  EXPECT_EQ(CountWrites({at(0), at(1000, 0x90)}), 2u) << "CWR";
  EXPECT_EQ(CountWrites({at(0), at(1000, 0x10, 777, 2)}), 2u) << "other options (timestamp)";
  EXPECT_EQ(CountWrites({at(0, 0x18), at(1000)}), 2u) << "PSH closes";
  // A shorter segment is the last one.
  Bytes shorter = Tcp(true, 1000, 0x10, RandomBytes(500, 14));
  EXPECT_EQ(CountWrites({at(0), shorter, at(1500)}), 2u);
  // A longer one cannot follow.
  Bytes longer = Tcp(true, 1000, 0x10, RandomBytes(1200, 15));
  EXPECT_EQ(CountWrites({at(0), longer}), 2u);
  // A bad checksum is never merged (the kernel would trust it): written on its own.
  Bytes bad = at(1000);
  bad.back() ^= 1;
  EXPECT_EQ(CountWrites({at(0), bad, at(2000)}), 3u);
  // Different TTL / TOS.
  Bytes ttl = at(1000);
  ttl[8] = 63;
  S16(&ttl[10], 0);
  S16(&ttl[10], esp::InternetChecksum(ByteSpan(ttl.data(), 20)));
  EXPECT_EQ(CountWrites({at(0), ttl}), 2u);
  // Not TCP: written as it is, right away.
  Bytes udp = at(0);
  udp[9] = 17;
  TcpCoalescer gro;
  RecordingSink sink;
  gro.Add(udp.data(), udp.size(), sink);
  EXPECT_EQ(sink.writes.size(), 1u);
  // Empty payload (a pure ACK) is not merged.
  Bytes ack0 = Tcp(true, 1000, 0x10, {});
  EXPECT_EQ(CountWrites({at(0), ack0}), 2u);
}

TEST(OffloadCoalesce, InterleavedFlowsKeepTheirOwnSuperPackets) {
  auto a = Segments(true, 0, 13480, 1348, 0x10, 20);
  std::vector<Bytes> b;
  for (auto& s : Segments(true, 0, 13480, 1348, 0x10, 21)) {
    S16(&s[20], 40001);  // another source port: fix the checksum
    S16(&s[36], 0);
    Bytes ph = Pseudo(s.data(), true, 6, s.size() - 20);
    uint32_t sum = esp::ChecksumAdd(0, ByteSpan(ph.data(), ph.size()));
    sum = esp::ChecksumAdd(sum, ByteSpan(s.data() + 20, s.size() - 20));
    S16(&s[36], esp::ChecksumFinish(sum));
    b.push_back(s);
  }
  std::vector<Bytes> mixed;
  for (size_t i = 0; i < a.size(); ++i) {
    mixed.push_back(a[i]);
    mixed.push_back(b[i]);
  }
  EXPECT_EQ(CountWrites(mixed), 2u);
  // More flows than slots: still every packet written once, in order per flow.
  std::vector<Bytes> many;
  for (uint16_t f = 0; f < 12; ++f) {
    many.push_back(Tcp(true, 0, 0x10, RandomBytes(100, f), 777, static_cast<uint16_t>(1000 + f)));
  }
  EXPECT_EQ(CountWrites(many), 12u);
}

}  // namespace
}  // namespace ipsec::engine::dataplane::userspace::offload
