#pragma once

// Anti-DoS for IKE_SA_INIT requests: stateless cookies (RFC 7296 §2.6) once too many responder
// IKE SAs are half-open, and the FAQ's per-peer limits on outstanding negotiations (FAQ 59):
//   - with an IKE SA established with the peer's address: at most 5 half-open per IP:port;
//   - otherwise: at most 35 half-open per IP.
// Initial messages beyond a limit are dropped (and counted by the caller); an initial message
// without a valid cookie when cookies are required gets N(COOKIE) and creates no state. The
// global cap on half-open responder SAs (DosLimits::max_half_open) is the caller's: it evicts
// the oldest to admit a new one (IkeManager, admission.h).
//
// Pure: no I/O, no clock (callers pass `now`), randomness injected. The caller (IkeManager)
// owns the half-open bookkeeping and tells DosGuard the load of the peer that sent a request.
// Not thread-safe: used on the IKE thread only.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"
#include "engine/common/random.h"
#include "engine/common/secret_bytes.h"
#include "engine/ike/ike_observer.h"

namespace ipsec::engine::ike {

using SteadyTime = std::chrono::steady_clock::time_point;

// The default global cap on half-open responder IKE SAs: a memory budget over what one costs.
// One half-open responder SA (IKE_SA_INIT answered: its IkeSa with the nonces, both IKE_SA_INIT
// messages and the pending key exchange, its task manager with the cached response, its
// deadline and admission entries) holds 3.6 KB of heap (ike_half_open_cost_test, which fails
// if it outgrows kHalfOpenBytesPerSa). The budget is about the daemon's idle RSS (18 MiB in
// bench/results/ike-flood-*.txt), so that a flood at most doubles it (issue 13's target):
// 16 MiB / 4 KiB = 4,096 SAs. A flood of 10,000 IKE_SA_INIT/s answering cookies admits
// 5,000/s: each half-open SA then lives 0.8 s at least.
inline constexpr size_t kHalfOpenMemoryBudget = size_t{16} << 20;
inline constexpr size_t kHalfOpenBytesPerSa = 4096;
inline constexpr size_t kDefaultMaxHalfOpen = kHalfOpenMemoryBudget / kHalfOpenBytesPerSa;

// The thresholds (IkeConfig::dos). 0 disables a per-peer limit.
struct DosLimits {
  // §2.6: ask for cookies once this many responder IKE SAs are half-open (IKE_SA_INIT answered,
  // IKE_AUTH not yet done); 0: always ask.
  size_t cookie_threshold = 10;
  // FAQ 59: half-open negotiations per peer IP while no IKE SA with that IP is established.
  size_t max_half_open_per_peer = 35;
  // FAQ 59: half-open negotiations per peer IP:port once an IKE SA with that IP is established.
  size_t max_half_open_per_peer_port = 5;
  // At most this many responder IKE SAs half-open at once (0: no cap). At the cap a new one
  // evicts the oldest (SYN-cache style, counted as DosDropReason::kEvicted) rather than being
  // refused, so a flood cannot lock legitimate peers out: each half-open SA lives at least
  // max_half_open / (admission rate) seconds, far longer than an IKE_AUTH round trip.
  size_t max_half_open = kDefaultMaxHalfOpen;
  // How long one cookie secret is used (§2.6: change it frequently); cookies made with the
  // previous secret stay valid for one more period.
  std::chrono::seconds cookie_secret_lifetime{120};
};

// What the caller knows about the sender of an IKE_SA_INIT request.
struct PeerLoad {
  size_t half_open_total = 0;          // responder SAs half-open, every peer
  size_t half_open_from_ip = 0;        // ... from the request's source IP
  size_t half_open_from_endpoint = 0;  // ... from the request's source IP:port
  bool established_with_ip = false;    // an IKE SA with the source IP is established
};

// The fields of an IKE_SA_INIT request a cookie covers.
struct InitRequestView {
  IpAddress source;               // IPi
  uint64_t spi_i = 0;             // SPIi
  ByteSpan nonce;                 // Ni
  const Bytes* cookie = nullptr;  // the N(COOKIE) data echoed by the initiator, if any
};

class DosGuard {
 public:
  enum class Action {
    kAccept,      // create (or continue) the responder SA
    kSendCookie,  // answer HDR, N(COOKIE) (§2.6) and keep no state; `cookie` holds the data
    kDrop,        // drop silently; `reason` says why
  };
  struct Verdict {
    Action action = Action::kAccept;
    DosDropReason reason = DosDropReason::kInvalidCookie;  // for kDrop
    Bytes cookie;                                          // for kSendCookie
  };

  // Not owned; must outlive the guard.
  explicit DosGuard(Random& random) : random_(random) {}

  // Decides about a new IKE_SA_INIT request (not a retransmission of one we hold state for).
  // Order: an echoed cookie must verify (else kDrop kInvalidCookie); without one, when cookies
  // are required, kSendCookie; then the per-peer limits of FAQ 59.
  Verdict Check(const InitRequestView& request, const PeerLoad& load, const DosLimits& limits,
                SteadyTime now);

  // §2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>), here a 4-octet
  // version and HMAC-SHA-256 keyed with the secret (a keyed hash of the same inputs).
  Bytes MakeCookie(const InitRequestView& request, SteadyTime now);
  // True iff `cookie` was made by MakeCookie for this request with the current or the
  // previous secret.
  bool VerifyCookie(ByteSpan cookie, const InitRequestView& request, SteadyTime now);

  static constexpr size_t kCookieSize = 4 + 32;

 private:
  // Starts a new secret when the current one is older than its lifetime (§2.6).
  void Rotate(SteadyTime now);
  Bytes Compute(uint32_t version, const SecretBytes& secret, const InitRequestView& request) const;

  Random& random_;
  std::chrono::seconds lifetime_{120};
  uint32_t version_ = 0;
  SecretBytes secret_;
  std::optional<SecretBytes> previous_;
  SteadyTime born_{};
};

}  // namespace ipsec::engine::ike
