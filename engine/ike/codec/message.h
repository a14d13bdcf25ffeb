#pragma once

// An IKEv2 message: RFC 7296 §3.1 header and the §3.2 payload chain.
//
//   HDR, payload, payload, ..., [SK { inner payloads } | SKF { fragment }]
//
// Pure functions (../shared/STYLE.md rule 3): no state, no I/O. Decoding never trusts a length
// field and reports every fault as a typed codec error (codec_error.h).

#include <optional>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/ike/codec/encrypted_payload.h"
#include "engine/ike/codec/header.h"
#include "engine/ike/codec/payload.h"

namespace ipsec::engine::ike::codec {

struct Message {
  Header header;
  // The plaintext payloads (all of them in IKE_SA_INIT; usually none before an SK).
  std::vector<PayloadEntry> payloads;
  // The SK or SKF payload ending the chain, not yet decrypted (sk.h does that).
  std::optional<EncryptedPayload> encrypted;
  bool operator==(const Message&) const = default;
};

// Decodes one datagram (without the RFC 3948 non-ESP marker). Checks: size <= kMaxMessageSize,
// major version 2 (else kUnsupportedVersion: answer INVALID_MAJOR_VERSION, §2.5, using
// DecodeHeader for the SPIs), Length equal to the datagram's size, every payload well formed,
// SK/SKF last. Payload rules per exchange are CheckPayloadRules's (payload_rules.h).
Result<Message> DecodeMessage(ByteSpan datagram);

// Encodes header and plaintext payloads, computing Next Payload fields and lengths. For
// messages with an SK payload use EncodeProtected (sk.h); `encrypted` must be empty here.
Bytes EncodeMessage(const Message& message);

}  // namespace ipsec::engine::ike::codec
