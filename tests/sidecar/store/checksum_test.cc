#include "sidecar/store/checksum.h"

#include <gtest/gtest.h>

namespace ipsec::sidecar::store {
namespace {

// The CRC-32 check value of the catalogue of parametrised CRC algorithms (CRC-32/ISO-HDLC).
TEST(ChecksumTest, KnownAnswers) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32Text("123456789"), "crc32:cbf43926");
}

TEST(ChecksumTest, DetectsASingleBitFlip) {
  std::string data(1000, 'a');
  const uint32_t before = Crc32(data);
  for (size_t i = 0; i < data.size(); i += 37) {
    std::string flipped = data;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
    EXPECT_NE(Crc32(flipped), before) << i;
  }
}

}  // namespace
}  // namespace ipsec::sidecar::store
