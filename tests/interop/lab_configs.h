#pragma once

// Configurations shared by the interop lab's own tests: two peers with one tunnel between
// their "inner" addresses (kernel-libipsec cannot tunnel traffic to the peer's IKE address).

#include <string>

#include "tests/support/strongswan_config.h"

namespace ipsec::testing {

// 10.199.<i+1>.1: the inner address the tests put on pod i's loopback.
inline std::string InnerV4(int pod) { return "10.199." + std::to_string(pod + 1) + ".1"; }

struct PeerSpec {
  std::string address;  // IKE address
  std::string id;       // IKE identity
  std::string inner;    // tunnelled address (traffic selector /32)
};

// Connection "host" with child "net" from `local` to `remote`, PSK authentication.
inline ConnectionConfig HostConnection(const PeerSpec& local, const PeerSpec& remote,
                                       const std::string& proposals,
                                       const std::string& esp_proposals) {
  ConnectionConfig c;
  c.name = "host";
  c.local_addrs = {local.address};
  c.remote_addrs = {remote.address};
  c.proposals = proposals;
  c.local = {"psk", local.id};
  c.remote = {"psk", remote.id};
  ChildConfig child;
  child.name = "net";
  child.local_ts = {local.inner + "/32"};
  child.remote_ts = {remote.inner + "/32"};
  child.esp_proposals = esp_proposals;
  c.children = {child};
  return c;
}

inline SwanctlConfig PskConfig(const PeerSpec& local, const PeerSpec& remote,
                               const std::string& proposals = "aes128gcm16-prfsha256-x25519",
                               const std::string& esp_proposals = "aes128gcm16") {
  SwanctlConfig config;
  config.connections = {HostConnection(local, remote, proposals, esp_proposals)};
  config.shared_keys = {{"lab", {local.id, remote.id}, "interop-lab-psk-0123456789"}};
  return config;
}

}  // namespace ipsec::testing
