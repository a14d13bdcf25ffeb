#pragma once

// Policies the handler tests send. The preshared key is ApiHarness::kSecret, which the harness
// checks no response carries.

#include <string>

namespace ipsec::testing {

// web: rule "db" negotiates TCP 5432 from this pod to 10.99.2.0/24 (PSK), nothing else.
inline std::string WebPolicy(const std::string& name = "web") {
  return R"({"name": ")" + name + R"(",
  "description": "web talks to db over ESP",
  "filter_lists": [
    {"name": "to-db", "filters": [{"source": "me", "destination": "10.99.2.0/24",
                                   "protocol": "tcp", "destination_ports": 5432}]},
    {"name": "everything", "filters": [{}]}],
  "filter_actions": [
    {"name": "require", "type": "negotiate"},
    {"name": "allow", "type": "permit"}],
  "rules": [
    {"name": "db", "filter_list": "to-db", "filter_action": "require",
     "auth_methods": [{"type": "psk", "preshared_key": "hunter2-secret"},
                      {"type": "certificate", "certificate_authority": "CN=cluster-ca"}]}],
  "default_response_rule": {"auth_methods": [{"type": "psk", "preshared_key": "hunter2-secret"}]}
})";
}

inline constexpr const char* kWebPolicyYaml = R"(name: web-yaml
filter_lists:
  - name: to-db
    filters:
      - {source: me, destination: 10.99.2.0/24, protocol: tcp, destination_ports: "5432"}
filter_actions:
  - {name: require, type: negotiate}
rules:
  - name: db
    filter_list: to-db
    filter_action: require
    auth_methods:
      - {type: psk, preshared_key: hunter2-secret}
)";

}  // namespace ipsec::testing
