#pragma once

// The sending side of one ESP SA (RFC 4303 §3.3): sequence numbers, padding, encryption and
// the ICV, in place in the caller's buffer. Pure: no I/O, no allocation per packet, no lock on
// the hot path besides one atomic fetch_add for the sequence number.
//
// Thread-safety: Protect may run on several threads at once, each with its own worker index
// (< SaParams::workers); the keyed crypto contexts are per worker. Owns its contexts and keys.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/esp/esp_wire.h"
#include "engine/esp/transform.h"

namespace ipsec::engine::esp {

class SaCrypto;

class OutboundSa {
 public:
  // kInvalidArgument/kUnimplemented for a transform ResolveTransform() rejects, for AH (see
  // ah.h), or for workers == 0.
  static Result<std::unique_ptr<OutboundSa>> Create(const SaParams& params);
  ~OutboundSa();
  OutboundSa(const OutboundSa&) = delete;
  OutboundSa& operator=(const OutboundSa&) = delete;

  uint32_t spi() const { return spi_; }
  Mode mode() const { return mode_; }
  const ResolvedTransform& transform() const { return transform_; }

  // What callers must reserve before the payload (ESP header + IV) and after it (padding,
  // trailer, ICV) at most.
  size_t headroom() const { return kEspHeaderSize + transform_.iv_size; }
  size_t max_tailroom() const {
    return (transform_.block_size - 1) + kEspTrailerSize + transform_.icv_size;
  }
  // The exact ESP packet length for a payload of `payload_length` octets.
  size_t ProtectedLength(size_t payload_length) const;
  // The largest payload whose ESP packet fits in `esp_budget` octets (MTU arithmetic).
  size_t MaxPayloadFor(size_t esp_budget) const;

  struct Protected {
    size_t offset = 0;  // where the ESP packet (its SPI) starts in the buffer
    size_t length = 0;  // ESP header through ICV
    uint64_t sequence = 0;
    bool rekey_due = false;  // sequence >= kSeqRekeyThreshold (kEsnRekeyThreshold with ESN)
  };

  // Protects buffer[payload_offset, payload_offset + payload_length) in place: writes the ESP
  // header and IV into the headroom, padding (1, 2, 3, ..., RFC 4303 §2.4), pad length, next
  // header and ICV into the tailroom. `next_header` is the payload's protocol (transport mode)
  // or kNextHeaderIpv4/kNextHeaderIpv6 (tunnel mode), kNextHeaderNone for a dummy packet.
  // Errors: kInvalidArgument (worker out of range, too little headroom or tailroom),
  // kFailedPrecondition when the sequence number would cycle (RFC 4303 §3.3.3: the SA must be
  // rekeyed; every later call fails too), kInternal on a crypto failure.
  Result<Protected> Protect(unsigned worker, uint8_t* buffer, size_t capacity,
                            size_t payload_offset, size_t payload_length, uint8_t next_header);

  // As Protect, out of place: the payload is the concatenation of `parts` (`count` <=
  // kMaxParts), and the whole ESP packet (SPI through ICV) is written to out[0, capacity), with
  // Protected::offset 0. No part may overlap `out`. Byte-identical to Protect of the
  // concatenated payload. With an AEAD the parts are encrypted straight into `out` (issue 4: a
  // TUN super-packet's segment goes into the send slot with no gathering copy); other
  // transforms copy them first.
  static constexpr size_t kMaxParts = 4;
  Result<Protected> ProtectParts(unsigned worker, const ByteSpan* parts, size_t count,
                                 uint8_t next_header, uint8_t* out, size_t capacity);

  // As Protect, with the IV given (iv.size() == transform().iv_size): known-answer tests only.
  // An AEAD IV must never repeat under a key (RFC 4106 §3.1); Protect uses the sequence number.
  Result<Protected> ProtectWithIv(unsigned worker, uint8_t* buffer, size_t capacity,
                                  size_t payload_offset, size_t payload_length, uint8_t next_header,
                                  ByteSpan iv);

  // The next sequence number Protect will use (monitoring, tests).
  uint64_t next_sequence() const { return counter_.load(std::memory_order_relaxed) + 1; }
  // Tests: makes the next sequence number `next` (e.g. to reach the wrap).
  void SetNextSequenceForTesting(uint64_t next) {
    counter_.store(next - 1, std::memory_order_relaxed);
  }

 private:
  OutboundSa(const SaParams& params, ResolvedTransform transform, std::unique_ptr<SaCrypto> crypto);
  Result<Protected> DoProtect(unsigned worker, uint8_t* buffer, size_t capacity,
                              size_t payload_offset, size_t payload_length, uint8_t next_header,
                              const uint8_t* fixed_iv);

  // The next sequence number (kFailedPrecondition when it would cycle).
  Result<uint64_t> NextSequence();
  // RFC 4106 §3.1/§4/§5, RFC 7634 §2: writes the AEAD IV at `iv` (the sequence number, or
  // `fixed_iv`), the nonce salt || IV and the AAD; returns the AAD's length.
  size_t AeadInputs(uint64_t seq, const uint8_t* fixed_iv, uint8_t* iv, uint8_t* nonce,
                    uint8_t* aad) const;

  alignas(64) std::atomic<uint64_t> counter_{0};  // the last sequence number handed out
  alignas(64) uint32_t spi_;
  Mode mode_;
  bool esn_;
  ResolvedTransform transform_;
  std::unique_ptr<SaCrypto> crypto_;
};

}  // namespace ipsec::engine::esp
