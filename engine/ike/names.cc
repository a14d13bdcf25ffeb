#include "engine/ike/child_sa.h"
#include "engine/ike/ike_observer.h"
#include "engine/ike/ike_sa.h"

namespace ipsec::engine::ike {

const char* Name(ChildSaState s) {
  switch (s) {
    case ChildSaState::kInstalled:
      return "installed";
    case ChildSaState::kRekeying:
      return "rekeying";
    case ChildSaState::kRekeyed:
      return "rekeyed";
    case ChildSaState::kDeleting:
      return "deleting";
  }
  return "?";
}

const char* Name(IkeSaState s) {
  switch (s) {
    case IkeSaState::kConnecting:
      return "connecting";
    case IkeSaState::kEstablished:
      return "established";
    case IkeSaState::kRekeying:
      return "rekeying";
    case IkeSaState::kRekeyed:
      return "rekeyed";
    case IkeSaState::kDeleting:
      return "deleting";
    case IkeSaState::kDead:
      return "dead";
  }
  return "?";
}

const char* Name(Role r) { return r == Role::kInitiator ? "initiator" : "responder"; }

const char* Name(FailureReason r) {
  switch (r) {
    case FailureReason::kNone:
      return "success";
    case FailureReason::kNoProposalChosen:
      return "no_proposal_chosen";
    case FailureReason::kAuthenticationFailed:
      return "authentication_failed";
    case FailureReason::kTsUnacceptable:
      return "ts_unacceptable";
    case FailureReason::kInvalidKePayload:
      return "invalid_ke_payload";
    case FailureReason::kTimeout:
      return "timeout";
    case FailureReason::kPeerError:
      return "peer_error";
    case FailureReason::kInvalidMessage:
      return "invalid_message";
    case FailureReason::kInternal:
      return "internal";
    case FailureReason::kUnsupportedAuth:
      return "unsupported_auth";
  }
  return "internal";
}

FailureReason ReasonForNotify(codec::NotifyType t) {
  switch (t) {
    case codec::NotifyType::kNoProposalChosen:
      return FailureReason::kNoProposalChosen;
    case codec::NotifyType::kAuthenticationFailed:
      return FailureReason::kAuthenticationFailed;
    case codec::NotifyType::kTsUnacceptable:
      return FailureReason::kTsUnacceptable;
    case codec::NotifyType::kInvalidKePayload:
      return FailureReason::kInvalidKePayload;
    case codec::NotifyType::kInvalidSyntax:
    case codec::NotifyType::kUnsupportedCriticalPayload:
      return FailureReason::kInvalidMessage;
    default:
      return FailureReason::kPeerError;
  }
}

const char* Name(DosDropReason r) {
  switch (r) {
    case DosDropReason::kHalfOpenPerPeer:
      return "half_open_per_peer";
    case DosDropReason::kHalfOpenPerPeerPort:
      return "half_open_per_peer_port";
    case DosDropReason::kInvalidCookie:
      return "invalid_cookie";
    case DosDropReason::kEvicted:
      return "evicted";
  }
  return "?";
}

const char* Name(IkeDropReason r) {
  switch (r) {
    case IkeDropReason::kMalformed:
      return "malformed";
    case IkeDropReason::kUnknownSpi:
      return "unknown_spi";
    case IkeDropReason::kUnprotected:
      return "unprotected";
    case IkeDropReason::kIntegrity:
      return "integrity";
    case IkeDropReason::kRetransmitMismatch:
      return "retransmit_mismatch";
    case IkeDropReason::kOutOfWindow:
      return "out_of_window";
    case IkeDropReason::kDuplicate:
      return "duplicate";
    case IkeDropReason::kUnexpectedExchange:
      return "unexpected_exchange";
    case IkeDropReason::kDos:
      return "dos";
    case IkeDropReason::kTooLarge:
      return "too_large";
    case IkeDropReason::kReceiveQueueFull:
      return "receive_queue_full";
  }
  return "?";
}

ChildSa* IkeSa::FindChildByInboundSpi(uint32_t spi) {
  for (auto& c : children) {
    if (c.spi_in == spi) return &c;
  }
  return nullptr;
}

ChildSa* IkeSa::FindChildByOutboundSpi(uint32_t spi, codec::ProtocolId protocol) {
  for (auto& c : children) {
    if (c.spi_out == spi && c.algorithms.protocol == protocol) return &c;
    if (c.algorithms.bundle() && c.ah_spi_out == spi && protocol == codec::ProtocolId::kAh) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace ipsec::engine::ike
