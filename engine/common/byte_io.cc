#include "engine/common/byte_io.h"

#include <cassert>

namespace ipsec {

bool ByteReader::ReadUint8(uint8_t* out) {
  if (Remaining() < 1) return false;
  *out = data_[pos_++];
  return true;
}

bool ByteReader::ReadUint16(uint16_t* out) {
  if (Remaining() < 2) return false;
  *out = LoadBigEndian16(data_.data() + pos_);
  pos_ += 2;
  return true;
}

bool ByteReader::ReadUint32(uint32_t* out) {
  if (Remaining() < 4) return false;
  *out = LoadBigEndian32(data_.data() + pos_);
  pos_ += 4;
  return true;
}

bool ByteReader::ReadUint64(uint64_t* out) {
  if (Remaining() < 8) return false;
  const uint8_t* p = data_.data() + pos_;
  *out = static_cast<uint64_t>(LoadBigEndian32(p)) << 32 | LoadBigEndian32(p + 4);
  pos_ += 8;
  return true;
}

bool ByteReader::ReadBytes(size_t n, ByteSpan* out) {
  if (Remaining() < n) return false;
  *out = data_.subspan(pos_, n);
  pos_ += n;
  return true;
}

bool ByteReader::ReadBytes(size_t n, Bytes* out) {
  ByteSpan span;
  if (!ReadBytes(n, &span)) return false;
  out->assign(span.begin(), span.end());
  return true;
}

ByteSpan ByteReader::ReadRemaining() {
  ByteSpan rest = data_.subspan(pos_);
  pos_ = data_.size();
  return rest;
}

bool ByteReader::Skip(size_t n) {
  if (Remaining() < n) return false;
  pos_ += n;
  return true;
}

bool ByteReader::Sub(size_t n, ByteReader* out) {
  ByteSpan span;
  if (!ReadBytes(n, &span)) return false;
  *out = ByteReader(span);
  return true;
}

void ByteWriter::WriteUint16(uint16_t v) {
  uint8_t b[2];
  StoreBigEndian16(b, v);
  WriteBytes(b);
}

void ByteWriter::WriteUint32(uint32_t v) {
  uint8_t b[4];
  StoreBigEndian32(b, v);
  WriteBytes(b);
}

void ByteWriter::WriteUint64(uint64_t v) {
  WriteUint32(static_cast<uint32_t>(v >> 32));
  WriteUint32(static_cast<uint32_t>(v));
}

size_t ByteWriter::ReserveUint16() {
  size_t pos = out_.size();
  WriteZeros(2);
  return pos;
}

size_t ByteWriter::ReserveUint32() {
  size_t pos = out_.size();
  WriteZeros(4);
  return pos;
}

void ByteWriter::PatchUint16(size_t pos, uint16_t v) {
  assert(pos + 2 <= out_.size());
  StoreBigEndian16(out_.data() + pos, v);
}

void ByteWriter::PatchUint32(size_t pos, uint32_t v) {
  assert(pos + 4 <= out_.size());
  StoreBigEndian32(out_.data() + pos, v);
}

}  // namespace ipsec
