#include "engine/ike/codec/encrypted_payload.h"

#include <string>

#include "engine/common/byte_io.h"
#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<EncryptedPayload> DecodeEncryptedPayload(PayloadType type, PayloadType next_payload,
                                                bool critical, size_t offset, ByteSpan body) {
  EncryptedPayload e;
  e.type = type;
  e.first_inner = next_payload;
  e.critical = critical;
  e.offset = offset;
  e.length = kGenericPayloadHeaderSize + body.size();
  if (type != PayloadType::kSkf) return e;

  ByteReader r(body);
  if (!r.ReadUint16(&e.fragment_number) || !r.ReadUint16(&e.total_fragments)) {
    return MakeCodecError(CodecError::kTruncated, "SKF header");
  }
  if (e.fragment_number == 0 || e.total_fragments == 0 || e.fragment_number > e.total_fragments) {
    return MakeCodecError(CodecError::kBadFragment, "fragment " +
                                                        std::to_string(e.fragment_number) + " of " +
                                                        std::to_string(e.total_fragments));
  }
  if (e.total_fragments > kMaxFragments) {
    return MakeCodecError(CodecError::kTooLarge, std::to_string(e.total_fragments) + " fragments");
  }
  // RFC 7383 §2.5: zero after the first fragment; like strongSwan, ignore a non-zero value.
  if (e.fragment_number > 1) e.first_inner = PayloadType::kNone;
  return e;
}

}  // namespace ipsec::engine::ike::codec
