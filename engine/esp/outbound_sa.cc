#include "engine/esp/outbound_sa.h"

#include <cstring>

#include "engine/esp/ip_packet.h"
#include "engine/esp/sa_crypto.h"

namespace ipsec::engine::esp {
namespace {

using Kind = ResolvedTransform::Kind;

Error Invalid(const char* message) { return MakeError(ErrorCode::kInvalidArgument, message); }

size_t PaddedLength(size_t payload_length, size_t block_size) {
  // RFC 4303 §2.4: payload + padding + pad length + next header is a multiple of the block
  // size (and of 4); no more padding than needed (no TFC padding).
  const size_t n = payload_length + kEspTrailerSize;
  return (n + block_size - 1) / block_size * block_size;
}

}  // namespace

Result<std::unique_ptr<OutboundSa>> OutboundSa::Create(const SaParams& params) {
  if (params.protocol != Protocol::kEsp) {
    return Invalid("OutboundSa is ESP only; AH has AhOutboundSa (ah.h)");
  }
  Result<ResolvedTransform> resolved = ResolveTransform(params.protocol, params.transform);
  if (!resolved.ok()) return resolved.error();
  Result<std::unique_ptr<SaCrypto>> crypto =
      SaCrypto::Create(*resolved, params.transform, params.workers, /*outbound=*/true);
  if (!crypto.ok()) return crypto.error();
  return std::unique_ptr<OutboundSa>(
      new OutboundSa(params, std::move(resolved).value(), std::move(crypto).value()));
}

OutboundSa::OutboundSa(const SaParams& params, ResolvedTransform transform,
                       std::unique_ptr<SaCrypto> crypto)
    : spi_(params.spi),
      mode_(params.mode),
      esn_(params.transform.esn),
      transform_(std::move(transform)),
      crypto_(std::move(crypto)) {}

OutboundSa::~OutboundSa() = default;

size_t OutboundSa::ProtectedLength(size_t payload_length) const {
  return headroom() + PaddedLength(payload_length, transform_.block_size) + transform_.icv_size;
}

size_t OutboundSa::MaxPayloadFor(size_t esp_budget) const {
  const size_t fixed = headroom() + transform_.icv_size;
  if (esp_budget < fixed + transform_.block_size) return 0;
  const size_t blocks = (esp_budget - fixed) / transform_.block_size;
  return blocks * transform_.block_size - kEspTrailerSize;
}

Result<OutboundSa::Protected> OutboundSa::Protect(unsigned worker, uint8_t* buffer, size_t capacity,
                                                  size_t payload_offset, size_t payload_length,
                                                  uint8_t next_header) {
  return DoProtect(worker, buffer, capacity, payload_offset, payload_length, next_header, nullptr);
}

Result<OutboundSa::Protected> OutboundSa::ProtectWithIv(unsigned worker, uint8_t* buffer,
                                                        size_t capacity, size_t payload_offset,
                                                        size_t payload_length, uint8_t next_header,
                                                        ByteSpan iv) {
  if (iv.size() != transform_.iv_size) return Invalid("IV size does not match the transform");
  return DoProtect(worker, buffer, capacity, payload_offset, payload_length, next_header,
                   transform_.iv_size > 0 ? iv.data() : nullptr);
}

Result<uint64_t> OutboundSa::NextSequence() {
  // RFC 4303 §3.3.3: the counter must never cycle; the SA must be rekeyed before. One atomic
  // add is the only synchronisation between workers.
  const uint64_t seq = counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (seq == 0 || (!esn_ && seq > kMaxSequence32)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "ESP sequence number would cycle: the SA must be rekeyed");
  }
  return seq;
}

size_t OutboundSa::AeadInputs(uint64_t seq, const uint8_t* fixed_iv, uint8_t* iv, uint8_t* nonce,
                              uint8_t* aad) const {
  const uint32_t seq_low = static_cast<uint32_t>(seq);
  const uint32_t seq_high = static_cast<uint32_t>(seq >> 32);
  // RFC 4106 §3.1 / RFC 7634 §2: the 8-octet IV is the sequence number (unique per key);
  // nonce = salt || IV (RFC 4106 §4, RFC 7634 §2).
  if (fixed_iv != nullptr) {
    std::memcpy(iv, fixed_iv, 8);
  } else {
    Store32(iv, seq_high);
    Store32(iv + 4, seq_low);
  }
  std::memcpy(nonce, crypto_->salt(), crypto::kAeadSaltSize);
  std::memcpy(nonce + crypto::kAeadSaltSize, iv, 8);
  // RFC 4106 §5, RFC 7634 §2.1: AAD = SPI || seq, or SPI || seq high || seq low with ESN.
  Store32(aad, spi_);
  if (esn_) {
    Store32(aad + 4, seq_high);
    Store32(aad + 8, seq_low);
    return 12;
  }
  Store32(aad + 4, seq_low);
  return 8;
}

Result<OutboundSa::Protected> OutboundSa::ProtectParts(unsigned worker, const ByteSpan* parts,
                                                       size_t count, uint8_t next_header,
                                                       uint8_t* out, size_t capacity) {
  if (count > kMaxParts) return Invalid("too many payload parts");
  size_t payload_length = 0;
  for (size_t i = 0; i < count; ++i) payload_length += parts[i].size();
  const size_t head = headroom();
  if (out == nullptr || capacity < head) return Invalid("too little room for ESP");
  if (transform_.kind != Kind::kAead) {
    // CBC and NULL encrypt in place: gather the payload after the header first.
    if (capacity - head < payload_length) return Invalid("too little tailroom for ESP");
    size_t at = head;
    for (size_t i = 0; i < count; ++i) {
      if (!parts[i].empty()) std::memcpy(out + at, parts[i].data(), parts[i].size());
      at += parts[i].size();
    }
    return DoProtect(worker, out, capacity, head, payload_length, next_header, nullptr);
  }
  if (worker >= crypto_->workers()) return Invalid("worker index out of range");
  if (payload_length > 0xFFFF) return Invalid("payload longer than an IP packet");
  const size_t padded = PaddedLength(payload_length, transform_.block_size);
  if (capacity - head < padded + transform_.icv_size) return Invalid("too little tailroom for ESP");
  Result<uint64_t> next = NextSequence();
  if (!next.ok()) return next.error();
  const uint64_t seq = *next;
  Store32(out, spi_);
  Store32(out + 4, static_cast<uint32_t>(seq));  // RFC 4304 §2: only the low 32 bits are sent
  uint8_t nonce[crypto::kAeadNonceSize];
  uint8_t aad[12];
  const size_t aad_size = AeadInputs(seq, nullptr, out + kEspHeaderSize, nonce, aad);
  // RFC 4303 §2.4: padding 1, 2, 3, ..., pad length, next header; encrypted after the parts.
  uint8_t trailer[256 + kEspTrailerSize];
  const size_t pad_length = padded - payload_length - kEspTrailerSize;
  for (size_t i = 0; i < pad_length; ++i) trailer[i] = static_cast<uint8_t>(i + 1);
  trailer[pad_length] = static_cast<uint8_t>(pad_length);
  trailer[pad_length + 1] = next_header;
  ByteSpan all[kMaxParts + 1];
  for (size_t i = 0; i < count; ++i) all[i] = parts[i];
  all[count] = ByteSpan(trailer, pad_length + kEspTrailerSize);
  WorkerCrypto& w = crypto_->worker(worker);
  if (!w.aead->SealParts(nonce, ByteSpan(aad, aad_size), all, count + 1, out + head).ok()) {
    return MakeError(ErrorCode::kInternal, "ESP protect: crypto failure");
  }
  Protected p;
  p.offset = 0;
  p.length = head + padded + transform_.icv_size;
  p.sequence = seq;
  p.rekey_due = seq >= (esn_ ? kEsnRekeyThreshold : kSeqRekeyThreshold);
  return p;
}

Result<OutboundSa::Protected> OutboundSa::DoProtect(unsigned worker, uint8_t* buffer,
                                                    size_t capacity, size_t payload_offset,
                                                    size_t payload_length, uint8_t next_header,
                                                    const uint8_t* fixed_iv) {
  if (worker >= crypto_->workers()) return Invalid("worker index out of range");
  const size_t head = headroom();
  if (buffer == nullptr || payload_offset < head) return Invalid("too little headroom for ESP");
  if (payload_length > 0xFFFF) return Invalid("payload longer than an IP packet");
  const size_t padded = PaddedLength(payload_length, transform_.block_size);
  const size_t tail = padded - payload_length + transform_.icv_size;
  if (capacity < payload_offset || capacity - payload_offset < payload_length + tail) {
    return Invalid("too little tailroom for ESP");
  }

  Result<uint64_t> next = NextSequence();
  if (!next.ok()) return next.error();
  const uint64_t seq = *next;
  const uint32_t seq_low = static_cast<uint32_t>(seq);
  const uint32_t seq_high = static_cast<uint32_t>(seq >> 32);

  uint8_t* esp = buffer + payload_offset - head;
  Store32(esp, spi_);
  Store32(esp + 4, seq_low);  // RFC 4304 §2: only the low 32 bits are sent
  uint8_t* plain = buffer + payload_offset;
  uint8_t* trailer = plain + payload_length;
  const size_t pad_length = padded - payload_length - kEspTrailerSize;
  // RFC 4303 §2.4: the default padding is 1, 2, 3, ...
  for (size_t i = 0; i < pad_length; ++i) trailer[i] = static_cast<uint8_t>(i + 1);
  trailer[pad_length] = static_cast<uint8_t>(pad_length);
  trailer[pad_length + 1] = next_header;
  uint8_t* icv = plain + padded;

  WorkerCrypto& w = crypto_->worker(worker);
  Status status;
  if (transform_.kind == Kind::kAead) {
    // RFC 4106 §3.1 / RFC 7634 §2: the 8-octet IV is the sequence number (unique per key);
    // nonce = salt || IV (RFC 4106 §4, RFC 7634 §2).
    uint8_t nonce[crypto::kAeadNonceSize];
    uint8_t aad[12];
    const size_t aad_size = AeadInputs(seq, fixed_iv, esp + kEspHeaderSize, nonce, aad);
    status = w.aead->Seal(nonce, ByteSpan(aad, aad_size), ByteSpan(plain, padded), plain);
  } else {
    if (transform_.kind == Kind::kCbcHmac) {
      // RFC 3602 §3: a fresh unpredictable IV per packet, carried in front of the ciphertext.
      uint8_t* iv = esp + kEspHeaderSize;
      if (fixed_iv != nullptr) {
        std::memcpy(iv, fixed_iv, transform_.iv_size);
      } else {
        status = w.iv->Next(iv, transform_.iv_size);
      }
      if (status.ok()) {
        status = w.cbc->Encrypt(ByteSpan(iv, transform_.iv_size), ByteSpan(plain, padded), plain);
      }
    }
    // RFC 4303 §3.3.4: the ICV covers SPI, sequence number, IV and ciphertext; with ESN the
    // high 32 bits are appended for the computation only (RFC 4303 §3.3.2.2.1, RFC 4304 §2).
    if (status.ok()) status = w.integrity->Begin();
    if (status.ok()) status = w.integrity->Update(ByteSpan(esp, head + padded));
    if (status.ok() && esn_) {
      uint8_t high[4];
      Store32(high, seq_high);
      status = w.integrity->Update(ByteSpan(high, 4));
    }
    if (status.ok()) status = w.integrity->Finish(icv);
  }
  if (!status.ok()) return MakeError(ErrorCode::kInternal, "ESP protect: crypto failure");

  Protected out;
  out.offset = payload_offset - head;
  out.length = head + padded + transform_.icv_size;
  out.sequence = seq;
  out.rekey_due = seq >= (esn_ ? kEsnRekeyThreshold : kSeqRekeyThreshold);
  return out;
}

}  // namespace ipsec::engine::esp
