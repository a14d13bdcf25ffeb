#pragma once

// Which payloads each IKEv2 message may carry: per exchange and direction, how often each type
// may appear and whether it must be inside SK (strongSwan's payload rule tables; RFC 7296 §1.2
// to §1.5 message notation). The IKE exchanges see only messages that pass these checks.

#include <cstdint>
#include <span>
#include <vector>

#include "engine/common/result.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/messages.h"
#include "engine/ike/codec/payload.h"

namespace ipsec::engine::ike::codec {

inline constexpr uint8_t kUnlimited = 0xff;

struct PayloadRule {
  PayloadType type;
  uint8_t min;     // occurrences required (waived in error responses, see below)
  uint8_t max;     // kUnlimited: no limit beyond kMaxPayloadsPerChain
  bool encrypted;  // must be inside SK
};

struct MessageRules {
  ExchangeType exchange;
  bool response;
  bool requires_sk;  // the message must carry an SK (or SKF) payload
  std::span<const PayloadRule> rules;
};

// The table for a message; nullptr for an exchange type we do not know. `has_sk` matters only
// for INFORMATIONAL: without SK it may carry only notifications (§1.5).
const MessageRules* FindMessageRules(ExchangeType exchange, bool is_response, bool has_sk);

// Checks a decoded (and, if protected, decrypted) message against its table:
//  - an unknown payload with the critical bit → kUnsupportedCritical (answer
//    UNSUPPORTED_CRITICAL_PAYLOAD with FindUnsupportedCritical's type, §2.5); other unknown
//    payloads are skipped;
//  - a type the table lacks → kPayloadNotAllowed; outside SK when it must be inside →
//    kNotEncrypted; more than max → kTooManyPayloads; fewer than min → kMissingPayload, except
//    in a response carrying an error Notify, or in an IKE_SA_INIT response carrying N(COOKIE)
//    (§1.2, §2.6: such a response may be just the notification);
//  - SA payloads of responses hold exactly one proposal (§3.3.1); TSi and TSr come together,
//    and in IKE_AUTH together with SA (§1.2).
// `encrypted` is the inner payload list, or nullptr when the message has no SK payload.
Status CheckPayloadRules(ExchangeType exchange, bool is_response,
                         const std::vector<PayloadEntry>& plaintext,
                         const std::vector<PayloadEntry>* encrypted);
Status CheckPayloadRules(const Message& message, const std::vector<PayloadEntry>* encrypted);

}  // namespace ipsec::engine::ike::codec
