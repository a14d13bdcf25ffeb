#pragma once

// What the IKE engine needs from the policy in force, resolved by the service before it reaches
// IKE (no I/O here): the key-exchange settings, every active rule that negotiates security with
// its traffic selectors and credentials, the default response rule (FAQ 19), our identity, and
// the FAQ's timers. Immutable once built; SAs keep the snapshot they were created with.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/ip_address.h"
#include "engine/common/secret_bytes.h"
#include "engine/dataplane/backend.h"
#include "engine/ike/identity.h"
#include "engine/policy/model.h"

namespace ipsec::engine::ike {

// One resolved authentication method (FAQ 11: in order of preference).
struct Credential {
  policy::AuthKind kind = policy::AuthKind::kPreSharedKey;
  SecretBytes psk;                    // kPreSharedKey: the key itself (files already read)
  std::string certificate_authority;  // kCertificate
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
  bool allow_legacy_algorithms = false;

  const NegotiateRule* FindRule(const std::string& name) const {
    for (const auto& r : rules) {
      if (r.name == name) return &r;
    }
    if (default_response && default_response->name == name) return &*default_response;
    return nullptr;
  }
};

}  // namespace ipsec::engine::ike
