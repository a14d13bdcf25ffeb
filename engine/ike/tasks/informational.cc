#include "engine/ike/tasks/informational.h"

#include <algorithm>

namespace ipsec::engine::ike {
namespace {

using codec::PayloadType;
using codec::ProtocolId;

codec::DeletePayload DeleteOf(ProtocolId protocol, const std::vector<uint32_t>& spis) {
  codec::DeletePayload d;
  d.protocol = protocol;
  d.spis = spis;
  return d;
}

}  // namespace

// §3.11: one Delete payload per protocol, each naming our inbound SPIs; an AH+ESP bundle's
// (FAQ 46) AH pair is named in the AH one beside its ESP pair. An SPI whose child SA we do not
// hold (never installed) is named as ESP.
void InformationalTask::AddChildDeletes(OutMessage& out) {
  std::vector<uint32_t> esp;
  std::vector<uint32_t> ah;
  for (uint32_t spi : child_spis_) {
    const ChildSa* c = sa_.FindChildByInboundSpi(spi);
    if (c == nullptr) {
      auto it = std::find_if(removed_.begin(), removed_.end(),
                             [&](const ChildSa& r) { return r.spi_in == spi; });
      if (it != removed_.end()) c = &*it;
    }
    (c != nullptr && c->algorithms.protocol == ProtocolId::kAh ? ah : esp).push_back(spi);
    if (c != nullptr && c->algorithms.bundle()) ah.push_back(c->ah_spi_in);
  }
  if (!esp.empty()) out.Add(PayloadType::kDelete, DeleteOf(ProtocolId::kEsp, esp));
  if (!ah.empty()) out.Add(PayloadType::kDelete, DeleteOf(ProtocolId::kAh, ah));
}

const char* InformationalTask::name() const {
  if (role_ == Role::kResponder) return "informational";
  switch (kind_) {
    case Kind::kLiveness:
      return "liveness";
    case Kind::kDeleteIkeSa:
      return "ike-delete";
    case Kind::kDeleteChildSas:
      return "child-delete";
  }
  return "informational";
}

void InformationalTask::RemoveChild(uint32_t spi_in) {
  auto it = std::find_if(sa_.children.begin(), sa_.children.end(),
                         [&](const ChildSa& c) { return c.spi_in == spi_in; });
  if (it == sa_.children.end()) return;
  // §2.8: a rekey's responder adds the new outbound SA (held back until now) before the old
  // SA goes; then the old SAs, and the policies unless the new pair shares the reqid.
  installer_.Remove(sa_, *it);
  removed_.push_back(*it);
  sa_.children.erase(it);
}

TaskStatus InformationalTask::Build(OutMessage& out, SteadyTime) {
  out.exchange = codec::ExchangeType::kInformational;
  if (role_ == Role::kResponder) {
    out.response = true;
    // §1.4.1: answer with the SPIs of our side of each SA pair deleted.
    AddChildDeletes(out);
    return ike_sa_deleted_ ? TaskStatus::kDeleteSa : TaskStatus::kDone;
  }
  if (kind_ == Kind::kDeleteIkeSa) {
    sa_.state = IkeSaState::kDeleting;
    out.Add(PayloadType::kDelete, DeleteOf(ProtocolId::kIke, {}));
  } else if (kind_ == Kind::kDeleteChildSas) {
    for (uint32_t spi : child_spis_) {
      if (ChildSa* c = sa_.FindChildByInboundSpi(spi)) c->state = ChildSaState::kDeleting;
    }
    AddChildDeletes(out);
  }
  return TaskStatus::kNeedMore;
}

TaskStatus InformationalTask::Process(const InMessage& in, SteadyTime now) {
  sa_.last_inbound = now;
  if (role_ == Role::kInitiator) {
    if (kind_ == Kind::kDeleteIkeSa) return TaskStatus::kDeleteSa;
    if (kind_ == Kind::kDeleteChildSas) {
      for (uint32_t spi : child_spis_) RemoveChild(spi);
    }
    return TaskStatus::kDone;
  }
  if (in.Notify(codec::NotifyType::kAuthenticationFailed) != nullptr) {
    // RFC 7296 §2.21.2: the initiator refused our AUTH; the IKE SA is gone on its side.
    ike_sa_deleted_ = true;
    Fail(FailureReason::kAuthenticationFailed,
         "the initiator refused our authentication (AUTHENTICATION_FAILED)", TaskStatus::kDeleteSa);
  }
  for (const auto* d : in.FindAll<codec::DeletePayload>(PayloadType::kDelete)) {
    if (d->protocol == ProtocolId::kIke) {
      ike_sa_deleted_ = true;  // §1.4.1: the IKE SA and all its child SAs go
      continue;
    }
    for (uint32_t spi : d->spis) {
      // The peer names its inbound SPI, which is our outbound one.
      // A bundle's pair is found by either half's SPI; the second finds it gone.
      if (ChildSa* c = sa_.FindChildByOutboundSpi(spi, d->protocol)) {
        uint32_t ours = c->spi_in;
        if (c->state != ChildSaState::kDeleting) child_spis_.push_back(ours);
        RemoveChild(ours);
      }
    }
  }
  return TaskStatus::kDone;
}

}  // namespace ipsec::engine::ike
