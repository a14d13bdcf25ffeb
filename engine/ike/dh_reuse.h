#pragma once

// The responder's Diffie-Hellman key pairs, reused for a bounded time (RFC 7296 §2.12):
//
//   "Because computing Diffie-Hellman exponentials is computationally expensive, an endpoint
//    may find it advantageous to reuse those exponentials for multiple connection setups.
//    [...] An endpoint could choose a new exponential only periodically though this could
//    result in less-than-perfect forward secrecy if some connection lasts for less than the
//    lifetime of the exponential."
//
// A responder's IKE_SA_INIT costs two scalar multiplications (key generation and the shared
// secret); reusing the key pair saves the first. The bounds keep the loss of forward secrecy
// small: a key pair serves at most `max_uses` IKE_SA_INITs during `max_age` from its creation,
// and is dropped from the pool at `max_age` (IkeManager wakes up for it: NextExpiry); a
// half-open SA keeps its key pair until its IKE_AUTH derives the keys (IkeSa::pending_dh) or
// it expires, so an SA's keys can be recomputed from memory at most max(`max_age`, its
// IKE_AUTH) after its IKE_SA_INIT. Every SA still has its
// own SKEYSEED: the nonces (and SPIs) differ (§2.14). A peer KE equal to our public value
// (reflected) gets a fresh key pair. Initiators never reuse. Only the loop thread uses it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/key_exchange.h"

namespace ipsec::engine::ike {

using SteadyTime = std::chrono::steady_clock::time_point;

struct DhReuseLimits {
  std::chrono::milliseconds max_age{1000};  // 0: no reuse, a fresh key pair per IKE_SA_INIT
  uint32_t max_uses = 128;
};

class DhReusePool {
 public:
  explicit DhReusePool(DhReuseLimits limits = {}) : limits_(limits) {}
  DhReusePool(const DhReusePool&) = delete;
  DhReusePool& operator=(const DhReusePool&) = delete;

  // A key pair of `group` for a responder's IKE_SA_INIT whose KE data is `peer_public`.
  Result<std::shared_ptr<const crypto::KeyExchange>> Get(crypto::Group group, ByteSpan peer_public,
                                                         SteadyTime now);
  // Drops the key pairs older than max_age (SAs still negotiating keep theirs until done).
  void Expire(SteadyTime now);
  // When the oldest key pair must be dropped; max() when there is none.
  SteadyTime NextExpiry() const;

  uint64_t generated() const { return generated_; }
  uint64_t reused() const { return reused_; }

 private:
  struct Slot {
    crypto::Group group;
    std::shared_ptr<const crypto::KeyExchange> key;
    SteadyTime born;
    uint32_t uses = 0;
  };
  DhReuseLimits limits_;
  std::vector<Slot> slots_;  // one per group at most
  uint64_t generated_ = 0;
  uint64_t reused_ = 0;
};

}  // namespace ipsec::engine::ike
