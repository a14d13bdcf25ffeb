#include "engine/net/nat_t_framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ipsec::engine::net {
namespace {

struct Case {
  std::string name;
  Bytes datagram;
  NatTDatagramKind kind;
  Bytes payload;
};

// RFC 3948 §2.1–2.3: what the first octets of a datagram on UDP 4500 say it is.
TEST(NatTFramingTest, ClassifiesByTheFirstOctets) {
  const std::vector<Case> cases = {
      {"keepalive", {0xFF}, NatTDatagramKind::kKeepalive, {}},
      {"empty", {}, NatTDatagramKind::kMalformed, {}},
      {"one other octet", {0x00}, NatTDatagramKind::kMalformed, {}},
      {"three octets", {0, 0, 0}, NatTDatagramKind::kMalformed, {}},
      {"marker alone", {0, 0, 0, 0}, NatTDatagramKind::kMalformed, {}},
      {"marker and IKE", {0, 0, 0, 0, 0x11, 0x22}, NatTDatagramKind::kIke, {0x11, 0x22}},
      {"two 0xFF octets", {0xFF, 0xFF}, NatTDatagramKind::kMalformed, {}},
      {"ESP header only",
       {0, 0, 0x12, 0x34, 0, 0, 0, 1},
       NatTDatagramKind::kEsp,
       {0, 0, 0x12, 0x34, 0, 0, 0, 1}},
      {"ESP too short", {0, 0, 0x12, 0x34, 0, 0, 0}, NatTDatagramKind::kMalformed, {}},
      {"ESP, SPI in the last marker octet",
       {0, 0, 0, 1, 9, 9, 9, 9, 7},
       NatTDatagramKind::kEsp,
       {0, 0, 0, 1, 9, 9, 9, 9, 7}},
      {"keepalive-sized ESP",
       {0xFF, 0, 0, 0, 0, 0, 0, 0},
       NatTDatagramKind::kEsp,
       {0xFF, 0, 0, 0, 0, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const NatTDatagram got = ClassifyNatTDatagram(c.datagram);
    EXPECT_EQ(got.kind, c.kind);
    EXPECT_EQ(Bytes(got.payload.begin(), got.payload.end()), c.payload);
  }
}

TEST(NatTFramingTest, PayloadPointsIntoTheDatagram) {
  const Bytes datagram = {0, 0, 0, 0, 1, 2, 3};
  const NatTDatagram got = ClassifyNatTDatagram(datagram);
  ASSERT_EQ(got.kind, NatTDatagramKind::kIke);
  EXPECT_EQ(got.payload.data(), datagram.data() + kNonEspMarkerSize);
  EXPECT_EQ(got.payload.size(), 3u);
}

}  // namespace
}  // namespace ipsec::engine::net
