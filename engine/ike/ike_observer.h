#pragma once

// What the IKE engine reports (counters, the IKE log, metrics), without knowing where it goes
// (../shared/DESIGN.md: engine/ reports through plain interfaces). Called on the IKE thread.
// Nothing passed here carries key material.

#include <chrono>
#include <string>

#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike {

struct IkeSa;
struct ChildSa;

enum class Role { kInitiator, kResponder };
const char* Name(Role r);  // initiator, responder

// Bounded reasons a negotiation fails (metric label values).
enum class FailureReason {
  kNone,
  kNoProposalChosen,
  kAuthenticationFailed,
  kTsUnacceptable,
  kInvalidKePayload,
  kTimeout,          // retransmissions exhausted
  kPeerError,        // another error notification from the peer
  kInvalidMessage,   // malformed, failed integrity, or violated the payload rules
  kInternal,         // our side could not complete (e.g. the data path refused the SA)
  kUnsupportedAuth,  // no usable authentication method (e.g. only Kerberos)
};
const char* Name(FailureReason r);
FailureReason ReasonForNotify(codec::NotifyType t);

enum class DosDropReason {
  kHalfOpenPerPeer,      // FAQ 59: 35 half-open per IP
  kHalfOpenPerPeerPort,  // FAQ 59: 5 half-open per IP:port once an SA with the IP is up
  kInvalidCookie,        // RFC 7296 §2.6: forged or stale
  kEvicted,              // a half-open responder SA removed to admit a newer one (the cap)
};
const char* Name(DosDropReason r);

// Why an inbound IKE datagram was discarded without changing anything (metric label values;
// bounded). Every peer is hostile until a message's integrity checks out (RFC 7296 §2.21.4):
// whatever fails a check before that is counted here, by the first check it failed.
enum class IkeDropReason {
  kMalformed,           // does not decode, or breaks the exchange's payload rules (§2.21.1)
  kUnknownSpi,          // names no IKE SA of ours (§2.21.4: no INVALID_IKE_SPI is sent)
  kUnprotected,         // no SK payload where keys exist (§1.5: at most a hint, never acted on)
  kIntegrity,           // its SK or SKF payload failed the integrity check (§3.14, RFC 7383)
  kRetransmitMismatch,  // the answered request's message ID, but not its bytes or sender (§2.1)
  kOutOfWindow,         // a message ID neither expected nor just answered (§2.3)
  kDuplicate,           // a copy of what was handled already: a late response, a fragment
                        // other than the first of a retransmitted request (RFC 7383 §2.6.1)
  kUnexpectedExchange,  // an exchange the SA's state does not allow (IKE_SA_INIT on an SA
                        // past it, CREATE_CHILD_SA before IKE_AUTH, ...)
  kDos,                 // refused by the denial-of-service limits (dos.h; FAQ 59)
  // Counted by the UDP transport before the engine sees a datagram (engine/net):
  kTooLarge,            // over the largest datagram we read
  kReceiveQueueFull,    // the kernel's socket receive queue was full (SO_RXQ_OVFL): a flood
};
inline constexpr int kIkeDropReasonCount = 11;
const char* Name(IkeDropReason r);

class IkeObserver {
 public:
  virtual ~IkeObserver() = default;
  // One exchange finished (both roles): IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL.
  virtual void OnExchange(codec::ExchangeType exchange, Role role, FailureReason result,
                          std::chrono::nanoseconds duration) = 0;
  virtual void OnIkeSaUp(const IkeSa& sa) = 0;
  virtual void OnIkeSaDown(const IkeSa& sa, const std::string& why) = 0;
  virtual void OnChildSaUp(const IkeSa& sa, const ChildSa& child) = 0;
  virtual void OnChildSaDown(const IkeSa& sa, const ChildSa& child, const std::string& why) = 0;
  virtual void OnRetransmit(const IkeSa& sa, codec::ExchangeType exchange) = 0;
  virtual void OnDosDrop(DosDropReason reason) = 0;
  virtual void OnCookieSent() = 0;
  virtual void OnRekey(bool ike_sa) = 0;
  // FAQ 16: traffic of `rule` with `peer` now flows in clear (active) because the peer did not
  // answer our negotiation, or may be secured again (!active: the fallback ended).
  virtual void OnFallbackToClear(const std::string& rule, const std::string& peer, bool active) {
    (void)rule, (void)peer, (void)active;
  }
  // One step of a negotiation, for the IKE log (FAQ 39): "sending IKE_SA_INIT request ...".
  virtual void OnLog(const IkeSa* sa, const std::string& line) = 0;
};

class NullIkeObserver final : public IkeObserver {
 public:
  void OnExchange(codec::ExchangeType, Role, FailureReason, std::chrono::nanoseconds) override {}
  void OnIkeSaUp(const IkeSa&) override {}
  void OnIkeSaDown(const IkeSa&, const std::string&) override {}
  void OnChildSaUp(const IkeSa&, const ChildSa&) override {}
  void OnChildSaDown(const IkeSa&, const ChildSa&, const std::string&) override {}
  void OnRetransmit(const IkeSa&, codec::ExchangeType) override {}
  void OnDosDrop(DosDropReason) override {}
  void OnCookieSent() override {}
  void OnRekey(bool) override {}
  void OnLog(const IkeSa*, const std::string&) override {}
};

}  // namespace ipsec::engine::ike
