#include "engine/ike/tasks/rekey_ike_sa.h"

namespace ipsec::engine::ike {
namespace {

using codec::NotifyType;
using codec::PayloadType;

constexpr size_t kNonceSize = 32;  // §2.10
constexpr int kMaxRetries = 2;

Bytes SpiBytes(uint64_t v) {
  Bytes b;
  for (int shift = 56; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
  return b;
}

uint64_t SpiOf(const Bytes& b) {
  if (b.size() != 8) return 0;
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

Bytes GroupBytes(codec::DhGroup g) {
  auto v = static_cast<uint16_t>(g);
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

}  // namespace

TaskStatus RekeyIkeSaTask::Build(OutMessage& out, SteadyTime) {
  return role_ == Role::kInitiator ? BuildRequest(out) : BuildResponse(out);
}

TaskStatus RekeyIkeSaTask::Process(const InMessage& in, SteadyTime) {
  return role_ == Role::kInitiator ? ProcessResponse(in) : ProcessRequest(in);
}

TaskStatus RekeyIkeSaTask::Abort(FailureReason reason, std::string detail) {
  // The peer's rekey, if ours collided with one (IkeSa::peer_rekey), is the manager's to
  // conclude (§2.8.2: the peer saw no collision, so its new IKE SA is the successor).
  if (role_ == Role::kInitiator && sa_.state == IkeSaState::kRekeying) {
    sa_.state = IkeSaState::kEstablished;
  }
  return Fail(reason, std::move(detail), TaskStatus::kFailed);
}

// HDR, SK {SA, Ni, KEi}  (§1.3.2)
TaskStatus RekeyIkeSaTask::BuildRequest(OutMessage& out) {
  out.exchange = codec::ExchangeType::kCreateChildSa;
  if (sa_.state != IkeSaState::kEstablished && sa_.state != IkeSaState::kRekeying) {
    return Fail(FailureReason::kInternal,
                "IKE SA is " + std::string(Name(sa_.state)) + ", not rekeyed", TaskStatus::kFailed);
  }
  if (our_spi_ == 0) our_spi_ = new_spi_();
  if (group_ == codec::DhGroup::kNone) group_ = sa_.algorithms.dh_group;
  if (!ke_ || static_cast<codec::DhGroup>(ke_->group()) != group_) {
    auto ke = crypto::KeyExchange::Generate(static_cast<crypto::Group>(group_));
    if (!ke.ok()) return Abort(FailureReason::kInternal, ke.error().ToString());
    ke_ = std::move(ke).value();
  }
  offer_ = MakeIkeOffer(sa_.config->ike_proposals, SpiBytes(our_spi_));
  if (offer_.proposals.empty()) return Abort(FailureReason::kInternal, "no IKE proposals");
  nonce_.assign(kNonceSize, 0);
  random_.Fill(nonce_.data(), nonce_.size());
  sa_.state = IkeSaState::kRekeying;
  out.Add(PayloadType::kSa, offer_);
  out.Add(PayloadType::kNonce, codec::NoncePayload{nonce_});
  out.Add(PayloadType::kKe, codec::KePayload{group_, ke_->PublicValue()});
  return TaskStatus::kNeedMore;
}

TaskStatus RekeyIkeSaTask::ProcessResponse(const InMessage& in) {
  if (const auto* invalid_ke = in.Notify(NotifyType::kInvalidKePayload)) {
    if (++retries_ > kMaxRetries || invalid_ke->data.size() != 2) {
      return Abort(FailureReason::kInvalidKePayload, "INVALID_KE_PAYLOAD");
    }
    auto group = static_cast<codec::DhGroup>(invalid_ke->data[0] << 8 | invalid_ke->data[1]);
    bool offered = false;
    for (const auto& p : sa_.config->ike_proposals) offered |= ToTransform(p.dh_group) == group;
    if (!offered || group == group_) {
      return Abort(FailureReason::kInvalidKePayload,
                   "responder wants group " + Name(group) + ", which we did not offer");
    }
    group_ = group;
    return TaskStatus::kNeedMore;  // §1.3: retry with the requested group
  }
  if (const auto* error = in.ErrorNotify()) {
    temporary_failure_ = error->type == NotifyType::kTemporaryFailure;
    return Abort(ReasonForNotify(error->type), "peer refused the IKE SA rekey: notify " +
                                                   std::to_string(static_cast<int>(error->type)));
  }
  const auto* sa = in.Find<codec::SaPayload>(PayloadType::kSa);
  const auto* ke = in.Find<codec::KePayload>(PayloadType::kKe);
  const auto* nonce = in.Find<codec::NoncePayload>(PayloadType::kNonce);
  if (sa == nullptr || ke == nullptr || nonce == nullptr || sa->proposals.size() != 1) {
    return Abort(FailureReason::kInvalidMessage, "IKE rekey response lacks SA, KE or Nr");
  }
  auto algorithms = AcceptIkeReply(offer_, *sa);
  if (!algorithms.ok()) return Abort(FailureReason::kInvalidMessage, algorithms.error().message);
  if (algorithms->dh_group != group_ || ke->group != group_) {
    return Abort(FailureReason::kInvalidMessage, "responder's KE group differs from ours");
  }
  const uint64_t peer_spi = SpiOf(sa->proposals[0].spi);
  if (peer_spi == 0) return Abort(FailureReason::kInvalidMessage, "no responder SPI");
  algorithms_ = *algorithms;
  peer_nonce_ = nonce->nonce;
  return Derive(*ke, peer_spi);
}

TaskStatus RekeyIkeSaTask::ProcessRequest(const InMessage& in) {
  const auto* sa = in.Find<codec::SaPayload>(PayloadType::kSa);
  const auto* ke = in.Find<codec::KePayload>(PayloadType::kKe);
  const auto* nonce = in.Find<codec::NoncePayload>(PayloadType::kNonce);
  if (sa == nullptr || ke == nullptr || nonce == nullptr) {
    error_ = NotifyType::kInvalidSyntax;
    return Fail(FailureReason::kInvalidMessage, "IKE rekey request lacks SA, KE or Ni",
                TaskStatus::kFailed);
  }
  if (child_exchange_active_) {
    // §2.25: our CREATE_CHILD_SA for a child SA is outstanding; its result must land on this
    // IKE SA before the child SAs move. The peer retries later.
    error_ = NotifyType::kTemporaryFailure;
    return Fail(FailureReason::kInternal, "a child SA exchange is under way", TaskStatus::kFailed);
  }
  if (sa_.state != IkeSaState::kEstablished && sa_.state != IkeSaState::kRekeying) {
    error_ = NotifyType::kTemporaryFailure;  // §2.25: being deleted or already rekeyed
    return Fail(FailureReason::kInternal, "IKE SA is " + std::string(Name(sa_.state)),
                TaskStatus::kFailed);
  }
  auto choice = ChooseIkeProposal(*sa, sa_.config->ike_proposals);
  if (!choice.ok()) {
    error_ = NotifyType::kNoProposalChosen;
    return Fail(FailureReason::kNoProposalChosen, choice.error().message, TaskStatus::kFailed);
  }
  if (ke->group != choice->algorithms.dh_group) {
    error_ = NotifyType::kInvalidKePayload;  // §1.3: name the group we want
    error_data_ = GroupBytes(choice->algorithms.dh_group);
    return Fail(FailureReason::kInvalidKePayload, "KE group differs from the chosen one",
                TaskStatus::kFailed);
  }
  const uint64_t peer_spi = SpiOf(choice->reply.spi);
  if (peer_spi == 0) {
    error_ = NotifyType::kInvalidSyntax;
    return Fail(FailureReason::kInvalidMessage, "no initiator SPI", TaskStatus::kFailed);
  }
  group_ = choice->algorithms.dh_group;
  auto generated = crypto::KeyExchange::Generate(static_cast<crypto::Group>(group_));
  if (!generated.ok()) {
    error_ = NotifyType::kNoProposalChosen;
    return Fail(FailureReason::kInternal, generated.error().ToString(), TaskStatus::kFailed);
  }
  ke_ = std::move(generated).value();
  collided_ = sa_.state == IkeSaState::kRekeying;
  our_spi_ = new_spi_();
  chosen_ = choice->reply;
  chosen_.spi = SpiBytes(our_spi_);
  algorithms_ = choice->algorithms;
  peer_nonce_ = nonce->nonce;
  nonce_.assign(kNonceSize, 0);
  random_.Fill(nonce_.data(), nonce_.size());
  TaskStatus status = Derive(*ke, peer_spi);
  if (status != TaskStatus::kDone) error_ = NotifyType::kInvalidSyntax;
  return status;
}

// HDR, SK {SA, Nr, KEr}
TaskStatus RekeyIkeSaTask::BuildResponse(OutMessage& out) {
  out.response = true;
  if (error_) {
    out.ReplaceWithError(*error_, error_data_);
    return TaskStatus::kFailed;
  }
  out.Add(PayloadType::kSa, codec::SaPayload{{chosen_}});
  out.Add(PayloadType::kNonce, codec::NoncePayload{nonce_});
  out.Add(PayloadType::kKe, codec::KePayload{group_, our_public_});
  return TaskStatus::kDone;
}

// §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), keys with the new SPIs.
TaskStatus RekeyIkeSaTask::Derive(const codec::KePayload& peer_ke, uint64_t peer_spi) {
  auto shared = ke_->ComputeShared(peer_ke.data);
  our_public_ = ke_->PublicValue();
  ke_.reset();
  if (!shared.ok()) {
    if (role_ == Role::kResponder) error_ = NotifyType::kInvalidSyntax;
    return Abort(FailureReason::kInvalidMessage, "peer's KE is invalid: " + shared.error().message);
  }
  RekeyedIkeSa r;
  r.we_initiated = role_ == Role::kInitiator;
  r.spi_i = r.we_initiated ? our_spi_ : peer_spi;
  r.spi_r = r.we_initiated ? peer_spi : our_spi_;
  r.nonce_i = r.we_initiated ? nonce_ : peer_nonce_;
  r.nonce_r = r.we_initiated ? peer_nonce_ : nonce_;
  r.algorithms = algorithms_;
  auto keys = DeriveRekeyedIkeKeys(algorithms_, sa_.algorithms.prf, sa_.keys.sk_d, *shared,
                                   r.nonce_i, r.nonce_r, r.spi_i, r.spi_r);
  if (!keys.ok()) {
    if (role_ == Role::kResponder) error_ = NotifyType::kNoProposalChosen;
    return Abort(FailureReason::kInternal, keys.error().ToString());
  }
  r.keys = std::move(keys).value();
  result_ = std::move(r);
  return TaskStatus::kDone;
}

}  // namespace ipsec::engine::ike
