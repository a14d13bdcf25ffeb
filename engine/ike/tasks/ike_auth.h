#pragma once

// IKE_AUTH (RFC 7296 §1.2, §2.15) with the first child SA piggybacked (§1.3):
//   initiator -> HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, [N(INITIAL_CONTACT),]
//                         [N(USE_TRANSPORT_MODE),] SAi2, TSi, TSr}
//   responder <- HDR, SK {IDr, [CERT,] AUTH, [N(USE_TRANSPORT_MODE),] SAr2, TSi, TSr}
// The responder picks the rule whose traffic the request's selectors fall in (FAQ 11), or the
// default response rule (FAQ 19), and accepts the peer if one of that rule's authentication
// methods verifies its AUTH. A refused child SA leaves the IKE SA up (§1.2: N instead of SAr2).
// Methods (FAQ 11): the initiator authenticates with the rule's first usable one and accepts the
// responder under any of the rule's methods; the responder accepts any of the rule's methods
// and answers with the one that verified (or the rule's first usable one). Certificates:
// auth_cert.h; preshared keys: auth.h.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/random.h"
#include "engine/ike/child_negotiation.h"
#include "engine/ike/task.h"

namespace ipsec::engine::ike {

class PeerCertificates;

class IkeAuthTask final : public Task {
 public:
  // Responder.
  IkeAuthTask(IkeSa& sa, ChildInstaller& installer, Random& random)
      : sa_(sa), installer_(installer), random_(random), role_(Role::kResponder) {}
  // Initiator: authenticate under `rule` and negotiate its child SA for the given traffic.
  // `initial_contact` says, when the request is built, whether to send N(INITIAL_CONTACT)
  // (§2.4: we hold no other IKE SA with the peer at that moment); null: never.
  IkeAuthTask(IkeSa& sa, ChildInstaller& installer, Random& random, std::string rule,
              Selectors local_ts, Selectors remote_ts, std::function<bool()> initial_contact)
      : sa_(sa),
        installer_(installer),
        random_(random),
        role_(Role::kInitiator),
        rule_(std::move(rule)),
        local_ts_(std::move(local_ts)),
        remote_ts_(std::move(remote_ts)),
        initial_contact_(std::move(initial_contact)) {}
  // Releases the child SA's inbound SPIs if they were allocated but never installed: the IKE
  // SA may die with the exchange outstanding (deleted, timed out).
  ~IkeAuthTask() override;

  const char* name() const override { return "ike-auth"; }
  codec::ExchangeType exchange() const override { return codec::ExchangeType::kIkeAuth; }
  TaskStatus Build(OutMessage& out, SteadyTime now) override;
  TaskStatus Process(const InMessage& in, SteadyTime now) override;

  // Set when the IKE SA came up but its child SA did not (the API and metrics report both).
  const ChildOutcome& child_outcome() const { return child_outcome_; }
  bool initial_contact_received() const { return initial_contact_received_; }
  // Initiator: we refused the responder's AUTH (then AuthFailedNotifyTask tells it, §2.21.2).
  bool refused_responder() const { return refused_responder_; }

  void set_now_unix(int64_t now_unix) { now_unix_ = now_unix; }

 private:
  TaskStatus BuildRequest(OutMessage& out);
  TaskStatus ProcessResponse(const InMessage& in, SteadyTime now);
  TaskStatus ProcessRequest(const InMessage& in, SteadyTime now);
  TaskStatus BuildResponse(OutMessage& out);
  // Responder: picks the rule and verifies the initiator under it (FAQ 11, 19), then prepares
  // our IDr, [CERT+,] AUTH. nullptr after Fail() (error_ is then AUTHENTICATION_FAILED).
  const NegotiateRule* AuthenticateInitiator(const InMessage& in, const codec::IdPayload& idi,
                                             const codec::AuthPayload& auth);
  void Established(SteadyTime now);
  Identity LocalIdentity(const Credential& credential) const;
  // §2.15: the octets we sign (our IKE_SA_INIT message, the peer's nonce, prf(SK_p, our ID)),
  // and those the peer signed with its ID.
  Bytes OurOctets() const;
  Bytes PeerOctets(const codec::IdPayload& peer_id) const;
  // Our AUTH with `credential` (§2.15); a certificate method also adds our CERT payloads to
  // `out` (§3.6). An error when the method is not usable or signing failed.
  Result<codec::AuthPayload> MakeAuth(const Credential& credential, OutMessage& out) const;
  // True iff `credential` verifies the peer's AUTH; otherwise `why` says why not.
  bool VerifyAuth(const Credential& credential, const codec::AuthPayload& auth,
                  const codec::IdPayload& peer_id, const PeerCertificates& certs,
                  std::string* why) const;
  // The first of `rule`'s methods that verifies the peer, or nullptr; each failure is added
  // to `reasons`.
  const Credential* VerifyPeer(const NegotiateRule& rule, const codec::AuthPayload& auth,
                               const codec::IdPayload& peer_id, const PeerCertificates& certs,
                               std::vector<std::string>* reasons) const;

  IkeSa& sa_;
  ChildInstaller& installer_;
  Random& random_;
  Role role_;
  std::string rule_;
  Selectors local_ts_;
  Selectors remote_ts_;
  std::function<bool()> initial_contact_;
  bool initial_contact_received_ = false;
  bool refused_responder_ = false;
  int64_t now_unix_ = 0;
  const Credential* credential_ = nullptr;  // the method we authenticate with
  std::optional<ChildRequest> child_request_;
  ChildOutcome child_outcome_;
  // Responder: what to answer.
  std::optional<codec::NotifyType> error_;
  OutMessage auth_reply_;  // IDr, [CERT+], AUTH
  OutMessage child_reply_;
  std::optional<codec::NotifyType> child_error_;
};

// RFC 7296 §2.21.2: the initiator that refused the responder's AUTH says so,
//   initiator -> HDR, SK {N(AUTHENTICATION_FAILED)}
// and deletes the IKE SA without waiting for the answer (the manager sends it, then removes
// the SA).
class AuthFailedNotifyTask final : public Task {
 public:
  const char* name() const override { return "auth-failed-notify"; }
  codec::ExchangeType exchange() const override { return codec::ExchangeType::kInformational; }
  TaskStatus Build(OutMessage& out, SteadyTime) override {
    out.AddNotify(codec::NotifyType::kAuthenticationFailed);
    return TaskStatus::kNeedMore;
  }
  TaskStatus Process(const InMessage&, SteadyTime) override { return TaskStatus::kDeleteSa; }
};

}  // namespace ipsec::engine::ike
