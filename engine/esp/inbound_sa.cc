#include "engine/esp/inbound_sa.h"

#include <cstring>

#include "engine/crypto/aead.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/sa_crypto.h"

namespace ipsec::engine::esp {
namespace {

using Kind = ResolvedTransform::Kind;

}  // namespace

Result<std::unique_ptr<InboundSa>> InboundSa::Create(const SaParams& params) {
  if (params.protocol != Protocol::kEsp) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "InboundSa is ESP only; AH has AhInboundSa (ah.h)");
  }
  Result<ResolvedTransform> resolved = ResolveTransform(params.protocol, params.transform);
  if (!resolved.ok()) return resolved.error();
  Result<std::unique_ptr<SaCrypto>> crypto =
      SaCrypto::Create(*resolved, params.transform, params.workers, /*outbound=*/false);
  if (!crypto.ok()) return crypto.error();
  return std::unique_ptr<InboundSa>(
      new InboundSa(params, std::move(resolved).value(), std::move(crypto).value()));
}

InboundSa::InboundSa(const SaParams& params, ResolvedTransform transform,
                     std::unique_ptr<SaCrypto> crypto)
    : spi_(params.spi),
      mode_(params.mode),
      esn_(params.transform.esn),
      transform_(std::move(transform)),
      crypto_(std::move(crypto)),
      window_(params.replay_window, params.transform.esn) {}

InboundSa::~InboundSa() = default;

uint64_t InboundSa::highest_sequence() const {
  std::lock_guard<std::mutex> lock(window_lock_);
  return window_.top();
}

void InboundSa::CommitForTesting(uint64_t seq) {
  std::lock_guard<std::mutex> lock(window_lock_);
  (void)window_.CheckAndCommit(seq);
}

std::variant<InboundSa::Unprotected, DropReason> InboundSa::Unprotect(unsigned worker,
                                                                      uint8_t* packet,
                                                                      size_t length) {
  if (worker >= crypto_->workers()) return DropReason::kInternal;  // the caller's bug
  const size_t head = kEspHeaderSize + transform_.iv_size;
  const size_t icv_size = transform_.icv_size;
  // CBC needs whole blocks; the others at least the trailer (RFC 4303 §2.4).
  const bool cbc = transform_.kind == Kind::kCbcHmac;
  const size_t min_body = cbc ? transform_.block_size : kEspTrailerSize;
  if (packet == nullptr || length < head + min_body + icv_size || length > 0xFFFF) {
    return DropReason::kMalformed;
  }
  const size_t body = length - head - icv_size;  // ciphertext (or plaintext with ESP-null)
  if (cbc && body % transform_.block_size != 0) return DropReason::kMalformed;
  if (Load32(packet) != spi_) return DropReason::kMalformed;

  // RFC 4303 §3.4.3: the replay check comes first (cheap), before the ICV.
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(window_lock_);
    std::optional<uint64_t> inferred = window_.Infer(Load32(packet + 4));
    if (!inferred || !window_.Check(*inferred)) return DropReason::kReplay;
    seq = *inferred;
  }
  const uint32_t seq_high = static_cast<uint32_t>(seq >> 32);

  // RFC 4303 §3.4.4: verify the ICV, then decrypt. Outside the lock: workers run in parallel.
  WorkerCrypto& w = crypto_->worker(worker);
  uint8_t* plain = packet + head;
  if (transform_.kind == Kind::kAead) {
    uint8_t nonce[crypto::kAeadNonceSize];
    std::memcpy(nonce, crypto_->salt(), crypto::kAeadSaltSize);
    std::memcpy(nonce + crypto::kAeadSaltSize, packet + kEspHeaderSize, 8);
    // RFC 4106 §5, RFC 7634 §2.1.
    uint8_t aad[12];
    size_t aad_size = 8;
    std::memcpy(aad, packet, 4);
    if (esn_) {
      Store32(aad + 4, seq_high);
      std::memcpy(aad + 8, packet + 4, 4);
      aad_size = 12;
    } else {
      std::memcpy(aad + 4, packet + 4, 4);
    }
    Status s =
        w.aead->Open(nonce, ByteSpan(aad, aad_size), ByteSpan(plain, body + icv_size), plain);
    if (!s.ok()) return crypto::IsAuthFailure(s) ? DropReason::kIntegrity : DropReason::kInternal;
  } else {
    // RFC 4303 §3.3.2.2.1 / RFC 4304 §2: the ESN high half is appended for the ICV only.
    bool ok = w.integrity->Begin().ok() && w.integrity->Update(ByteSpan(packet, head + body)).ok();
    if (ok && esn_) {
      uint8_t high[4];
      Store32(high, seq_high);
      ok = w.integrity->Update(ByteSpan(high, 4)).ok();
    }
    if (!ok || !w.integrity->FinishAndVerify(ByteSpan(plain + body, icv_size))) {
      return DropReason::kIntegrity;
    }
    if (cbc) {
      const ByteSpan iv(packet + kEspHeaderSize, transform_.iv_size);
      if (!w.cbc->Decrypt(iv, ByteSpan(plain, body), plain).ok()) return DropReason::kInternal;
    }
  }

  // Authentic: commit (../shared/STYLE.md rule 8). A duplicate that another worker committed
  // meanwhile is a replay after all.
  {
    std::lock_guard<std::mutex> lock(window_lock_);
    if (!window_.CheckAndCommit(seq)) return DropReason::kReplay;
  }

  // RFC 4303 §2.4-2.6: pad length, padding 1, 2, 3, ... (the receiver SHOULD check it), next
  // header.
  const uint8_t pad_length = plain[body - 2];
  const uint8_t next_header = plain[body - 1];
  if (size_t{pad_length} + kEspTrailerSize > body) return DropReason::kPadding;
  const size_t payload_length = body - kEspTrailerSize - pad_length;
  const uint8_t* pad = plain + payload_length;
  for (size_t i = 0; i < pad_length; ++i) {
    if (pad[i] != static_cast<uint8_t>(i + 1)) return DropReason::kPadding;
  }
  // RFC 4303 §2.6: a dummy packet is discarded silently (the caller counts it).
  if (next_header == kNextHeaderNone) return DropReason::kDummy;

  Unprotected out;
  out.payload_offset = head;
  out.payload_length = payload_length;
  out.next_header = next_header;
  out.sequence = seq;
  return out;
}

}  // namespace ipsec::engine::esp
