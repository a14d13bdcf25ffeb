#include "sidecar/app/config.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <sstream>

#include "engine/common/ip_address.h"

namespace ipsec::sidecar::app {

namespace {

void AddOptions(CLI::App& app, Config& c) {
  app.set_config("--config", "", "Read options from this file (INI/TOML: name = value)");
  app.add_option("--api-listen", c.api_listen, "REST API listen address host:port")
      ->capture_default_str();
  app.add_option("--metrics-listen", c.metrics_listen, "Prometheus /metrics listen host:port")
      ->capture_default_str();
  app.add_option("--token-file", c.token_file, "Bearer token file guarding the API")
      ->capture_default_str();
  app.add_option("--tls-cert", c.tls_cert, "PEM certificate: serve the API over TLS");
  app.add_option("--tls-key", c.tls_key, "PEM private key for --tls-cert");
  app.add_flag("--insecure-listen", c.insecure_listen,
               "Allow a non-loopback API listener without TLS");
  app.add_option("--state-dir", c.state_dir, "Where pod-scope policy persists")
      ->capture_default_str();
  app.add_option("--cluster-policy-dir", c.cluster_policy_dir,
                 "Cluster-scope policy directory (a mounted ConfigMap)")
      ->capture_default_str();
  app.add_option("--namespace-policy-dir", c.namespace_policy_dir,
                 "Namespace-scope policy directory (a mounted ConfigMap)")
      ->capture_default_str();
  app.add_option("--default-poll-seconds", c.default_poll_seconds,
                 "Re-read interval of a policy directory without a policy")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--node-address", c.node_address,
                 "Node address: the kubelet's probes from it are exempt")
      ->envname("NODE_IP");
  app.add_option("--interface", c.interfaces,
                 "Pod interface whose addresses are \"my address\" (repeatable; default: all "
                 "but loopback)");
  app.add_option("--interface-refresh-seconds", c.interface_refresh_seconds,
                 "How often to re-read the pod's addresses")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3600u));
  app.add_option("--log-format", c.log_format, "json or text")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "text"}));
  app.add_option("--log-level", c.log_level, "debug, info, warning or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  app.add_option("--log-dir", c.log_dir, "Directory of the IKE log (ike.log, ike.log.sav)")
      ->capture_default_str();
  app.add_flag("--start-empty", c.start_empty,
               "Start with no pod-scope policy when the state file is corrupt");
  app.add_option("--api-threads", c.api_threads, "API I/O threads")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_flag("!--no-ike", c.ike_enabled, "Do not start the IKE engine (policy and API only)");
  app.add_option("--ike-port", c.ike_port, "IKE UDP port (0: ephemeral)")->capture_default_str();
  app.add_option("--nat-t-port", c.nat_t_port, "NAT-T UDP port (0: ephemeral)")
      ->capture_default_str();
  app.add_flag("--force-udp-encapsulation", c.force_udp_encapsulation,
               "Send ESP in UDP 4500 even when no NAT is detected (firewalls or NetworkPolicies "
               "that pass UDP but not IP protocol 50; RFC 7296 2.23)");
  app.add_option("--dataplane", c.dataplane,
                 "ESP data path: userspace (TUN), recording (none: IKE only), auto (userspace "
                 "when root with /dev/net/tun)")
      ->check(CLI::IsMember({"auto", "userspace", "recording"}))
      ->capture_default_str();
  app.add_option("--tun-name", c.tun_name, "TUN device of the userspace data path")
      ->capture_default_str();
  app.add_option("--tun-mtu", c.tun_mtu, "MTU of the TUN device (ESP overhead subtracted)")
      ->check(CLI::Range(576, 9000))
      ->capture_default_str();
  app.add_option("--dataplane-workers", c.dataplane_workers,
                 "TUN -> ESP threads of the userspace data path (one more for ESP -> TUN)")
      ->check(CLI::Range(1, 7))
      ->capture_default_str();
  app.add_option("--ike-listen", c.ike_listen,
                 "Address for the IKE sockets (repeatable; default 0.0.0.0 and ::)");
  app.add_option("--cluster-peer", c.cluster_peers,
                 "Peer address with the short child SA idle timeout (FAQ 58; repeatable)");
  app.add_option("--local-id", c.local_id, "Our IKE identity (default: our IP address)");
  app.add_option("--cert-dir", c.cert_dir,
                 "Our certificates: a directory per mounted TLS Secret (<name>/tls.crt, tls.key; "
                 "an optional ca.crt is trust bundle <name>)")
      ->capture_default_str();
  app.add_option("--ca-dir", c.ca_dir,
                 "Trust bundles that a rule's certificate_authority names: <name>/ca.crt or "
                 "<name>.crt")
      ->capture_default_str();
  app.add_option("--drain-seconds", c.drain_seconds,
                 "On SIGTERM, time allowed to send Deletes for every SA")
      ->capture_default_str()
      ->check(CLI::Range(0u, 300u));
  app.add_option("--dpd-seconds", c.dpd_seconds,
                 "Dead peer detection: seconds without a message from a peer before a liveness "
                 "check (RFC 7296 2.4)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  app.add_option("--retransmit-base-ms", c.retransmit_base_ms,
                 "First IKE retransmission after this many ms, doubling each time (RFC 7296 2.1)")
      ->capture_default_str()
      ->check(CLI::Range(50u, 60000u));
  app.add_option("--retransmit-tries", c.retransmit_tries,
                 "Retransmissions before a peer is declared dead and its SAs removed")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10u));
  app.add_option("--dos-cookie-threshold", c.dos_cookie_threshold,
                 "Half-open responder IKE SAs above which IKE_SA_INIT needs a cookie (RFC 7296 "
                 "2.6; 0: always)")
      ->capture_default_str();
  app.add_option("--dos-max-half-open-per-ip", c.dos_max_half_open_per_ip,
                 "Half-open IKE SAs per peer IP with none established (FAQ 59; 0: no limit)")
      ->capture_default_str();
  app.add_option("--dos-max-half-open-per-endpoint", c.dos_max_half_open_per_endpoint,
                 "Half-open IKE SAs per peer IP:port once one is established (FAQ 59; 0: no "
                 "limit)")
      ->capture_default_str();
  app.add_option("--dos-max-half-open", c.dos_max_half_open,
                 "Half-open responder IKE SAs at most, all peers together: at the cap the oldest "
                 "is evicted for a new one (default: a 16 MiB budget / 4 KiB per half-open SA; 0: "
                 "no cap)")
      ->capture_default_str();
  app.add_option("--debug-export-keys-dir", c.debug_key_export_dir,
                 "DEBUG ONLY: write Wireshark IKEv2/ESP key tables here (exposes session keys)");
}

}  // namespace

Result<Config> ParseConfig(int argc, char** argv, int* exit_code) {
  Config config;
  CLI::App app{"ipsec-sidecar: IPsec for a Kubernetes pod (IKE, ESP, policy, REST, metrics)",
               "ipsec-sidecar"};
  AddOptions(app, config);
  app.set_version_flag("--version", "ipsec-sidecar 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    *exit_code = app.exit(e, out, err);
    return MakeError(ErrorCode::kInvalidArgument, out.str() + err.str());
  }
  *exit_code = -1;
  return config;
}

Result<HostPort> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + text + "' is not host:port (e.g. 127.0.0.1:9443 or [::1]:9443)");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  std::string_view p(text.data() + colon + 1, text.size() - colon - 1);
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || ptr != p.data() + p.size() || port > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "'" + text + "' has no valid port (0-65535)");
  }
  if (host != "localhost" && !IpAddress::Parse(host)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + host + "' is not an IP address (listen addresses are numeric)");
  }
  return HostPort{host, static_cast<uint16_t>(port)};
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  auto a = IpAddress::Parse(host);
  if (!a) return false;
  if (a->is_v4()) return (a->value() >> 24) == 127;
  return a->value() == 1;
}

Status ValidateConfig(const Config& c) {
  auto api = ParseHostPort(c.api_listen);
  if (!api.ok()) return api.error().WithPathPrefix("--api-listen");
  if (auto m = ParseHostPort(c.metrics_listen); !m.ok()) {
    return m.error().WithPathPrefix("--metrics-listen");
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "--tls-cert and --tls-key go together",
                     "--tls-cert");
  }
  if (!IsLoopbackHost(api->host) && c.tls_cert.empty() && !c.insecure_listen) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the API would listen on " + c.api_listen +
                         " without TLS: give --tls-cert/--tls-key, or --insecure-listen",
                     "--api-listen");
  }
  for (const auto& a : c.ike_listen) {
    if (!IpAddress::Parse(a)) {
      return MakeError(ErrorCode::kInvalidArgument, "'" + a + "' is not an IP address",
                       "--ike-listen");
    }
  }
  for (const auto& a : c.cluster_peers) {
    if (!IpAddress::Parse(a)) {
      return MakeError(ErrorCode::kInvalidArgument, "'" + a + "' is not an IP address",
                       "--cluster-peer");
    }
  }
  if (!c.node_address.empty() && !IpAddress::Parse(c.node_address)) {
    return MakeError(ErrorCode::kInvalidArgument, "'" + c.node_address + "' is not an IP address",
                     "--node-address");
  }
  return Status::Ok();
}

}  // namespace ipsec::sidecar::app
