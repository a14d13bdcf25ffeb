#pragma once

// Configurations shared by the interop lab's own tests: two peers with one tunnel between
// their "inner" addresses (kernel-libipsec cannot tunnel traffic to the peer's IKE address).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/integration_util.h"
#include "tests/support/lab.h"
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

// Our side of a tunnel to charon: policy `name` with one filter list "inner" (`filters`), one
// negotiate action "secure" (`esp`: a security method) and rule "charon" tunnelling to
// `endpoint`, authenticated by `auth`. `key_exchange` is the policy's (the engine's defaults when
// null).
inline nlohmann::json CharonTunnelPolicy(const std::string& name, nlohmann::json filters,
                                         nlohmann::json esp, const std::string& endpoint,
                                         nlohmann::json auth,
                                         nlohmann::json key_exchange = nullptr) {
  using nlohmann::json;
  json policy = {
      {"name", name},
      {"filter_lists", json::array({{{"name", "inner"}, {"filters", std::move(filters)}}})},
      {"filter_actions", json::array({{{"name", "secure"},
                                       {"type", "negotiate"},
                                       {"security_methods", json::array({std::move(esp)})}}})},
      {"rules", json::array({{{"name", "charon"},
                              {"filter_list", "inner"},
                              {"filter_action", "secure"},
                              {"tunnel_endpoint", endpoint},
                              {"auth_methods", json::array({std::move(auth)})}}})}};
  if (!key_exchange.is_null()) policy["key_exchange"] = std::move(key_exchange);
  return policy;
}

// PSK authentication read from `path`.
inline nlohmann::json PskFileAuth(const std::string& path) {
  return {{"type", "psk"}, {"preshared_key_file", path}};
}

// Stores `policy` at pod scope and assigns it (fatal failures: wrap in ASSERT_NO_FATAL_FAILURE).
inline void PutAndAssign(Daemon& daemon, const nlohmann::json& policy) {
  const std::string name = policy.at("name");
  CommandResult put = daemon.Http("PUT", "/v1/policies/" + name, policy.dump());
  ASSERT_TRUE(Status(put) == 200 || Status(put) == 201) << put.out << put.err;
  CommandResult assign =
      daemon.Http("PUT", "/v1/assignment", nlohmann::json{{"policy", name}}.dump());
  ASSERT_EQ(Status(assign), 200) << assign.out << assign.err;
}

}  // namespace ipsec::testing
