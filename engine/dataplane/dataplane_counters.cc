#include "engine/dataplane/dataplane_counters.h"

namespace ipsec::engine::dataplane {

const char* Name(DropReason reason) {
  static const char* kNames[kDropReasonCount] = {
      "replay",     "integrity",   "no_sa",           "policy_block", "plaintext",
      "queue_full", "ts_mismatch", "malformed",       "too_big",      "send_error",
      "no_policy",  "reassembly",  "bundle_mismatch", "expired"};
  const int i = static_cast<int>(reason);
  return i >= 0 && i < kDropReasonCount ? kNames[i] : "unknown";
}

const char* Name(TrafficDirection d) {
  return d == TrafficDirection::kOutbound ? "outbound" : "inbound";
}

}  // namespace ipsec::engine::dataplane
