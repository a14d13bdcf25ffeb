#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"

namespace ipsec {

// Reads big-endian integers and byte runs from a span it does not own, bounds-checking every
// read (QUICHE's QuicDataReader). Each Read* returns false, consuming nothing, when fewer bytes
// remain than it needs; the caller then reports a typed error and discards the reader
// (../shared/STYLE.md rule 3). The span must outlive the reader and every ByteSpan it hands out.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  bool ReadUint8(uint8_t* out);
  bool ReadUint16(uint16_t* out);
  bool ReadUint32(uint32_t* out);
  bool ReadUint64(uint64_t* out);
  // The next n bytes, as a view into the underlying span.
  bool ReadBytes(size_t n, ByteSpan* out);
  // The next n bytes, copied.
  bool ReadBytes(size_t n, Bytes* out);
  // Everything left (possibly nothing); always succeeds.
  ByteSpan ReadRemaining();
  bool Skip(size_t n);
  // A reader over the next n bytes, for a nested structure whose length field said n; this
  // reader moves past them.
  bool Sub(size_t n, ByteReader* out);

  size_t Remaining() const { return data_.size() - pos_; }
  bool Done() const { return pos_ == data_.size(); }
  // Bytes consumed so far.
  size_t Offset() const { return pos_; }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

// Appends big-endian integers and byte runs to a Bytes buffer it does not own. Length fields
// that precede what they measure are reserved first and patched once the length is known.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes& out) : out_(out) {}

  void WriteUint8(uint8_t v) { out_.push_back(v); }
  void WriteUint16(uint16_t v);
  void WriteUint32(uint32_t v);
  void WriteUint64(uint64_t v);
  void WriteBytes(ByteSpan bytes) { out_.insert(out_.end(), bytes.begin(), bytes.end()); }
  void WriteZeros(size_t n) { out_.insert(out_.end(), n, 0); }

  // Appends a zero placeholder and returns its position for the Patch* call.
  size_t ReserveUint16();
  size_t ReserveUint32();
  // Overwrites a placeholder. `pos` must come from the matching Reserve* on this buffer.
  void PatchUint16(size_t pos, uint16_t v);
  void PatchUint32(size_t pos, uint32_t v);

  // Bytes in the buffer (including what was there before this writer).
  size_t Size() const { return out_.size(); }

 private:
  Bytes& out_;  // Not owned.
};

// Big-endian loads and stores on raw memory the caller has bounds-checked.
inline uint16_t LoadBigEndian16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t LoadBigEndian32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void StoreBigEndian16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBigEndian32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace ipsec
