#pragma once

// Builds the IKE engine's view of the policy in force (IkeConfig) from the policy model and its
// compiled filter table: one NegotiateRule per active rule whose action negotiates security,
// with the traffic of its (winning) outbound table entries, its authentication methods resolved
// to credentials, and the default response rule (FAQ 19). Pure, except for reading preshared key
// files through the injected reader.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/ike/certificate_store.h"
#include "engine/ike/ike_config.h"
#include "engine/policy/filter_table.h"

namespace ipsec::engine::ike {

// Reads a secret from a file (a mounted Secret); the service provides it.
using SecretReader = std::function<Result<SecretBytes>(const std::string& path)>;

struct ConfigBuildOptions {
  SecretReader read_secret;  // empty: preshared_key_file methods are unusable (warned)
  CertificateStore certificates;  // trust bundles and our certificates (FAQ 29)
  // When set, called on every build instead of using `certificates`, so rotated Secrets are
  // picked up when the policy is next applied; its warnings join the build's.
  std::function<CertificateStore(std::vector<std::string>* warnings)> load_certificates;
  DosLimits dos;                  // RFC 7296 §2.6, FAQ 59
  IkeTimers timers;
  std::vector<IpAddress> cluster_peers;
  std::optional<Identity> local_identity;
};

// Warnings (unreadable key files...) go to `warnings`; the config is still built.
std::shared_ptr<const IkeConfig> BuildIkeConfig(const policy::Policy& policy,
                                                const policy::FilterTable& table,
                                                const ConfigBuildOptions& options,
                                                std::vector<std::string>* warnings);

// The name the default response rule has in IkeConfig and in the API.
inline constexpr const char* kDefaultResponseRule = "default-response";

}  // namespace ipsec::engine::ike
