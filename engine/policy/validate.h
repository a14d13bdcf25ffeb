#pragma once

#include "engine/common/result.h"
#include "engine/policy/model.h"

namespace ipsec::engine::policy {

// Checks a policy as a whole: names present and unique, references resolve, algorithms fit
// their protocol (AEAD has no separate integrity; ESP-null needs integrity; AH needs integrity),
// legacy algorithms only with allow_legacy_algorithms (FAQ 31-32), ports only with TCP/UDP/SCTP,
// ranges ordered and one family per side, and no filter that negotiates security for multicast
// or broadcast traffic (FAQ 21). The error's path is a JSON pointer into the policy
// ("/rules/1/filter_action"), and its message says what is wrong and how to fix it.
// Kerberos is valid in the model; the engine reports it as unsupported at negotiation time.
Status ValidatePolicy(const Policy& policy);

}  // namespace ipsec::engine::policy
