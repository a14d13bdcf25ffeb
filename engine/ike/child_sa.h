#pragma once

// A child SA as IKE tracks it (FAQ 48: the quick mode SA pair): the inbound and outbound SA of
// one negotiation, installed in the data path under one reqid.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/dataplane/backend.h"
#include "engine/ike/proposals.h"

namespace ipsec::engine::ike {

enum class ChildSaState { kInstalled, kRekeying, kRekeyed, kDeleting };
const char* Name(ChildSaState s);

struct ChildSa {
  uint32_t reqid = 0;
  std::string rule;
  ChildSaState state = ChildSaState::kInstalled;
  dataplane::SaMode mode = dataplane::SaMode::kTunnel;
  ChildAlgorithms algorithms;
  uint32_t spi_in = 0;   // ours: the peer sends with it
  uint32_t spi_out = 0;  // the peer's
  bool initiated_by_us = false;
  std::vector<dataplane::TrafficSelector> local_ts;
  std::vector<dataplane::TrafficSelector> remote_ts;
  std::chrono::steady_clock::time_point established;
  std::chrono::steady_clock::time_point rekey_at;   // soft lifetime
  std::chrono::steady_clock::time_point expire_at;  // hard lifetime
  int64_t established_unix = 0;
  uint64_t lifetime_bytes = 0;  // hard byte limit (0: none)
};

}  // namespace ipsec::engine::ike
