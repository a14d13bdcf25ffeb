// An independent implementation checks our ESP framing: tshark (Wireshark 4.0's ESP dissector,
// the lab's decoder, docs/lab.md) decrypts and authenticates packets built by OutboundSa for
// every transform it can decrypt, in tunnel and transport mode, raw (IP protocol 50) and
// UDP-encapsulated (RFC 3948). Offline: a pcap written here, no namespaces, no root. Fails
// (does not skip) when tshark is missing. Label: integration (runs an external program).

#include "tests/support/tshark.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/outbound_sa.h"
#include "engine/esp/udp_encap.h"
#include "tests/engine/esp/esp_test_util.h"
#include "tests/support/process.h"

namespace ipsec::engine::esp {
namespace {

using ipsec::testing::DissectedPacket;
using ipsec::testing::EncrId;
using ipsec::testing::EspSaKeys;
using ipsec::testing::IntegId;
using ipsec::testing::TempDir;
using ipsec::testing::Tshark;

// pcap with LINKTYPE_RAW (101): each record is an IP packet.
class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path) : out_(path, std::ios::binary) {
    const uint32_t header[] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101};
    out_.write(reinterpret_cast<const char*>(header), sizeof(header));
  }
  void Add(const Bytes& packet) {
    const uint32_t record[] = {++seconds_, 0, static_cast<uint32_t>(packet.size()),
                               static_cast<uint32_t>(packet.size())};
    out_.write(reinterpret_cast<const char*>(record), sizeof(record));
    out_.write(reinterpret_cast<const char*>(packet.data()), static_cast<long>(packet.size()));
  }
  bool Close() {
    out_.close();
    return out_.good();
  }

 private:
  std::ofstream out_;
  uint32_t seconds_ = 0;
};

const IpAddress kOuterSrc = *IpAddress::Parse("192.0.2.1");
const IpAddress kOuterDst = *IpAddress::Parse("192.0.2.2");

// ICMP echo request 10.0.0.1 -> 10.0.0.2 with identifier 0x4242 and sequence `seq`.
Bytes IcmpEcho(uint16_t seq) {
  Bytes p = testing::Hex("45000024 00000000 40010000 0a000001 0a000002 08000000 42420000");
  Store16(&p[26], seq);
  for (int i = 0; i < 8; ++i) p.push_back(static_cast<uint8_t>('a' + i));
  SetIpv4HeaderChecksum(p.data(), 20);
  Store16(&p[22], InternetChecksum(ByteSpan(p).subspan(20)));
  return p;
}

struct Case {
  testing::NamedTransform transform;
  EncrId encr;
  IntegId integ;
};

std::vector<Case> Cases() {
  const auto all = testing::AllEspTransforms();
  return {
      {all[0], EncrId::kAesGcm16, IntegId::kNone},
      {all[1], EncrId::kAesGcm16, IntegId::kNone},
      {all[3], EncrId::kAesCbc, IntegId::kHmacSha2_256_128},
      {all[4], EncrId::kAesCbc, IntegId::kHmacSha2_384_192},
      {all[5], EncrId::kAesCbc, IntegId::kHmacSha2_512_256},
      {all[7], EncrId::kNull, IntegId::kHmacSha2_256_128},
      {all[8], EncrId::kNull, IntegId::kHmacSha2_512_256},
      {all[9], EncrId::k3Des, IntegId::kHmacSha1_96},
      {all[10], EncrId::kAesCbc, IntegId::kHmacMd5_96},
  };
}

std::string HexOf(const SecretBytes& s) { return ToHex(ByteSpan(s.data(), s.size())); }

TEST(EspTsharkTest, TsharkDecryptsAndAuthenticatesOurPackets) {
  TempDir dir;
  const std::string pcap = dir.path() + "/esp.pcap";
  PcapWriter writer(pcap);
  Tshark tshark;
  std::string error;
  struct Expected {
    uint32_t spi;
    uint16_t seq;
    std::string name;
  };
  std::vector<Expected> expected;
  uint32_t spi = 0x0E500000;
  uint16_t icmp_seq = 0;
  for (const Case& c : Cases()) {
    for (Mode mode : {Mode::kTunnel, Mode::kTransport}) {
      for (bool udp : {false, true}) {
        const std::string name = c.transform.name +
                                 (mode == Mode::kTunnel ? "/tunnel" : "/transport") +
                                 (udp ? "/udp" : "/raw");
        const SaParams params = testing::MakeParams(c.transform, false, mode, ++spi);
        auto sa = OutboundSa::Create(params);
        ASSERT_TRUE(sa.ok()) << name;
        EspSaKeys keys;
        keys.spi = spi;
        keys.encr = c.encr;
        keys.integ = c.integ;
        keys.encr_key = HexOf(params.transform.encryption_key);
        keys.integ_key = HexOf(params.transform.integrity_key);
        ASSERT_TRUE(tshark.AddEspSa(keys, &error)) << name << ": " << error;

        const Bytes inner = IcmpEcho(++icmp_seq);
        // Tunnel: the whole inner packet; transport: the ICMP message, next header 1.
        const Bytes payload =
            mode == Mode::kTunnel ? inner : Bytes(inner.begin() + 20, inner.end());
        const uint8_t next = mode == Mode::kTunnel ? kNextHeaderIpv4 : kNextHeaderIcmp;
        const size_t head = 20 + 8 + (*sa)->headroom();
        Bytes buf(head + payload.size() + (*sa)->max_tailroom());
        std::copy(payload.begin(), payload.end(), buf.begin() + static_cast<long>(head));
        auto p = (*sa)->Protect(0, buf.data(), buf.size(), head, payload.size(), next);
        ASSERT_TRUE(p.ok()) << name;
        size_t start = p->offset;
        if (udp) {
          start -= 8;
          ASSERT_TRUE(WriteUdpEncapHeader(&buf[start], 4500, 4500, p->length));
        }
        start -= 20;
        const IpAddress src = mode == Mode::kTunnel ? kOuterSrc : *IpAddress::Parse("10.0.0.1");
        const IpAddress dst = mode == Mode::kTunnel ? kOuterDst : *IpAddress::Parse("10.0.0.2");
        ASSERT_TRUE(WriteIpv4Header(&buf[start], src, dst, udp ? kNextHeaderUdp : kNextHeaderEsp,
                                    p->offset + p->length - start - 20, icmp_seq, false));
        writer.Add(Bytes(buf.begin() + static_cast<long>(start),
                         buf.begin() + static_cast<long>(p->offset + p->length)));
        expected.push_back({spi, icmp_seq, name});
      }
    }
  }
  ASSERT_TRUE(writer.Close());

  std::vector<DissectedPacket> packets;
  ASSERT_TRUE(tshark.Dissect(pcap, "", {"esp.spi", "icmp.type", "icmp.seq", "esp.icv_good"},
                             &packets, &error))
      << "tshark (Debian's tshark package) is needed: " << error;
  ASSERT_EQ(packets.size(), expected.size()) << tshark.Summary(pcap);
  std::string summary;  // tshark's view, computed on the first failure only
  auto view = [&]() -> const std::string& {
    if (summary.empty()) summary = tshark.Summary(pcap);
    return summary;
  };
  for (size_t i = 0; i < packets.size(); ++i) {
    const DissectedPacket& d = packets[i];
    const std::string& name = expected[i].name;
    char spi_text[16];
    std::snprintf(spi_text, sizeof(spi_text), "0x%08x", expected[i].spi);
    EXPECT_EQ(d.Get("esp.spi"), spi_text) << name;
    EXPECT_EQ(d.Get("icmp.type"), "8") << name << ": not decrypted to the ICMP echo\n" << view();
    EXPECT_EQ(d.Get("icmp.seq"), std::to_string(expected[i].seq)) << name;
    EXPECT_EQ(d.Get("esp.icv_good"), "1") << name << ": ICV not verified\n" << view();
  }
}

}  // namespace
}  // namespace ipsec::engine::esp
