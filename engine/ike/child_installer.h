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

  // What Install puts in the data path. A new child SA: both SAs and both policies. A rekey
  // (RFC 7296 §2.8) keeps the child SA's reqid, whose policies are in place already
  // (`policies` false): the data path then holds two SA pairs under one reqid and sends on the
  // outbound SA added last. `defer_outbound`: the responder of a rekey installs only the
  // inbound SA; the outbound one goes to `child.deferred_outbound` until InstallDeferred
  // (§2.8: not sent on before the initiator has installed its inbound SA).
  struct Scope {
    bool policies = true;
    bool defer_outbound = false;
  };
  // `we_initiated`: we initiated the exchange that created the child SA, so the "i" keys
  // protect what we send (RFC 7296 §2.17).
  Status Install(const IkeSa& sa, ChildSa& child, const ChildKeys& keys, bool we_initiated,
                 uint64_t lifetime_kilobytes, uint32_t lifetime_seconds, double soft_fraction,
                 Scope scope);
  Status Install(const IkeSa& sa, ChildSa& child, const ChildKeys& keys, bool we_initiated,
                 uint64_t lifetime_kilobytes, uint32_t lifetime_seconds, double soft_fraction) {
    return Install(sa, child, keys, we_initiated, lifetime_kilobytes, lifetime_seconds,
                   soft_fraction, Scope{});
  }
  // Adds the outbound SA a rekey's responder held back (no-op when none is held).
  Status InstallDeferred(ChildSa& child);
  // Before `old` goes: the deferred outbound SAs of the child SAs of `sa` that replace it are
  // added first, so the data path always has an outbound SA the peer can read (§2.8).
  void PromoteReplacements(IkeSa& sa, const ChildSa& old);
  // Removes the child SA's SAs, and its policies unless another child SA of `sa` shares its
  // reqid (the other pair of a rekey). Replacements are promoted first. What is already gone is
  // ignored.
  void Remove(IkeSa& sa, const ChildSa& child);
  // Removes every child SA of `sa` (its SAs, then each reqid's policies once).
  void RemoveAll(const IkeSa& sa);
  // Removes both SAs (the outbound one unless still deferred) and both policies.
  void Remove(const ChildSa& child);
  // Releases an allocated SPI that never became an SA.
  void Release(codec::ProtocolId protocol, uint32_t spi);

  dataplane::Backend& backend() { return backend_; }

 private:
  // The child SA's SAs: its pair, and a bundle's AH pair (outbound ones unless deferred).
  void RemoveSas(const ChildSa& child);
  dataplane::Backend& backend_;
  uint32_t last_reqid_ = 0;
};

}  // namespace ipsec::engine::ike
