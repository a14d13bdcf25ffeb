#include "engine/ike/child_installer.h"

#include <set>
#include <vector>

#include "engine/ike/ike_sa.h"

namespace ipsec::engine::ike {
namespace {

using dataplane::SaConfig;
using dataplane::SaDirection;
using dataplane::SaProtocol;

SaProtocol ToSaProtocol(codec::ProtocolId p) {
  return p == codec::ProtocolId::kAh ? SaProtocol::kAh : SaProtocol::kEsp;
}

// One SA of `child`. `ah_half`: the AH SA of an AH+ESP bundle (FAQ 46), whose SPIs and
// integrity are the child's ah_* ones; both halves of a bundle carry SaConfig::bundle.
SaConfig MakeSa(const IkeSa& sa, const ChildSa& child, SaDirection direction,
                const SecretBytes& encryption_key, const SecretBytes& integrity_key,
                bool ah_half = false) {
  SaConfig c;
  c.direction = direction;
  if (ah_half) {
    c.spi = direction == SaDirection::kInbound ? child.ah_spi_in : child.ah_spi_out;
    c.protocol = SaProtocol::kAh;
  } else {
    c.spi = direction == SaDirection::kInbound ? child.spi_in : child.spi_out;
    c.protocol = ToSaProtocol(child.algorithms.protocol);
  }
  c.bundle = child.algorithms.bundle();
  c.mode = child.mode;
  c.local = sa.local;
  c.remote = sa.remote;
  // RFC 7296 §2.23: with a NAT in between, ESP travels in UDP on the IKE SA's 4500 ports.
  c.udp_encapsulation = sa.UdpEncapsulated();
  if (c.protocol == SaProtocol::kAh) {
    c.algorithms.integrity_id =
        static_cast<uint16_t>(ah_half ? child.algorithms.ah_integrity : child.algorithms.integrity);
  } else {
    c.algorithms.encryption_id = static_cast<uint16_t>(child.algorithms.encryption);
    c.algorithms.encryption_key_bits = child.algorithms.encryption_key_bits;
    c.algorithms.integrity_id = static_cast<uint16_t>(child.algorithms.integrity);
  }
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
  lifetime.soft_bytes =
      static_cast<uint64_t>(static_cast<double>(lifetime.hard_bytes) * soft_fraction);
  lifetime.hard_seconds = lifetime_seconds;
  lifetime.soft_seconds = static_cast<uint64_t>(lifetime_seconds * soft_fraction);

  // A bundle (FAQ 46) is two SA pairs; AH's go in first so that the outbound ESP SA, which
  // the data path's policy lookup finds, never goes out without its AH partner.
  std::vector<SaConfig> sas;
  if (child.algorithms.bundle()) {
    const SecretBytes& out_ah = we_initiated ? keys.ah_integrity_i : keys.ah_integrity_r;
    const SecretBytes& in_ah = we_initiated ? keys.ah_integrity_r : keys.ah_integrity_i;
    sas.push_back(MakeSa(sa, child, SaDirection::kInbound, {}, in_ah, /*ah_half=*/true));
    sas.push_back(MakeSa(sa, child, SaDirection::kOutbound, {}, out_ah, /*ah_half=*/true));
  }
  sas.push_back(MakeSa(sa, child, SaDirection::kInbound, in_e, in_a));
  sas.push_back(MakeSa(sa, child, SaDirection::kOutbound, out_e, out_a));
  std::vector<const SaConfig*> added;
  auto undo = [&] {
    for (const SaConfig* c : added) (void)backend_.DeleteSa(c->protocol, c->spi);
  };
  for (SaConfig& c : sas) {
    c.lifetime = lifetime;
    if (scope.defer_outbound && c.direction == SaDirection::kOutbound) {
      auto& slot = c.protocol == SaProtocol::kAh && child.algorithms.bundle()
                       ? child.deferred_outbound_ah
                       : child.deferred_outbound;
      slot = std::make_shared<const SaConfig>(std::move(c));
      continue;
    }
    if (Status s = backend_.AddSa(c); !s.ok()) {
      undo();
      child.deferred_outbound.reset();
      child.deferred_outbound_ah.reset();
      return s;
    }
    added.push_back(&c);
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
  // A bundle's AH half first (see Install).
  if (child.deferred_outbound_ah) {
    std::shared_ptr<const SaConfig> ah = std::move(child.deferred_outbound_ah);
    child.deferred_outbound_ah.reset();
    if (Status s = backend_.AddSa(*ah); !s.ok()) return s;
  }
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
  bool shared = false;
  for (const ChildSa& c : sa.children) {
    shared = shared || (c.reqid == child.reqid && c.spi_in != child.spi_in);
  }
  if (!shared) {
    (void)backend_.DeletePolicy(child.reqid, SaDirection::kOutbound);
    (void)backend_.DeletePolicy(child.reqid, SaDirection::kInbound);
  }
  RemoveSas(child);
}

void ChildInstaller::RemoveSas(const ChildSa& child) {
  SaProtocol p = ToSaProtocol(child.algorithms.protocol);
  (void)backend_.DeleteSa(p, child.spi_in);
  if (!child.deferred_outbound) (void)backend_.DeleteSa(p, child.spi_out);
  if (child.algorithms.bundle()) {
    (void)backend_.DeleteSa(SaProtocol::kAh, child.ah_spi_in);
    if (!child.deferred_outbound_ah) (void)backend_.DeleteSa(SaProtocol::kAh, child.ah_spi_out);
  }
}

void ChildInstaller::RemoveAll(const IkeSa& sa) {
  std::set<uint32_t> reqids;
  for (const ChildSa& c : sa.children) {
    if (reqids.insert(c.reqid).second) {
      (void)backend_.DeletePolicy(c.reqid, SaDirection::kOutbound);
      (void)backend_.DeletePolicy(c.reqid, SaDirection::kInbound);
    }
    RemoveSas(c);
  }
}

void ChildInstaller::Remove(const ChildSa& child) {
  (void)backend_.DeletePolicy(child.reqid, SaDirection::kOutbound);
  (void)backend_.DeletePolicy(child.reqid, SaDirection::kInbound);
  RemoveSas(child);
}

}  // namespace ipsec::engine::ike
