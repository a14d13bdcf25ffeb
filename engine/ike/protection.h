#pragma once

// The IKE SA's message protection (RFC 7296 §3.14, RFC 7383): encoding a message's payloads and
// encrypting them in SK (or SKF fragments), and the reverse. Thin glue between an IkeSa's keys
// and the codec's SK functions.

#include <vector>

#include "engine/common/random.h"
#include "engine/common/result.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/sk.h"
#include "engine/ike/ike_sa.h"

namespace ipsec::engine::ike {

// The SK keys for what we send and what the peer sends (RFC 7296 §2.14: SK_ei/SK_ai protect
// the original initiator's messages).
codec::SkKeys OutboundSkKeys(const IkeSa& sa);
codec::SkKeys InboundSkKeys(const IkeSa& sa);

// The datagrams of one outbound protected message: one, or its fragments when the peer
// supports RFC 7383 and the message exceeds `max_datagram`.
Result<std::vector<Bytes>> ProtectMessage(const IkeSa& sa, const codec::Header& header,
                                          const std::vector<codec::PayloadEntry>& payloads,
                                          Random& random, size_t max_datagram);

// The inner payloads of an inbound SK message. Integrity failures are kDataLoss.
Result<std::vector<codec::PayloadEntry>> UnprotectMessage(const IkeSa& sa, ByteSpan datagram,
                                                          const codec::Message& message);

}  // namespace ipsec::engine::ike
