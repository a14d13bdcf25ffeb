#pragma once

#include <string>
#include <vector>

#include "engine/policy/compiler.h"

namespace ipsec::sidecar::app {

// Reads the pod's interfaces and addresses (getifaddrs) for "my address" (FAQ 13). `only`:
// the interfaces to use; empty: every interface but loopback. Link-local IPv6 addresses are
// left out (they never carry the pod's traffic to a peer).
std::vector<engine::policy::PodInterface> ReadPodInterfaces(const std::vector<std::string>& only);

}  // namespace ipsec::sidecar::app
