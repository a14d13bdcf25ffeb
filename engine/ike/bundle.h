#pragma once

// FAQ 46's AH+ESP bundle negotiated with IKEv2, between two ipsec-sidecars.
//
// IKEv2 dropped IKEv1's SA bundles (RFC 7296 §1.7) and an SA payload proposal carries one
// protocol (§3.3), yet one child SA negotiation may create SAs of several protocols: §2.17
// takes their keys "in the order in which the protocol headers will appear in the
// encapsulated packet". We negotiate the bundle as one child SA: the SA payload offers the ESP
// half as any ESP proposal, and a private status notification (§3.10.1, types 40960-65535)
// beside it offers the AH half:
//
//   Protocol ID 2 (AH), SPI Size 4, SPI: the sender's inbound AH SPI,
//   Notification Data: entries of 4 octets:
//     proposal number (1), reserved 0 (1), AH integrity transform ID (2, big endian)
//
// The request lists, for each ESP proposal that is the ESP half of an ah+esp method, the AH
// integrity that goes with it; the reply names exactly the chosen proposal and one integrity.
// Both SA pairs share the child SA's reqid, lifetimes, rekeys and deletes.
//
// A peer that does not know the notification ignores it (§3.10.1: an unrecognised status type
// MUST be ignored) and, if it accepts the ESP proposal at all, answers ESP alone. The
// initiator then refuses the child SA instead of carrying traffic with half the protection the
// policy asks for; the responder never answers a bundle proposal with ESP alone (only an ah+esp
// method accepts one) nor a plain ESP proposal with a bundle.

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/common/result.h"
#include "engine/ike/codec/messages.h"
#include "engine/ike/codec/notify_payload.h"

namespace ipsec::engine::ike {

// Private use (RFC 7296 §3.10.1; IANA "IKEv2 Notify Message Types - Status Types").
inline constexpr codec::NotifyType kAhEspBundleNotify = static_cast<codec::NotifyType>(53046);

struct BundleEntry {
  uint8_t proposal = 0;  // the SA payload proposal it completes
  codec::IntegId ah_integrity = codec::IntegId::kNone;
  bool operator==(const BundleEntry&) const = default;
};

struct BundleNotify {
  uint32_t ah_spi = 0;  // the sender's inbound AH SPI
  std::vector<BundleEntry> entries;
  bool operator==(const BundleNotify&) const = default;
};

codec::NotifyPayload ToNotify(const BundleNotify& b);
// kInvalidArgument for a malformed one: not AH, no 4-octet SPI or SPI 0, data not a non-empty
// multiple of 4 octets, a reserved octet set, or integrity "none".
Result<BundleNotify> ParseBundleNotify(const codec::NotifyPayload& n);

// The AH integrity offered with proposal `number`, if it is a bundle proposal.
std::optional<codec::IntegId> BundleIntegrityFor(const BundleNotify* offer, uint8_t number);

}  // namespace ipsec::engine::ike
