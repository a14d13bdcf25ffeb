#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/ike/dos.h"

namespace ipsec::sidecar::app {

// The daemon's configuration: flags, or the same names in a config file (`--config FILE`, INI /
// TOML syntax as CLI11 reads it: `api-listen = "127.0.0.1:9443"`). Flags override the file.
struct Config {
  std::string api_listen = "127.0.0.1:9443";
  std::string metrics_listen = "0.0.0.0:9090";
  std::string token_file = "/var/run/secrets/ipsec-sidecar/token";
  std::string tls_cert;
  std::string tls_key;
  bool insecure_listen = false;  // allow a non-loopback API listener without TLS
  std::string state_dir = "/var/lib/ipsec-sidecar";
  std::string cluster_policy_dir = "/etc/ipsec-sidecar/cluster";
  std::string namespace_policy_dir = "/etc/ipsec-sidecar/namespace";
  // Re-read interval of a policy directory that holds no valid policy yet; once a policy is
  // loaded, its own polling_interval_seconds applies (FAQ 10).
  uint32_t default_poll_seconds = 60;
  std::string node_address;             // the kubelet's source address, for the probe exemption
  std::vector<std::string> interfaces;  // pod interfaces for "my address"; empty: all but lo
  uint32_t interface_refresh_seconds = 10;
  std::string log_format = "json";                 // json | text
  std::string log_level = "info";                  // debug | info | warning | error
  std::string log_dir = "/var/log/ipsec-sidecar";  // the IKE log (FAQ 39)
  bool start_empty = false;  // start with no pod-scope policy when the state file is corrupt
  uint32_t api_threads = 2;
  // IKE (issue 3).
  bool ike_enabled = true;
  uint16_t ike_port = 500;
  uint16_t nat_t_port = 4500;
  bool force_udp_encapsulation = false;    // ESP in UDP 4500 even without a NAT
  std::vector<std::string> ike_listen;     // addresses; empty: 0.0.0.0 and ::
  std::vector<std::string> cluster_peers;  // FAQ 58: 1-minute idle timeout for these peers
  std::string local_id;                    // our IKE identity; empty: our IP address
  // Certificates (FAQ 29) as mounted Secrets provide them (docs/ike.md).
  std::string cert_dir = "/etc/ipsec-sidecar/certs";  // <name>/tls.crt, tls.key[, ca.crt]
  std::string ca_dir = "/etc/ipsec-sidecar/ca";       // <name>/ca.crt or <name>.crt
  uint32_t drain_seconds = 5;                         // SIGTERM: time to send Deletes
  // RFC 7296 §2.1 retransmission and §2.4 liveness (dead peer detection); defaults as
  // engine::ike::IkeTimers.
  uint32_t dpd_seconds = 30;           // silence from the peer before a liveness check
  uint32_t retransmit_base_ms = 1000;  // first retransmission; doubles each time
  uint32_t retransmit_tries = 5;       // then the IKE SA is given up
  std::string debug_key_export_dir;    // Wireshark key tables; empty: off (debug only)
  // The ESP data path (issue 4; docs/dataplane.md): userspace (TUN + our ESP engine), recording
  // (carries nothing: IKE only), auto (userspace when root with /dev/net/tun, else recording).
  std::string dataplane = "auto";
  std::string tun_name = "ipsec0";
  uint32_t tun_mtu = 1400;          // 1500 minus ESP's worst-case tunnel overhead
  uint32_t dataplane_workers = 1;   // TUN -> ESP threads (plus one ESP -> TUN thread)
  // Anti-DoS (RFC 7296 §2.6 cookies, FAQ 59 half-open limits); defaults as engine::ike::DosLimits.
  // Raised only for load tests from one source (bench/ike_setup_bench).
  uint32_t dos_cookie_threshold = 10;
  uint32_t dos_max_half_open_per_ip = 35;       // 0: no limit
  uint32_t dos_max_half_open_per_endpoint = 5;  // 0: no limit
  // The global cap on half-open responder IKE SAs (oldest evicted at the cap); 0: no cap. The
  // default is engine::ike::kDefaultMaxHalfOpen, a 16 MiB budget over the measured cost of one.
  uint32_t dos_max_half_open = engine::ike::kDefaultMaxHalfOpen;
  std::string commit = "unknown";               // build commit, for ipsec_build_info
};

// Parses argv. Returns the config, or an Error whose message is the usage text or the fault.
// `exit_code` is set when parsing asks to exit (0 for --help/--version, 2 for bad usage).
Result<Config> ParseConfig(int argc, char** argv, int* exit_code);

// Checks values that flags cannot check alone (listen address syntax, TLS pairs).
Status ValidateConfig(const Config& config);

// "host:port" or "[v6]:port".
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> ParseHostPort(const std::string& text);
bool IsLoopbackHost(const std::string& host);

}  // namespace ipsec::sidecar::app
