#include "engine/ike/tasks/ike_auth.h"

#include <set>

#include "engine/ike/auth.h"
#include "engine/ike/auth_cert.h"

namespace ipsec::engine::ike {
namespace {

using codec::NotifyType;
using codec::PayloadType;
using policy::AuthKind;

// Whether we can authenticate ourselves with `c` (FAQ 11: the initiator uses the first).
bool Usable(const Credential& c) {
  switch (c.kind) {
    case AuthKind::kPreSharedKey:
      return !c.psk.empty();
    case AuthKind::kCertificate:
      return CertificateUsable(c);
    case AuthKind::kKerberos:
      return false;
  }
  return false;
}

std::string Describe(const Credential& c) {
  switch (c.kind) {
    case AuthKind::kPreSharedKey:
      return "preshared key";
    case AuthKind::kCertificate:
      return "certificate from '" + c.certificate_authority + "'";
    case AuthKind::kKerberos:
      return "Kerberos V5";
  }
  return "?";
}

std::string WhyUnusable(const Credential& c) {
  switch (c.kind) {
    case AuthKind::kPreSharedKey:
      return "no key";
    case AuthKind::kCertificate:
      return CertificateUnusableReason(c);
    case AuthKind::kKerberos:
      return "not supported by the engine yet";
  }
  return "?";
}

const Credential* FirstUsable(const NegotiateRule& rule) {
  for (const auto& c : rule.credentials) {
    if (Usable(c)) return &c;
  }
  return nullptr;
}

std::string UnusableSummary(const NegotiateRule& rule) {
  if (rule.credentials.empty()) return "it has no authentication methods";
  std::string out;
  for (const auto& c : rule.credentials) {
    out += (out.empty() ? "" : "; ") + Describe(c) + ": " + WhyUnusable(c);
  }
  return out;
}

// Distinct reasons, at most a few (each method of each candidate rule may have added one).
std::string JoinReasons(const std::vector<std::string>& reasons) {
  constexpr size_t kMaxShown = 4;
  std::set<std::string> seen;
  std::string out;
  size_t shown = 0, hidden = 0;
  for (const auto& r : reasons) {
    if (!seen.insert(r).second) continue;
    if (shown == kMaxShown) {
      ++hidden;
      continue;
    }
    out += (out.empty() ? "" : "; ") + r;
    ++shown;
  }
  if (hidden > 0) out += "; and " + std::to_string(hidden) + " more";
  return out.empty() ? "no authentication methods" : out;
}

// How an AUTH payload authenticates, for IkeSa::local_auth / remote_auth.
std::string DescribeAuth(const codec::AuthPayload& auth) {
  if (auth.method == codec::AuthMethod::kSharedKeyMic) return "preshared key";
  return "certificate, " + DescribeSignatureAuth(auth);
}

}  // namespace

TaskStatus IkeAuthTask::Build(OutMessage& out, SteadyTime) {
  out.exchange = codec::ExchangeType::kIkeAuth;
  return role_ == Role::kInitiator ? BuildRequest(out) : BuildResponse(out);
}

TaskStatus IkeAuthTask::Process(const InMessage& in, SteadyTime now) {
  return role_ == Role::kInitiator ? ProcessResponse(in, now) : ProcessRequest(in, now);
}

Identity IkeAuthTask::LocalIdentity(const Credential& credential) const {
  if (credential.kind == AuthKind::kCertificate && credential.local_certificate) {
    return CertificateIdentity(*credential.local_certificate, sa_.config->local_identity);
  }
  if (sa_.config->local_identity) return *sa_.config->local_identity;
  return Identity::FromAddress(sa_.local.address);
}

Bytes IkeAuthTask::OurOctets() const {
  auto prf = PrfFor(sa_.algorithms.prf);
  if (!prf.ok()) return {};
  const bool initiator = sa_.original_initiator;
  // §2.15: our message of IKE_SA_INIT, the peer's nonce, prf(SK_p, our ID payload body).
  return SignedOctets(*prf, initiator ? sa_.init_request : sa_.init_response,
                      initiator ? sa_.nonce_r : sa_.nonce_i,
                      initiator ? sa_.keys.sk_pi : sa_.keys.sk_pr, sa_.local_id.ToPayload());
}

Bytes IkeAuthTask::PeerOctets(const codec::IdPayload& peer_id) const {
  auto prf = PrfFor(sa_.algorithms.prf);
  if (!prf.ok()) return {};
  const bool peer_initiated = !sa_.original_initiator;
  return SignedOctets(*prf, peer_initiated ? sa_.init_request : sa_.init_response,
                      peer_initiated ? sa_.nonce_r : sa_.nonce_i,
                      peer_initiated ? sa_.keys.sk_pi : sa_.keys.sk_pr, peer_id);
}

Result<codec::AuthPayload> IkeAuthTask::MakeAuth(const Credential& credential,
                                                 OutMessage& out) const {
  if (credential.kind == AuthKind::kPreSharedKey && !credential.psk.empty()) {
    auto prf = PrfFor(sa_.algorithms.prf);
    if (!prf.ok()) return prf.error();
    return codec::AuthPayload{codec::AuthMethod::kSharedKeyMic,
                              PskAuthData(*prf, credential.psk, OurOctets())};
  }
  if (credential.kind == AuthKind::kCertificate && CertificateUsable(credential)) {
    auto auth = CreateCertificateAuth(*credential.local_certificate, sa_.peer_signature_hashes,
                                      OurOctets());
    if (auth.ok()) AddCertificates(*credential.local_certificate, out);  // §3.6
    return auth;
  }
  return MakeError(ErrorCode::kFailedPrecondition,
                   Describe(credential) + ": " + WhyUnusable(credential));
}

bool IkeAuthTask::VerifyAuth(const Credential& credential, const codec::AuthPayload& auth,
                             const codec::IdPayload& peer_id, const PeerCertificates& certs,
                             std::string* why) const {
  const std::string method = std::to_string(static_cast<int>(auth.method));
  switch (credential.kind) {
    case AuthKind::kPreSharedKey: {
      if (credential.psk.empty()) {
        *why = "no key";
      } else if (auth.method != codec::AuthMethod::kSharedKeyMic) {
        *why = "the peer's AUTH is method " + method + ", not a shared key MIC";
      } else if (auto prf = PrfFor(sa_.algorithms.prf);
                 prf.ok() &&
                 AuthEquals(PskAuthData(*prf, credential.psk, PeerOctets(peer_id)), auth.data)) {
        return true;
      } else {
        *why = "AUTH does not match the preshared key";
      }
      return false;
    }
    case AuthKind::kCertificate: {
      if (credential.trust == nullptr) {
        *why = CertificateUnusableReason(credential);
        return false;
      }
      if (!IsSignatureMethod(auth.method)) {
        *why = "the peer's AUTH is method " + method + ", not a signature";
        return false;
      }
      Status s = certs.Verify(*credential.trust, Identity::FromPayload(peer_id), auth,
                              PeerOctets(peer_id), now_unix_);
      if (s.ok()) return true;
      *why = s.error().message;
      return false;
    }
    case AuthKind::kKerberos:
      *why = WhyUnusable(credential);
      return false;
  }
  return false;
}

const Credential* IkeAuthTask::VerifyPeer(const NegotiateRule& rule, const codec::AuthPayload& auth,
                                          const codec::IdPayload& peer_id,
                                          const PeerCertificates& certs,
                                          std::vector<std::string>* reasons) const {
  for (const auto& c : rule.credentials) {
    std::string why;
    if (VerifyAuth(c, auth, peer_id, certs, &why)) return &c;
    reasons->push_back("rule '" + rule.name + "', " + Describe(c) + ": " + why);
  }
  return nullptr;
}

TaskStatus IkeAuthTask::BuildRequest(OutMessage& out) {
  const NegotiateRule* rule = sa_.config->FindRule(rule_);
  if (rule == nullptr) {
    return Fail(FailureReason::kInternal, "rule '" + rule_ + "' is not in the policy",
                TaskStatus::kDeleteSa);
  }
  credential_ = FirstUsable(*rule);  // FAQ 11: the first usable method in preference order
  if (credential_ == nullptr) {
    return Fail(
        FailureReason::kUnsupportedAuth,
        "rule '" + rule_ + "' has no usable authentication method: " + UnusableSummary(*rule),
        TaskStatus::kDeleteSa);
  }
  sa_.local_id = LocalIdentity(*credential_);
  sa_.rule = rule_;
  if (!child_request_) {
    auto request = PrepareChildRequest(installer_, *rule, local_ts_, remote_ts_,
                                       codec::DhGroup::kNone,  // no KE in IKE_AUTH (§1.2)
                                       sa_.UdpEncapsulated());
    if (!request.ok()) {
      return Fail(FailureReason::kInternal, request.error().ToString(), TaskStatus::kDeleteSa);
    }
    child_request_ = std::move(request).value();
  }
  // HDR, SK {IDi, [CERT+,] [CERTREQ,] AUTH, [N(INITIAL_CONTACT),] SAi2, TSi, TSr}
  out.Add(PayloadType::kIdi, sa_.local_id.ToPayload());
  auto auth = MakeAuth(*credential_, out);
  if (!auth.ok()) {
    ReleaseChildRequest(installer_, *child_request_);
    return Fail(FailureReason::kUnsupportedAuth, auth.error().message, TaskStatus::kDeleteSa);
  }
  AddCertificateRequest(TrustStoresOf(*rule), out);  // §3.7: the CAs we accept the peer from
  sa_.local_auth = DescribeAuth(*auth);
  out.Add(PayloadType::kAuth, std::move(auth).value());
  if (initial_contact_ && initial_contact_()) out.AddNotify(NotifyType::kInitialContact);  // §2.4
  AddChildRequest(*child_request_, out);
  return TaskStatus::kNeedMore;
}

TaskStatus IkeAuthTask::ProcessResponse(const InMessage& in, SteadyTime now) {
  const auto* idr = in.Find<codec::IdPayload>(PayloadType::kIdr);
  const auto* auth = in.Find<codec::AuthPayload>(PayloadType::kAuth);
  if (idr == nullptr || auth == nullptr) {
    ReleaseChildRequest(installer_, *child_request_);
    const auto* error = in.ErrorNotify();
    FailureReason reason = error ? ReasonForNotify(error->type) : FailureReason::kInvalidMessage;
    return Fail(reason,
                error ? "responder refused IKE_AUTH: notify " +
                            std::to_string(static_cast<int>(error->type))
                      : "IKE_AUTH response lacks IDr or AUTH",
                TaskStatus::kDeleteSa);
  }
  // The responder may authenticate with any of the rule's methods (FAQ 11).
  const NegotiateRule* rule = sa_.config->FindRule(rule_);
  const PeerCertificates certs(in);
  std::vector<std::string> reasons;
  const Credential* verified =
      rule == nullptr ? nullptr : VerifyPeer(*rule, *auth, *idr, certs, &reasons);
  if (verified == nullptr) {
    ReleaseChildRequest(installer_, *child_request_);
    refused_responder_ = true;  // §2.21.2: the manager notifies the responder
    return Fail(FailureReason::kAuthenticationFailed,
                "responder " + Identity::FromPayload(*idr).ToString() +
                    " failed authentication: " + JoinReasons(reasons),
                TaskStatus::kDeleteSa);
  }
  sa_.remote_id = Identity::FromPayload(*idr);
  sa_.remote_auth = DescribeAuth(*auth);
  sa_.peer_authentication = PeerAuthentication::From(*verified);  // peer_authentication.h
  Established(now);
  child_outcome_ = CompleteChildRequest(*child_request_, in, sa_, installer_, sa_.nonce_i,
                                        sa_.nonce_r, now, now_unix_);
  if (!child_outcome_.child) {
    ReleaseChildRequest(installer_, *child_request_);
    return Fail(child_outcome_.reason, child_outcome_.detail, TaskStatus::kFailed);
  }
  child_request_->spi_in = 0;  // installed: no longer ours to release
  child_request_->ah_spi_in = 0;
  sa_.children.push_back(std::move(*child_outcome_.child));
  return TaskStatus::kDone;
}

IkeAuthTask::~IkeAuthTask() {
  if (child_request_) ReleaseChildRequest(installer_, *child_request_);
}

TaskStatus IkeAuthTask::ProcessRequest(const InMessage& in, SteadyTime now) {
  const auto* idi = in.Find<codec::IdPayload>(PayloadType::kIdi);
  const auto* auth = in.Find<codec::AuthPayload>(PayloadType::kAuth);
  if (idi == nullptr || auth == nullptr) {
    error_ = NotifyType::kAuthenticationFailed;
    return Fail(FailureReason::kInvalidMessage, "IKE_AUTH request lacks IDi or AUTH",
                TaskStatus::kDeleteSa);
  }
  const NegotiateRule* chosen = AuthenticateInitiator(in, *idi, *auth);
  if (chosen == nullptr) return TaskStatus::kDeleteSa;
  sa_.remote_id = Identity::FromPayload(*idi);
  sa_.remote_auth = DescribeAuth(*auth);
  sa_.rule = chosen->name;
  initial_contact_received_ = in.Notify(NotifyType::kInitialContact) != nullptr;
  Established(now);
  child_reply_.exchange = codec::ExchangeType::kIkeAuth;
  ResponderChild params{chosen, true, sa_.nonce_i, sa_.nonce_r, &random_};
  child_outcome_ =
      RespondChild(params, in, sa_, installer_, child_reply_, now, now_unix_, &child_error_);
  if (!child_outcome_.child) {
    return Fail(child_outcome_.reason, child_outcome_.detail, TaskStatus::kFailed);
  }
  sa_.children.push_back(std::move(*child_outcome_.child));
  return TaskStatus::kDone;
}

const NegotiateRule* IkeAuthTask::AuthenticateInitiator(const InMessage& in,
                                                        const codec::IdPayload& idi,
                                                        const codec::AuthPayload& auth) {
  const auto* tsi = in.Find<codec::TsPayload>(PayloadType::kTsi);
  const auto* tsr = in.Find<codec::TsPayload>(PayloadType::kTsr);
  Selectors tsi_sel = tsi ? FromPayload(*tsi) : Selectors{};
  Selectors tsr_sel = tsr ? FromPayload(*tsr) : Selectors{};
  // The rule: the first whose traffic the selectors fall in and one of whose methods verifies
  // AUTH (FAQ 11); then the default response rule (FAQ 19).
  const NegotiateRule* chosen = nullptr;
  const Credential* verified = nullptr;
  std::vector<const NegotiateRule*> candidates;
  for (const auto& rule : sa_.config->rules) {
    if (!Narrow(rule.traffic, tsi_sel, tsr_sel).local.empty()) candidates.push_back(&rule);
  }
  if (sa_.config->default_response) candidates.push_back(&*sa_.config->default_response);
  const PeerCertificates certs(in);
  std::vector<std::string> reasons;
  for (const NegotiateRule* rule : candidates) {
    verified = VerifyPeer(*rule, auth, idi, certs, &reasons);
    if (verified != nullptr) {
      chosen = rule;
      break;
    }
  }
  error_ = NotifyType::kAuthenticationFailed;  // §2.21.2, unless all goes well below
  if (chosen == nullptr) {
    Fail(FailureReason::kAuthenticationFailed,
         Identity::FromPayload(idi).ToString() + " failed authentication (" +
             std::to_string(candidates.size()) + " candidate rules): " + JoinReasons(reasons),
         TaskStatus::kDeleteSa);
    return nullptr;
  }
  // Child SAs of this IKE SA belong only to rules that accept this credential.
  sa_.peer_authentication = PeerAuthentication::From(*verified);
  // We answer with the method that verified the peer, else the rule's first usable one.
  credential_ = Usable(*verified) ? verified : FirstUsable(*chosen);
  if (credential_ == nullptr) {
    Fail(FailureReason::kUnsupportedAuth,
         "rule '" + chosen->name + "' accepted " + Identity::FromPayload(idi).ToString() +
             " but we cannot authenticate: " + UnusableSummary(*chosen),
         TaskStatus::kDeleteSa);
    return nullptr;
  }
  sa_.local_id = LocalIdentity(*credential_);
  // HDR, SK {IDr, [CERT+,] AUTH, ...}
  auth_reply_.Add(PayloadType::kIdr, sa_.local_id.ToPayload());
  auto our_auth = MakeAuth(*credential_, auth_reply_);
  if (!our_auth.ok()) {
    Fail(FailureReason::kUnsupportedAuth, our_auth.error().message, TaskStatus::kDeleteSa);
    return nullptr;
  }
  sa_.local_auth = DescribeAuth(*our_auth);
  auth_reply_.Add(PayloadType::kAuth, std::move(our_auth).value());
  error_.reset();
  return chosen;
}

TaskStatus IkeAuthTask::BuildResponse(OutMessage& out) {
  out.response = true;
  if (error_) {
    out.ReplaceWithError(*error_);
    return TaskStatus::kDeleteSa;
  }
  for (auto& e : auth_reply_.payloads) out.payloads.push_back(std::move(e));
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
