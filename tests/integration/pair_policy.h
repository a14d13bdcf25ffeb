#pragma once

// The policy the two-pod data path tests apply on each side: everything between the pods'
// addresses (`me` -> `peer`, mirrored) is secured with `methods` (default: ESP AES-GCM-128),
// PSK `psk`, IKE AES-GCM-128/PRF-SHA-256/Curve25519; tunnel mode with the peer as the tunnel
// endpoint, or transport mode. The rule is named "pods" (per-rule metrics).

#include <nlohmann/json.hpp>
#include <string>

namespace ipsec::testing {

inline nlohmann::json EspGcm128() {
  return {{"protocol", "esp"}, {"esp_encryption", "aes128gcm16"}, {"esp_integrity", "none"}};
}

inline nlohmann::json PairPolicy(const std::string& me, const std::string& peer, bool tunnel,
                                 const std::string& psk,
                                 nlohmann::json methods = nlohmann::json::array({EspGcm128()})) {
  using nlohmann::json;
  json rule = {{"name", "pods"},
               {"filter_list", "peer"},
               {"filter_action", "require"},
               {"auth_methods", json::array({{{"type", "psk"}, {"preshared_key", psk}}})}};
  if (tunnel) rule["tunnel_endpoint"] = peer;
  return {{"name", "pair"},
          {"key_exchange",
           {{"proposals", json::array({{{"encryption", "aes128gcm16"},
                                        {"integrity", "none"},
                                        {"prf", "prfsha256"},
                                        {"dh_group", "curve25519"}}})}}},
          {"filter_lists",
           json::array({{{"name", "peer"},
                         {"filters", json::array({{{"source", me}, {"destination", peer}}})}}})},
          {"filter_actions", json::array({{{"name", "require"},
                                           {"type", "negotiate"},
                                           {"security_methods", std::move(methods)}}})},
          {"rules", json::array({rule})}};
}

}  // namespace ipsec::testing
