#include "api/dto/field_names.h"

#include <algorithm>
#include <array>

namespace ipsec::api::dto {
namespace {

// Sorted (binary search). Every key an ObjectReader reads, across every document of the API.
constexpr std::array<std::string_view, 55> kFieldNames = {
    "accept_unsecured",
    "active",
    "ah_integrity",
    "allow_fallback_to_clear",
    "allow_legacy_algorithms",
    "auth_methods",
    "certificate_authority",
    "connection_type",
    "default_response_rule",
    "description",
    "destination",
    "destination_port",
    "destination_ports",
    "dh_group",
    "direction",
    "dns",
    "enabled",
    "encryption",
    "esp_encryption",
    "esp_integrity",
    "exemptions",
    "filter_action",
    "filter_actions",
    "filter_list",
    "filter_lists",
    "filters",
    "ike",
    "ike_sa_lifetime_seconds",
    "integrity",
    "interface",
    "key_exchange",
    "kubelet_probes",
    "lifetime_kilobytes",
    "lifetime_seconds",
    "max_child_sas_per_ike_sa",
    "mirrored",
    "name",
    "netbios_name",
    "peer",
    "policy",
    "polling_interval_seconds",
    "preshared_key",
    "preshared_key_file",
    "prf",
    "proposals",
    "protocol",
    "rule",
    "rules",
    "security_methods",
    "session_key_pfs",
    "source",
    "source_port",
    "source_ports",
    "tunnel_endpoint",
    "type",
};

static_assert(std::is_sorted(kFieldNames.begin(), kFieldNames.end()));

}  // namespace

bool IsFieldName(std::string_view key) {
  return std::binary_search(kFieldNames.begin(), kFieldNames.end(), key);
}

std::span<const std::string_view> FieldNames() { return kFieldNames; }

}  // namespace ipsec::api::dto
