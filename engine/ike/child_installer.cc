#include "engine/ike/child_installer.h"

#include <set>

#include "engine/ike/ike_sa.h"

namespace ipsec::engine::ike {
namespace {

using dataplane::SaConfig;
using dataplane::SaDirection;
using dataplane::SaProtocol;

SaProtocol ToSaProtocol(codec::ProtocolId p) {
  return p == codec::ProtocolId::kAh ? SaProtocol::kAh : SaProtocol::kEsp;
}

SaConfig MakeSa(const IkeSa& sa, const ChildSa& child, SaDirection direction,
                const SecretBytes& encryption_key, const SecretBytes& integrity_key) {
  SaConfig c;
  c.direction = direction;
  c.spi = direction == SaDirection::kInbound ? child.spi_in : child.spi_out;
  c.protocol = ToSaProtocol(child.algorithms.protocol);
  c.mode = child.mode;
  c.local = sa.local;
  c.remote = sa.remote;
  // RFC 7296 §2.23: with a NAT in between, ESP travels in UDP on the IKE SA's 4500 ports.
  c.udp_encapsulation = sa.UdpEncapsulated();
  c.algorithms.encryption_id =
      child.algorithms.protocol == codec::ProtocolId::kAh
          ? 0
          : static_cast<uint16_t>(child.algorithms.encryption);
  c.algorithms.encryption_key_bits = child.algorithms.encryption_key_bits;
  c.algorithms.integrity_id = static_cast<uint16_t>(child.algorithms.integrity);
  c.algorithms.esn = child.algorithms.esn;
  c.algorithms.encryption_key = encryption_key;
  c.algorithms.integrity_key = integrity_key;
  c.reqid = child.reqid;
  c.local_ts = child.local_ts;
  c.remote_ts = child.remote_ts;
  c.rule = child.rule;
  c.peer = sa.remote_id.ToString();
  return c;
}

}  // namespace

Result<uint32_t> ChildInstaller::AllocateSpi(codec::ProtocolId protocol) {
  return backend_.AllocateSpi(ToSaProtocol(protocol));
}

void ChildInstaller::Release(codec::ProtocolId protocol, uint32_t spi) {
  (void)backend_.DeleteSa(ToSaProtocol(protocol), spi);
}

Status ChildInstaller::Install(const IkeSa& sa, ChildSa& child, const ChildKeys& keys,
                               bool we_initiated, uint64_t lifetime_kilobytes,
                               uint32_t lifetime_seconds, double soft_fraction, Scope scope) {
  const SecretBytes& out_e = we_initiated ? keys.encryption_i : keys.encryption_r;
  const SecretBytes& out_a = we_initiated ? keys.integrity_i : keys.integrity_r;
  const SecretBytes& in_e = we_initiated ? keys.encryption_r : keys.encryption_i;
  const SecretBytes& in_a = we_initiated ? keys.integrity_r : keys.integrity_i;
  dataplane::Lifetime lifetime;
  lifetime.hard_bytes = lifetime_kilobytes * 1024;
  lifetime.soft_bytes = static_cast<uint64_t>(static_cast<double>(lifetime.hard_bytes) * soft_fraction);
  lifetime.hard_seconds = lifetime_seconds;
  lifetime.soft_seconds = static_cast<uint64_t>(lifetime_seconds * soft_fraction);

  SaConfig in = MakeSa(sa, child, SaDirection::kInbound, in_e, in_a);
  SaConfig out = MakeSa(sa, child, SaDirection::kOutbound, out_e, out_a);
  in.lifetime = out.lifetime = lifetime;
  if (Status s = backend_.AddSa(in); !s.ok()) return s;
  if (scope.defer_outbound) {
    child.deferred_outbound = std::make_shared<const SaConfig>(std::move(out));
  } else if (Status s = backend_.AddSa(out); !s.ok()) {
    (void)backend_.DeleteSa(in.protocol, in.spi);
    return s;
  }
  if (!scope.policies) return Status::Ok();
  dataplane::PolicyConfig policy;
  policy.reqid = child.reqid;
  policy.local_ts = child.local_ts;
  policy.remote_ts = child.remote_ts;
  policy.mode = child.mode;
  policy.local = sa.local;
  policy.remote = sa.remote;
  for (SaDirection d : {SaDirection::kOutbound, SaDirection::kInbound}) {
    policy.direction = d;
    if (Status s = backend_.AddPolicy(policy); !s.ok()) {
      Remove(child);
      return s;
    }
  }
  return Status::Ok();
}

Status ChildInstaller::InstallDeferred(ChildSa& child) {
  if (!child.deferred_outbound) return Status::Ok();
  std::shared_ptr<const SaConfig> out = std::move(child.deferred_outbound);
  child.deferred_outbound.reset();
  return backend_.AddSa(*out);
}

void ChildInstaller::PromoteReplacements(IkeSa& sa, const ChildSa& old) {
  for (ChildSa& c : sa.children) {
    // Not a redundant pair (§2.8.1, kRekeyed) nor one being deleted: those are never sent on.
    if (c.replaces_spi_in == old.spi_in && c.spi_in != old.spi_in && c.deferred_outbound &&
        (c.state == ChildSaState::kInstalled || c.state == ChildSaState::kRekeying)) {
      (void)InstallDeferred(c);
    }
  }
}

void ChildInstaller::Remove(IkeSa& sa, const ChildSa& child) {
  PromoteReplacements(sa, child);
  SaProtocol p = ToSaProtocol(child.algorithms.protocol);
  bool shared = false;
  for (const ChildSa& c : sa.children) {
    shared = shared || (c.reqid == child.reqid && c.spi_in != child.spi_in);
  }
  if (!shared) {
    (void)backend_.DeletePolicy(child.reqid, SaDirection::kOutbound);
    (void)backend_.DeletePolicy(child.reqid, SaDirection::kInbound);
  }
  (void)backend_.DeleteSa(p, child.spi_in);
  if (!child.deferred_outbound) (void)backend_.DeleteSa(p, child.spi_out);
}

void ChildInstaller::RemoveAll(const IkeSa& sa) {
  std::set<uint32_t> reqids;
  for (const ChildSa& c : sa.children) {
    if (reqids.insert(c.reqid).second) {
      (void)backend_.DeletePolicy(c.reqid, SaDirection::kOutbound);
      (void)backend_.DeletePolicy(c.reqid, SaDirection::kInbound);
    }
    SaProtocol p = ToSaProtocol(c.algorithms.protocol);
    (void)backend_.DeleteSa(p, c.spi_in);
    if (!c.deferred_outbound) (void)backend_.DeleteSa(p, c.spi_out);
  }
}

void ChildInstaller::Remove(const ChildSa& child) {
  SaProtocol p = ToSaProtocol(child.algorithms.protocol);
  (void)backend_.DeletePolicy(child.reqid, SaDirection::kOutbound);
  (void)backend_.DeletePolicy(child.reqid, SaDirection::kInbound);
  (void)backend_.DeleteSa(p, child.spi_in);
  if (!child.deferred_outbound) (void)backend_.DeleteSa(p, child.spi_out);
}

}  // namespace ipsec::engine::ike
