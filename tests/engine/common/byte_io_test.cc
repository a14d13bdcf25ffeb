#include "engine/common/byte_io.h"

#include <gtest/gtest.h>

namespace ipsec {
namespace {

TEST(ByteReaderTest, ReadsBigEndianIntegers) {
  const Bytes data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                      0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  ByteReader r(data);
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  ASSERT_TRUE(r.ReadUint8(&u8));
  ASSERT_TRUE(r.ReadUint16(&u16));
  ASSERT_TRUE(r.ReadUint32(&u32));
  ASSERT_TRUE(r.ReadUint64(&u64));
  EXPECT_EQ(u8, 0x01);
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(u32, 0x04050607u);
  EXPECT_EQ(u64, 0x08090a0b0c0d0e0full);
  EXPECT_TRUE(r.Done());
  EXPECT_EQ(r.Offset(), 15u);
}

TEST(ByteReaderTest, ShortReadFailsAndConsumesNothing) {
  const Bytes data = {0xaa, 0xbb, 0xcc};
  ByteReader r(data);
  uint32_t u32 = 7;
  EXPECT_FALSE(r.ReadUint32(&u32));
  EXPECT_EQ(u32, 7u);
  EXPECT_EQ(r.Remaining(), 3u);
  uint64_t u64 = 0;
  EXPECT_FALSE(r.ReadUint64(&u64));
  ByteSpan span;
  EXPECT_FALSE(r.ReadBytes(4, &span));
  EXPECT_FALSE(r.Skip(4));
  ByteReader sub(ByteSpan{});
  EXPECT_FALSE(r.Sub(4, &sub));
  uint16_t u16 = 0;
  ASSERT_TRUE(r.ReadUint16(&u16));
  EXPECT_EQ(u16, 0xaabb);
  EXPECT_FALSE(r.ReadUint16(&u16));
  uint8_t u8 = 0;
  ASSERT_TRUE(r.ReadUint8(&u8));
  EXPECT_FALSE(r.ReadUint8(&u8));
  EXPECT_TRUE(r.Done());
}

TEST(ByteReaderTest, BytesViewsCopiesAndRemaining) {
  const Bytes data = {1, 2, 3, 4, 5, 6};
  ByteReader r(data);
  ByteSpan view;
  ASSERT_TRUE(r.ReadBytes(2, &view));
  EXPECT_EQ(view.data(), data.data());
  EXPECT_EQ(view.size(), 2u);
  Bytes copy;
  ASSERT_TRUE(r.ReadBytes(1, &copy));
  EXPECT_EQ(copy, Bytes({3}));
  ASSERT_TRUE(r.ReadBytes(0, &view));
  EXPECT_TRUE(view.empty());
  ASSERT_TRUE(r.Skip(1));
  ByteSpan rest = r.ReadRemaining();
  EXPECT_EQ(Bytes(rest.begin(), rest.end()), Bytes({5, 6}));
  EXPECT_TRUE(r.ReadRemaining().empty());
}

TEST(ByteReaderTest, SubReaderIsBounded) {
  const Bytes data = {0, 4, 0xde, 0xad, 0xbe, 0xef, 0x99};
  ByteReader r(data);
  uint16_t len = 0;
  ASSERT_TRUE(r.ReadUint16(&len));
  ByteReader sub(ByteSpan{});
  ASSERT_TRUE(r.Sub(len, &sub));
  uint32_t v = 0;
  ASSERT_TRUE(sub.ReadUint32(&v));
  EXPECT_EQ(v, 0xdeadbeefu);
  uint8_t u8 = 0;
  EXPECT_FALSE(sub.ReadUint8(&u8));  // the 0x99 belongs to the outer reader
  ASSERT_TRUE(r.ReadUint8(&u8));
  EXPECT_EQ(u8, 0x99);
}

TEST(ByteWriterTest, WritesBigEndianAndAppends) {
  Bytes out = {0xff};
  ByteWriter w(out);
  w.WriteUint8(0x01);
  w.WriteUint16(0x0203);
  w.WriteUint32(0x04050607);
  w.WriteUint64(0x08090a0b0c0d0e0full);
  const Bytes tail = {0x10, 0x11};
  w.WriteBytes(tail);
  w.WriteZeros(2);
  EXPECT_EQ(ToHex(out), "ff0102030405060708090a0b0c0d0e0f10110000");
  EXPECT_EQ(w.Size(), out.size());
}

TEST(ByteWriterTest, ReserveAndPatchLengths) {
  Bytes out;
  ByteWriter w(out);
  size_t len16 = w.ReserveUint16();
  size_t len32 = w.ReserveUint32();
  w.WriteUint8(0xab);
  w.PatchUint16(len16, static_cast<uint16_t>(out.size()));
  w.PatchUint32(len32, 0xcafef00d);
  EXPECT_EQ(ToHex(out), "0007cafef00dab");
}

TEST(ByteIoTest, RoundTrip) {
  Bytes out;
  ByteWriter w(out);
  for (uint32_t i = 0; i < 300; ++i) w.WriteUint32(i * 0x01010101u);
  ByteReader r(out);
  for (uint32_t i = 0; i < 300; ++i) {
    uint32_t v = 0;
    ASSERT_TRUE(r.ReadUint32(&v));
    EXPECT_EQ(v, i * 0x01010101u);
  }
  EXPECT_TRUE(r.Done());
}

}  // namespace
}  // namespace ipsec
