#pragma once

// IKEv2 message fragmentation, RFC 7383: a message too big for the path is sent as several
// messages, each HDR, SKF { part of the inner payloads }, each protected on its own (§2.5).
//
//   HDR(Next Payload SKF), SKF(Fragment Number n, Total Fragments t) { content n }
//
// Only the first fragment's SKF carries the first inner payload's type. All fragments share the
// original message's header fields (Message ID included). The receiver verifies each fragment,
// then reassembles once all t have arrived (§2.6); a larger Total Fragments means the sender
// re-fragmented (PMTU, §2.5.2), so reassembly restarts; a smaller one is stale and dropped.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/random.h"
#include "engine/common/result.h"
#include "engine/ike/codec/header.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/messages.h"
#include "engine/ike/codec/sk.h"

namespace ipsec::engine::ike::codec {

// Splits `inner_payloads` (first type `first_inner`) into protected fragment messages, each at
// most `max_message_size` octets (the IKE message, without IP/UDP headers or the non-ESP
// marker). kTooLarge if more than kMaxFragments would be needed or one fragment cannot hold a
// single octet of content.
Result<std::vector<Bytes>> EncodeFragments(const Header& header, PayloadType first_inner,
                                           ByteSpan inner_payloads, const SkKeys& keys,
                                           Random& random, size_t max_message_size);

// One verified, decrypted fragment.
struct Fragment {
  uint16_t number = 0;
  uint16_t total = 0;
  PayloadType first_inner = PayloadType::kNone;  // fragment 1 only
  Bytes content;
  bool operator==(const Fragment&) const = default;
};

// Verifies and decrypts a decoded HDR, SKF {...} message (DecryptProtected's errors, plus
// kInvalidSyntax if `message` carries SK instead).
Result<Fragment> DecodeFragment(ByteSpan datagram, const Message& message, const SkKeys& keys);

// The reassembled inner payloads of a fragmented message.
struct ReassembledMessage {
  PayloadType first_inner = PayloadType::kNone;
  Bytes inner_payloads;
};

// Collects the fragments of one message (one Message ID of one IKE SA; keeping one assembler
// per message is the IKE layer's job). Bounded: at most kMaxFragments fragments and
// kMaxReassembledSize octets. A value type; no I/O, no clock (the IKE layer times out).
class FragmentAssembler {
 public:
  // Adds a fragment from DecodeFragment. Returns whether the message is now complete.
  // Duplicates and stale fragments (smaller Total Fragments) are ignored; a larger Total
  // Fragments restarts reassembly. kTooLarge (and a reset) beyond kMaxReassembledSize.
  Result<bool> Add(Fragment fragment);
  bool complete() const { return total_ != 0 && received_ == total_; }
  uint16_t total() const { return total_; }
  uint16_t received() const { return received_; }
  // The reassembled message; the assembler is reset. kBadFragment if not complete().
  Result<ReassembledMessage> Take();
  void Reset();

 private:
  uint16_t total_ = 0;
  uint16_t received_ = 0;
  size_t bytes_ = 0;
  PayloadType first_inner_ = PayloadType::kNone;
  std::vector<std::optional<Bytes>> parts_;  // index number - 1
};

}  // namespace ipsec::engine::ike::codec
