#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/policy/filter_table.h"
#include "engine/policy/model.h"

namespace ipsec::engine::policy {

// What the compiler needs to know about the pod.
struct InterfaceAddress {
  IpAddress address;
  int prefix_len = 0;  // for the subnet-directed broadcast address
};
struct PodInterface {
  std::string name;
  std::vector<InterfaceAddress> addresses;
};
struct CompileContext {
  std::vector<PodInterface> interfaces;  // "my address" resolves to all of their addresses
  std::optional<IpAddress> node_address; // source of the kubelet's probes; none: no exemption
};

// Compiles a validated policy into the effective filter table (FAQ 22, 23; docs/filter-weights.md).
// Fails only when the policy is invalid (it validates first).
Result<FilterTable> CompilePolicy(const Policy& policy, const CompileContext& context);

// The table in force when no policy is assigned: no entries, everything permitted (FAQ 6).
FilterTable EmptyTable();

// The subnet-directed broadcast address of every IPv4 interface address with a prefix of /1 to
// /30 (a /31 or /32 has none: RFC 3021), without duplicates. CompilePolicy stores them in
// FilterTable::broadcast_addresses.
std::vector<IpAddress> DirectedBroadcasts(const CompileContext& context);

}  // namespace ipsec::engine::policy
