#pragma once

// Hands negotiated child SAs to the data path (dataplane::Backend): both directions' SAs and
// their policies under one reqid, or nothing (a failed install removes what it added).

#include <cstdint>

#include "engine/common/result.h"
#include "engine/dataplane/backend.h"
#include "engine/ike/child_sa.h"
#include "engine/ike/keys.h"

namespace ipsec::engine::ike {

struct IkeSa;

class ChildInstaller {
 public:
  explicit ChildInstaller(dataplane::Backend& backend) : backend_(backend) {}  // not owned

  Result<uint32_t> AllocateSpi(codec::ProtocolId protocol);
  uint32_t NextReqid() { return ++last_reqid_; }

  // `we_initiated`: we initiated the exchange that created the child SA, so the "i" keys
  // protect what we send (RFC 7296 §2.17).
  Status Install(const IkeSa& sa, const ChildSa& child, const ChildKeys& keys, bool we_initiated,
                 uint64_t lifetime_kilobytes, uint32_t lifetime_seconds, double soft_fraction);
  // Removes both SAs and both policies; what is already gone is ignored.
  void Remove(const ChildSa& child);
  // Releases an allocated SPI that never became an SA.
  void Release(codec::ProtocolId protocol, uint32_t spi);

  dataplane::Backend& backend() { return backend_; }

 private:
  dataplane::Backend& backend_;
  uint32_t last_reqid_ = 0;
};

}  // namespace ipsec::engine::ike
