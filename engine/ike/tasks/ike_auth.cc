#include "engine/ike/tasks/ike_auth.h"

#include "engine/ike/auth.h"

namespace ipsec::engine::ike {
namespace {

using codec::NotifyType;
using codec::PayloadType;

const Credential* FirstUsable(const NegotiateRule& rule) {
  for (const auto& c : rule.credentials) {
    if (c.kind == policy::AuthKind::kPreSharedKey && !c.psk.empty()) return &c;
  }
  return nullptr;
}

}  // namespace

TaskStatus IkeAuthTask::Build(OutMessage& out, SteadyTime) {
  out.exchange = codec::ExchangeType::kIkeAuth;
  return role_ == Role::kInitiator ? BuildRequest(out) : BuildResponse(out);
}

TaskStatus IkeAuthTask::Process(const InMessage& in, SteadyTime now) {
  return role_ == Role::kInitiator ? ProcessResponse(in, now) : ProcessRequest(in, now);
}

Identity IkeAuthTask::LocalIdentity() const {
  if (sa_.config->local_identity) return *sa_.config->local_identity;
  return Identity::FromAddress(sa_.local.address);
}

std::optional<codec::AuthPayload> IkeAuthTask::MakeAuth(const Credential& credential) const {
  if (credential.kind != policy::AuthKind::kPreSharedKey) return std::nullopt;
  auto prf = PrfFor(sa_.algorithms.prf);
  if (!prf.ok()) return std::nullopt;
  const bool initiator = sa_.original_initiator;
  // §2.15: our message of IKE_SA_INIT, the peer's nonce, prf(SK_p, our ID payload body).
  Bytes octets = SignedOctets(*prf, initiator ? sa_.init_request : sa_.init_response,
                              initiator ? sa_.nonce_r : sa_.nonce_i,
                              initiator ? sa_.keys.sk_pi : sa_.keys.sk_pr,
                              sa_.local_id.ToPayload());
  return codec::AuthPayload{codec::AuthMethod::kSharedKeyMic,
                            PskAuthData(*prf, credential.psk, octets)};
}

bool IkeAuthTask::VerifyAuth(const Credential& credential, const codec::AuthPayload& auth,
                             const codec::IdPayload& peer_id) const {
  if (credential.kind != policy::AuthKind::kPreSharedKey ||
      auth.method != codec::AuthMethod::kSharedKeyMic) {
    return false;
  }
  auto prf = PrfFor(sa_.algorithms.prf);
  if (!prf.ok()) return false;
  const bool peer_initiated = !sa_.original_initiator;
  Bytes octets = SignedOctets(*prf, peer_initiated ? sa_.init_request : sa_.init_response,
                              peer_initiated ? sa_.nonce_r : sa_.nonce_i,
                              peer_initiated ? sa_.keys.sk_pi : sa_.keys.sk_pr, peer_id);
  return AuthEquals(PskAuthData(*prf, credential.psk, octets), auth.data);
}

TaskStatus IkeAuthTask::BuildRequest(OutMessage& out) {
  const NegotiateRule* rule = sa_.config->FindRule(rule_);
  if (rule == nullptr) {
    return Fail(FailureReason::kInternal, "rule '" + rule_ + "' is not in the policy",
                TaskStatus::kDeleteSa);
  }
  credential_ = FirstUsable(*rule);
  if (credential_ == nullptr) {
    return Fail(FailureReason::kUnsupportedAuth,
                "rule '" + rule_ + "' has no authentication method the engine supports",
                TaskStatus::kDeleteSa);
  }
  sa_.local_id = LocalIdentity();
  sa_.rule = rule_;
  if (!child_request_) {
    auto request = PrepareChildRequest(installer_, *rule, local_ts_, remote_ts_,
                                       codec::DhGroup::kNone);  // no KE in IKE_AUTH (§1.2)
    if (!request.ok()) {
      return Fail(FailureReason::kInternal, request.error().ToString(), TaskStatus::kDeleteSa);
    }
    child_request_ = std::move(request).value();
  }
  out.Add(PayloadType::kIdi, sa_.local_id.ToPayload());
  out.Add(PayloadType::kAuth, *MakeAuth(*credential_));
  if (initial_contact_) out.AddNotify(NotifyType::kInitialContact);  // §2.4
  AddChildRequest(*child_request_, out);
  return TaskStatus::kNeedMore;
}

TaskStatus IkeAuthTask::ProcessResponse(const InMessage& in, SteadyTime now) {
  const auto* idr = in.Find<codec::IdPayload>(PayloadType::kIdr);
  const auto* auth = in.Find<codec::AuthPayload>(PayloadType::kAuth);
  if (idr == nullptr || auth == nullptr) {
    installer_.Release(codec::ProtocolId::kEsp, child_request_->spi_in);
    const auto* error = in.ErrorNotify();
    FailureReason reason = error ? ReasonForNotify(error->type) : FailureReason::kInvalidMessage;
    return Fail(reason,
                error ? "responder refused IKE_AUTH: notify " +
                            std::to_string(static_cast<int>(error->type))
                      : "IKE_AUTH response lacks IDr or AUTH",
                TaskStatus::kDeleteSa);
  }
  if (!VerifyAuth(*credential_, *auth, *idr)) {
    installer_.Release(codec::ProtocolId::kEsp, child_request_->spi_in);
    return Fail(FailureReason::kAuthenticationFailed, "responder's AUTH does not verify",
                TaskStatus::kDeleteSa);
  }
  sa_.remote_id = Identity::FromPayload(*idr);
  Established(now);
  child_outcome_ = CompleteChildRequest(*child_request_, in, sa_, installer_, sa_.nonce_i,
                                        sa_.nonce_r, now, now_unix_);
  if (!child_outcome_.child) {
    installer_.Release(codec::ProtocolId::kEsp, child_request_->spi_in);
    return Fail(child_outcome_.reason, child_outcome_.detail, TaskStatus::kFailed);
  }
  sa_.children.push_back(std::move(*child_outcome_.child));
  return TaskStatus::kDone;
}

TaskStatus IkeAuthTask::ProcessRequest(const InMessage& in, SteadyTime now) {
  const auto* idi = in.Find<codec::IdPayload>(PayloadType::kIdi);
  const auto* auth = in.Find<codec::AuthPayload>(PayloadType::kAuth);
  if (idi == nullptr || auth == nullptr) {
    error_ = NotifyType::kAuthenticationFailed;
    return Fail(FailureReason::kInvalidMessage, "IKE_AUTH request lacks IDi or AUTH",
                TaskStatus::kDeleteSa);
  }
  const auto* tsi = in.Find<codec::TsPayload>(PayloadType::kTsi);
  const auto* tsr = in.Find<codec::TsPayload>(PayloadType::kTsr);
  Selectors tsi_sel = tsi ? FromPayload(*tsi) : Selectors{};
  Selectors tsr_sel = tsr ? FromPayload(*tsr) : Selectors{};
  // The rule: the first whose traffic the selectors fall in and whose methods verify AUTH
  // (FAQ 11); then the default response rule (FAQ 19).
  const NegotiateRule* chosen = nullptr;
  std::vector<const NegotiateRule*> candidates;
  for (const auto& rule : sa_.config->rules) {
    if (!Narrow(rule.traffic, tsi_sel, tsr_sel).local.empty()) candidates.push_back(&rule);
  }
  if (sa_.config->default_response) candidates.push_back(&*sa_.config->default_response);
  for (const NegotiateRule* rule : candidates) {
    for (const auto& c : rule->credentials) {
      if (VerifyAuth(c, *auth, *idi)) {
        chosen = rule;
        credential_ = &c;
        break;
      }
    }
    if (chosen != nullptr) break;
  }
  if (chosen == nullptr) {
    error_ = NotifyType::kAuthenticationFailed;  // §2.21.2
    return Fail(FailureReason::kAuthenticationFailed,
                "no rule's authentication method verifies " + Identity::FromPayload(*idi).ToString() +
                    " (" + std::to_string(candidates.size()) + " candidate rules)",
                TaskStatus::kDeleteSa);
  }
  sa_.remote_id = Identity::FromPayload(*idi);
  sa_.local_id = LocalIdentity();
  sa_.rule = chosen->name;
  initial_contact_received_ = in.Notify(NotifyType::kInitialContact) != nullptr;
  Established(now);
  child_reply_.exchange = codec::ExchangeType::kIkeAuth;
  ResponderChild params{chosen, true, sa_.nonce_i, sa_.nonce_r, &random_};
  child_outcome_ = RespondChild(params, in, sa_, installer_, child_reply_, now, now_unix_,
                                &child_error_);
  if (!child_outcome_.child) {
    return Fail(child_outcome_.reason, child_outcome_.detail, TaskStatus::kFailed);
  }
  sa_.children.push_back(std::move(*child_outcome_.child));
  return TaskStatus::kDone;
}

TaskStatus IkeAuthTask::BuildResponse(OutMessage& out) {
  out.response = true;
  if (error_) {
    out.ReplaceWithError(*error_);
    return TaskStatus::kDeleteSa;
  }
  out.Add(PayloadType::kIdr, sa_.local_id.ToPayload());
  out.Add(PayloadType::kAuth, *MakeAuth(*credential_));
  if (child_error_) {
    out.AddNotify(*child_error_);  // §1.2: the IKE SA stands, the child SA does not
    return TaskStatus::kFailed;
  }
  for (auto& e : child_reply_.payloads) out.payloads.push_back(std::move(e));
  return TaskStatus::kDone;
}

void IkeAuthTask::Established(SteadyTime now) {
  sa_.state = IkeSaState::kEstablished;
  sa_.established = now;
  sa_.established_unix = now_unix_;
  sa_.last_inbound = now;
  const auto lifetime = std::chrono::seconds(sa_.config->ike_lifetime_seconds);
  sa_.expire_at = now + lifetime;
  sa_.rekey_at = now + std::chrono::duration_cast<std::chrono::seconds>(
                           lifetime * sa_.config->timers.rekey_fraction);
}

}  // namespace ipsec::engine::ike
