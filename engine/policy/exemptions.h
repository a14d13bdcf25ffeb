#pragma once

// The built-in exemptions (FAQ 24-26, 52): traffic that must never wait for IPsec. They are
// permit entries in a tier above every rule (docs/filter-weights.md), so no rule, not even a
// block-all, can catch them. Each Exemptions switch removes its entries.
//   ike            UDP 500 and 4500 to and from any peer (IKE and NAT-T, FAQ 26, 56), plus
//                  "esp" (protocol 50) and "ah" (51) themselves (FAQ 52)
//   dns            TCP and UDP to and from remote port 53 (FAQ 24)
//   netbios        UDP to and from remote port 137, IPv4 only: NetBIOS over TCP/IP has no IPv6
//                  (FAQ 25)
//   kubelet-probes TCP between CompileContext::node_address and the pod's addresses, both ways

#include <vector>

#include "engine/policy/compiler.h"
#include "engine/policy/filter_table.h"
#include "engine/policy/model.h"

namespace ipsec::engine::policy {

// Appends the exemption entries (ids unset, weights set) and one generic filter per pattern.
void AppendExemptions(const Exemptions& exemptions, const CompileContext& context,
                      std::vector<TableEntry>* entries, std::vector<GenericFilter>* generic);

}  // namespace ipsec::engine::policy
