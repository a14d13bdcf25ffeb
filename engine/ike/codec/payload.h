#pragma once

// RFC 7296 §3.2: Generic Payload Header, and the payload chain it links.
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Payload Length covers the generic header. C (critical): the receiver rejects the message if it
// does not understand the payload type; "MUST be ignored by the recipient if the recipient
// understands the payload type code". Payloads of types this codec does not know decode to an
// OpaquePayload; CheckPayloadRules turns a critical one into kUnsupportedCritical (§2.5), a
// non-critical one is skipped.

#include <optional>
#include <variant>
#include <vector>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/auth_payload.h"
#include "engine/ike/codec/cert_payload.h"
#include "engine/ike/codec/cp_payload.h"
#include "engine/ike/codec/delete_payload.h"
#include "engine/ike/codec/encrypted_payload.h"
#include "engine/ike/codec/id_payload.h"
#include "engine/ike/codec/ke_payload.h"
#include "engine/ike/codec/messages.h"
#include "engine/ike/codec/nonce_payload.h"
#include "engine/ike/codec/notify_payload.h"
#include "engine/ike/codec/sa_payload.h"
#include "engine/ike/codec/ts_payload.h"
#include "engine/ike/codec/vendor_id_payload.h"

namespace ipsec::engine::ike::codec {

// EAP (§3.16: we do not do EAP) and payload types this codec does not know: the body as sent.
struct OpaquePayload {
  Bytes data;
  bool operator==(const OpaquePayload&) const = default;
};

using Payload = std::variant<SaPayload, KePayload, IdPayload, CertPayload, CertReqPayload,
                             AuthPayload, NoncePayload, NotifyPayload, DeletePayload,
                             VendorIdPayload, TsPayload, CpPayload, OpaquePayload>;

// One payload of a chain. `type` tells IDi from IDr and TSi from TSr and holds the raw number
// of an unknown payload; the alternative held must match it (IdPayload for kIdi/kIdr, ...).
struct PayloadEntry {
  PayloadType type = PayloadType::kNone;
  bool critical = false;
  Payload payload;
  bool operator==(const PayloadEntry&) const = default;
};

// "SA", "KE", "IDi", ..., "N", "D", "V", "SK", "SKF"; "unknown" otherwise.
const char* PayloadTypeName(PayloadType type);
// Types this codec parses (RFC 7296 §3.2's list plus SKF).
bool IsKnownPayloadType(PayloadType type);

// Decodes a chain of plaintext payloads starting with type `first` and filling `data` exactly,
// such as the decrypted content of an SK payload. SK and SKF are refused here (§3.14: an
// Encrypted payload MUST NOT contain another).
Result<std::vector<PayloadEntry>> DecodePayloadChain(PayloadType first, ByteSpan data);

// Encodes `payloads` linked by their Next Payload fields, the last one's zero. The chain's first
// type (for the header or SK's Next Payload) is payloads.front().type. Precondition: each entry
// holds the alternative its type calls for, and each body fits in 64 KiB.
Bytes EncodePayloadChain(const std::vector<PayloadEntry>& payloads);
void EncodePayloadChain(const std::vector<PayloadEntry>& payloads, PayloadType last_next,
                        ByteWriter& out);
// A payload's body without the generic header (e.g. RestOfIDPayload for AUTH, §2.15).
Bytes EncodePayloadBody(const Payload& payload);

// The first unknown payload with the critical bit, for UNSUPPORTED_CRITICAL_PAYLOAD's data.
std::optional<PayloadType> FindUnsupportedCritical(const std::vector<PayloadEntry>& payloads);

// The first payload of `type`, as T; nullptr if none (or it holds another alternative).
template <typename T>
const T* FindPayload(const std::vector<PayloadEntry>& payloads, PayloadType type) {
  for (const PayloadEntry& e : payloads) {
    if (e.type == type) return std::get_if<T>(&e.payload);
  }
  return nullptr;
}
// The first Notify of `type`; nullptr if none.
const NotifyPayload* FindNotify(const std::vector<PayloadEntry>& payloads, NotifyType type);
// The first error Notify (type < 16384); nullptr if none.
const NotifyPayload* FindErrorNotify(const std::vector<PayloadEntry>& payloads);

namespace internal {
// The chain decoder behind DecodePayloadChain and DecodeMessage. With `encrypted` non-null, an
// SK or SKF payload ends the chain (it must be the last) and is described there, its offset
// counted from `base_offset`; with it null, SK/SKF is an error.
Status DecodeChain(PayloadType first, ByteSpan data, size_t base_offset,
                   std::vector<PayloadEntry>* out, std::optional<EncryptedPayload>* encrypted);
}  // namespace internal

}  // namespace ipsec::engine::ike::codec
