#pragma once

// What the IKE engine needs from the policy in force, resolved by the service before it reaches
// IKE (no I/O here): the key-exchange settings, every active rule that negotiates security with
// its traffic selectors and credentials, the default response rule (FAQ 19), our identity, and
// the FAQ's timers. Immutable once built; SAs keep the snapshot they were created with.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/ip_address.h"
#include "engine/common/secret_bytes.h"
#include "engine/crypto/keys.h"
#include "engine/crypto/trust_store.h"
#include "engine/crypto/x509.h"
#include "engine/dataplane/backend.h"
#include "engine/ike/dos.h"
#include "engine/ike/identity.h"
#include "engine/policy/model.h"

namespace ipsec::engine::ike {

// A certificate of ours (FAQ 29): the leaf, then the intermediates that lead to its CA (RFC
// 7296 §3.6: we send them all as CERT payloads), and the leaf's private key. Parsed by the
// service from the files a mounted Secret provides (tls.crt, tls.key).
struct LocalCertificate {
  std::string name;                        // where it came from, for logs and warnings
  std::vector<crypto::Certificate> chain;  // never empty; chain[0] is ours
  crypto::PrivateKey key;                  // matches chain[0]'s public key
};

// One resolved authentication method (FAQ 11: in order of preference).
struct Credential {
  policy::AuthKind kind = policy::AuthKind::kPreSharedKey;
  SecretBytes psk;                    // kPreSharedKey: the key itself (files already read)
  std::string certificate_authority;  // kCertificate: as the rule names it
  // kCertificate: the named CA's certificates as trust anchors (null: the CA is not loaded, so
  // no peer verifies), and the certificate we authenticate with (null: none loaded, so we
  // cannot use this method to authenticate ourselves).
  std::shared_ptr<const crypto::TrustStore> trust;
  std::shared_ptr<const LocalCertificate> local_certificate;
};

// The traffic one rule secures: local and remote selectors (RFC 7296 §3.13.1) of one filter
// table entry, outbound view.
struct RuleTraffic {
  dataplane::TrafficSelector local;
  dataplane::TrafficSelector remote;
};

struct NegotiateRule {
  std::string name;
  std::vector<Credential> credentials;
  std::vector<policy::SecurityMethod> security_methods;  // never empty (defaults filled in)
  bool session_key_pfs = false;
  bool accept_unsecured = false;
  bool allow_fallback_to_clear = false;
  std::optional<IpAddress> tunnel_endpoint;  // none: transport mode
  std::vector<RuleTraffic> traffic;
  // The filter table entries (both directions) this rule's negotiate action came from: an
  // acquire or an unsecured inbound packet names one (FAQ 16-17).
  std::vector<uint32_t> filter_entries;
  // The default response rule (FAQ 19): its filters are "dynamic", made from the request.
  bool dynamic_traffic = false;
};

struct IkeTimers {
  std::chrono::milliseconds retransmit_base{1000};  // RFC 7296 §2.1: back-off from here
  int retransmit_tries = 5;
  std::chrono::seconds dpd_interval{30};             // liveness check when idle (§2.4)
  std::chrono::seconds child_idle_timeout{300};      // FAQ 55: 5 minutes
  std::chrono::seconds cluster_idle_timeout{60};     // FAQ 58: 1 minute for cluster peers
  std::chrono::seconds half_open_timeout{30};        // IKE_SA_INIT answered, no IKE_AUTH
  double rekey_fraction = 0.9;                       // soft lifetime = 90% of hard
  // RFC 7296 §2.8.1: rekeys are jittered so both peers do not start them at once: the soft
  // lifetime is drawn from [rekey_fraction - rekey_jitter, rekey_fraction] of the hard one.
  double rekey_jitter = 0.05;
  std::chrono::seconds temporary_failure_retry{10};  // §2.25: wait, then retry (jittered)
  std::chrono::seconds nat_keepalive{20};            // RFC 3948 §2.3, when we are behind a NAT
  // FAQ 16: how long a peer may stay silent before traffic for a rule that allows it falls
  // back to clear (docs/ike.md).
  std::chrono::milliseconds fallback_wait{3000};

  // RFC 7296 §2.1, §2.4: from a request's first transmission until its sender gives up on it
  // (the last retransmission waits as long as all before it): retransmit_base x
  // (2^(retransmit_tries + 1) - 1), 63 s with the defaults.
  std::chrono::milliseconds RetransmitBudget() const {
    const int tries = std::clamp(retransmit_tries, 0, 20);
    return retransmit_base * ((int64_t{1} << (tries + 1)) - 1);
  }
  // How long an SA a rekey replaced, or a collision made redundant (§2.8, §2.8.1, §2.8.2, §2.18),
  // waits for the peer's Delete before we delete it ourselves: one retransmission budget after
  // we answered the peer's rekey (63 s with the defaults). The peer sent its request before our
  // answer, so by then it has the answer (its retransmissions get it from our cache, §2.1) and
  // no longer uses the SA, or it has given up on the IKE SA (§2.4); a Delete of its own still
  // under way crosses ours, which both ends answer (§1.4.1, §2.25). Without it such an SA stayed
  // until its hard lifetime (the IKE SA's 8 h by default) or for good (child SAs without one)
  // whenever the Delete never came: after a rekey collision whose messages were reordered
  // (issue 13) the peer may never learn of the SA at all (§2.25.2 has it forget its own rekey
  // once we delete the old IKE SA). strongSwan waits 30 s for a redundant IKE SA and 90 s for a
  // rekeyed one (ike_rekey.c).
  std::chrono::milliseconds RekeyedGrace() const { return RetransmitBudget(); }
};

struct IkeConfig {
  std::string policy;  // name of the policy these settings came from
  std::vector<policy::IkeProposal> ike_proposals;
  uint32_t ike_lifetime_seconds = 28800;
  uint32_t max_child_sas = 0;  // FAQ 18: then the IKE SA is rekeyed; 0: no limit
  std::vector<NegotiateRule> rules;
  std::optional<NegotiateRule> default_response;  // FAQ 19; traffic is taken from the request
  std::optional<Identity> local_identity;         // none: our IP address
  std::vector<IpAddress> cluster_peers;           // FAQ 58: the short idle timeout
  IkeTimers timers;
  DosLimits dos;  // RFC 7296 §2.6 cookies and FAQ 59 half-open limits
  bool allow_legacy_algorithms = false;
  // RFC 7427 §4: announce N(SIGNATURE_HASH_ALGORITHMS) in IKE_SA_INIT. Off: we behave as a peer
  // without RFC 7427 (classic signature AUTH methods only), for old peers and tests.
  bool announce_signature_hashes = true;

  const NegotiateRule* FindRule(const std::string& name) const {
    for (const auto& r : rules) {
      if (r.name == name) return &r;
    }
    if (default_response && default_response->name == name) return &*default_response;
    return nullptr;
  }
  const NegotiateRule* FindRuleByFilterEntry(uint32_t entry) const {
    for (const auto& r : rules) {
      for (uint32_t id : r.filter_entries) {
        if (id == entry) return &r;
      }
    }
    return nullptr;
  }
  // FAQ 55 and 58: how long a child SA with `peer` may carry no traffic.
  std::chrono::seconds IdleTimeoutFor(const IpAddress& peer) const {
    for (const auto& p : cluster_peers) {
      if (p == peer) return timers.cluster_idle_timeout;
    }
    return timers.child_idle_timeout;
  }
};

}  // namespace ipsec::engine::ike
