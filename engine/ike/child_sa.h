#pragma once

// A child SA as IKE tracks it (FAQ 48: the quick mode SA pair): the inbound and outbound SA of
// one negotiation, installed in the data path under one reqid.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/dataplane/backend.h"
#include "engine/ike/proposals.h"

namespace ipsec::engine::ike {

// kRekeying: our rekey of it is under way. kRekeyed: replaced (or, after a collision,
// redundant, RFC 7296 §2.8.1); it waits for a Delete and is no longer rekeyed or timed out.
enum class ChildSaState { kInstalled, kRekeying, kRekeyed, kDeleting };
const char* Name(ChildSaState s);

// RFC 7296 §2.8.1/§2.8.2: the peer rekeyed an SA while we were rekeying it too. The lower nonce
// of the peer's exchange decides which new SA is redundant; `new_spi` is ours of the SA the
// peer's exchange made (a child's inbound SPI, or an IKE SA's local SPI).
struct RekeyCollision {
  Bytes lower_nonce;
  uint64_t new_spi = 0;
};

struct ChildSa {
  uint32_t reqid = 0;
  std::string rule;
  ChildSaState state = ChildSaState::kInstalled;
  dataplane::SaMode mode = dataplane::SaMode::kTunnel;
  ChildAlgorithms algorithms;
  uint32_t spi_in = 0;   // ours: the peer sends with it
  uint32_t spi_out = 0;  // the peer's
  // FAQ 46's AH+ESP bundle (algorithms.bundle(), bundle.h): the AH SA pair's SPIs beside the
  // ESP pair above (spi_in/spi_out). 0 without a bundle.
  uint32_t ah_spi_in = 0;
  uint32_t ah_spi_out = 0;
  bool initiated_by_us = false;
  std::vector<dataplane::TrafficSelector> local_ts;
  std::vector<dataplane::TrafficSelector> remote_ts;
  std::chrono::steady_clock::time_point established;
  // Soft lifetime (jittered) and hard lifetime; max: none.
  std::chrono::steady_clock::time_point rekey_at = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point expire_at = std::chrono::steady_clock::time_point::max();
  int64_t established_unix = 0;
  uint64_t lifetime_bytes = 0;  // hard byte limit (0: none)

  // Make-before-break rekeying (RFC 7296 §2.8): the new pair keeps the child SA's reqid (its
  // identity in the API, "child-<reqid>", and the key of the data path's counters per child
  // SA), so the policies stay; the new SAs are added before the old ones are deleted, and the
  // data path sends on the outbound SA of the reqid added last. The initiator of the rekey adds
  // both new SAs when the response arrives, then deletes the old pair. The responder adds the
  // new inbound SA at once but holds the new outbound one back in `deferred_outbound` (§2.8:
  // "SHOULD NOT send on the new SA until it receives traffic on it or the Delete"), and keeps
  // sending on the old one, which the initiator still has; it adds the new outbound SA when the
  // initiator's Delete of the old pair arrives (before removing the old one), when traffic
  // arrives on the new inbound SA, or when the old pair goes otherwise.
  // `replaces_spi_in` is our inbound SPI of the child SA this one replaced (0: none).
  uint32_t replaces_spi_in = 0;
  std::shared_ptr<const dataplane::SaConfig> deferred_outbound;
  std::shared_ptr<const dataplane::SaConfig> deferred_outbound_ah;  // a bundle's AH half
  std::chrono::steady_clock::time_point deferred_check_at =
      std::chrono::steady_clock::time_point::max();
  bool timers_started = false;  // the manager set its rekey and idle timers
  // kRekeyed: when we delete it ourselves if the peer has not (IkeTimers::RekeyedGrace).
  std::chrono::steady_clock::time_point grace_until = std::chrono::steady_clock::time_point::max();
  // FAQ 55/58: the last traffic known (carried over rekeys; unset: since it was established),
  // the packet count (in + out) seen at the last check, and the next check.
  int64_t active_unix = 0;
  std::chrono::steady_clock::time_point last_active{};
  uint64_t seen_packets = 0;
  std::chrono::steady_clock::time_point idle_check_at =
      std::chrono::steady_clock::time_point::max();
  // Soft lifetime reached and its rekey queued (the timer does not fire again).
  bool rekey_queued = false;
};

}  // namespace ipsec::engine::ike
