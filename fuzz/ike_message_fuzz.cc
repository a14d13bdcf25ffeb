// libFuzzer target: DecodeMessage, CheckPayloadRules and the re-encoding invariant.
//
// Invariants checked (a violation aborts, which libFuzzer reports as a crash):
//  - decoding never crashes, leaks or reads out of bounds (ASan/UBSan);
//  - a decoded plaintext message re-encodes to bytes that decode to the same message, and
//    encoding that again gives the same bytes (the encoder is canonical);
//  - the same for the payload chain inside an SK payload, read as if it were plaintext.

#include <cstdint>
#include <cstdlib>

#include "engine/ike/codec/codec_error.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/payload.h"
#include "engine/ike/codec/payload_rules.h"

namespace codec = ipsec::engine::ike::codec;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckChainRoundTrip(codec::PayloadType first, const std::vector<codec::PayloadEntry>& chain) {
  const ipsec::Bytes bytes = codec::EncodePayloadChain(chain);
  auto again = codec::DecodePayloadChain(chain.empty() ? codec::PayloadType::kNone : first, bytes);
  Check(again.ok());
  Check(again.value() == chain);
  Check(codec::EncodePayloadChain(again.value()) == bytes);
}

void CheckMessageRoundTrip(const codec::Message& m) {
  const ipsec::Bytes bytes = codec::EncodeMessage(m);
  auto again = codec::DecodeMessage(bytes);
  Check(again.ok());
  codec::Message a = m, b = again.value();
  a.header.length = b.header.length = 0;
  a.header.next_payload = b.header.next_payload = codec::PayloadType::kNone;
  Check(a == b);
  Check(codec::EncodeMessage(again.value()) == bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ipsec::ByteSpan in(data, size);
  auto m = codec::DecodeMessage(in);
  if (!m.ok()) {
    Check(codec::CodecErrorOf(m.error()) != codec::CodecError::kNone);
    return 0;
  }
  if (!m->encrypted) {
    (void)codec::CheckPayloadRules(m.value(), nullptr);
    CheckMessageRoundTrip(m.value());
    return 0;
  }
  const codec::EncryptedPayload& e = *m->encrypted;
  Check(e.offset + e.length == size);
  if (e.length < e.header_size()) return 0;
  auto inner = codec::DecodePayloadChain(e.first_inner, in.subspan(e.offset + e.header_size()));
  if (!inner.ok()) return 0;
  (void)codec::CheckPayloadRules(m.value(), &inner.value());
  (void)codec::FindUnsupportedCritical(inner.value());
  CheckChainRoundTrip(e.first_inner, inner.value());
  return 0;
}
