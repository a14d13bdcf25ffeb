#include "engine/ike/tasks/create_child_sa.h"

#include <algorithm>

namespace ipsec::engine::ike {
namespace {

using codec::NotifyType;
using codec::PayloadType;

constexpr size_t kNonceSize = 32;  // §2.10
constexpr int kMaxRetries = 2;     // INVALID_KE_PAYLOAD retries (§1.3)

Bytes RandomBytes(Random& random, size_t n) {
  Bytes b(n);
  random.Fill(b.data(), n);
  return b;
}

Bytes SpiBytes(uint32_t spi) {
  return {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
          static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
}

uint32_t SpiOf(const Bytes& b) {
  if (b.size() != 4) return 0;
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

// Puts Nr right after SA, as §1.3.1 writes the response: SA, Nr, [KEr], TSi, TSr.
void InsertNonceAfterSa(OutMessage& out, const Bytes& nonce) {
  auto it = std::find_if(out.payloads.begin(), out.payloads.end(),
                         [](const codec::PayloadEntry& e) { return e.type == PayloadType::kSa; });
  codec::PayloadEntry entry{PayloadType::kNonce, false, codec::Payload(codec::NoncePayload{nonce})};
  out.payloads.insert(it == out.payloads.end() ? it : std::next(it), std::move(entry));
}

// §1.3, §3.3.3: with PFS the proposals list the KE's group first, then the other groups of
// our IKE proposals, so a responder that prefers one of those answers INVALID_KE_PAYLOAD
// naming it instead of NO_PROPOSAL_CHOSEN.
void OfferOtherGroups(codec::SaPayload& offer, const IkeConfig& config, codec::DhGroup first) {
  for (auto& proposal : offer.proposals) {
    for (const auto& ike : config.ike_proposals) {
      const auto group = static_cast<uint16_t>(ToTransform(ike.dh_group));
      bool present = false;
      for (const auto& t : proposal.transforms) {
        present |= t.type == codec::TransformType::kDh && t.id == group;
      }
      if (present || group == static_cast<uint16_t>(first) || group == 0) continue;
      codec::Transform t;
      t.type = codec::TransformType::kDh;
      t.id = group;
      proposal.transforms.push_back(t);
    }
  }
}

}  // namespace

bool NonceLess(ByteSpan a, ByteSpan b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

const Bytes& MinNonce(const Bytes& a, const Bytes& b) { return NonceLess(b, a) ? b : a; }

std::unique_ptr<CreateChildSaTask> CreateChildSaTask::NewChild(IkeSa& sa, ChildInstaller& installer,
                                                               Random& random, std::string rule,
                                                               Selectors local_ts,
                                                               Selectors remote_ts) {
  std::unique_ptr<CreateChildSaTask> t(
      new CreateChildSaTask(sa, installer, random, Role::kInitiator));
  t->rule_ = std::move(rule);
  t->local_ts_ = std::move(local_ts);
  t->remote_ts_ = std::move(remote_ts);
  return t;
}

std::unique_ptr<CreateChildSaTask> CreateChildSaTask::Rekey(IkeSa& sa, ChildInstaller& installer,
                                                            Random& random, uint32_t spi_in) {
  std::unique_ptr<CreateChildSaTask> t(
      new CreateChildSaTask(sa, installer, random, Role::kInitiator));
  t->rekey_spi_in_ = spi_in;
  return t;
}

const char* CreateChildSaTask::name() const {
  if (role_ == Role::kResponder) return "create-child-sa";
  return rekey_spi_in_ != 0 ? "child-rekey" : "child-create";
}

TaskStatus CreateChildSaTask::Build(OutMessage& out, SteadyTime) {
  return role_ == Role::kInitiator ? BuildRequest(out) : BuildResponse(out);
}

TaskStatus CreateChildSaTask::Process(const InMessage& in, SteadyTime now) {
  return role_ == Role::kInitiator ? ProcessResponse(in, now) : ProcessRequest(in, now);
}

void CreateChildSaTask::AbortRekey() {
  (void)TakeCollision();
  if (ChildSa* old = sa_.FindChildByInboundSpi(rekey_spi_in_);
      old != nullptr && old->state == ChildSaState::kRekeying) {
    old->state = ChildSaState::kInstalled;
  }
}

std::optional<RekeyCollision> CreateChildSaTask::PeekCollision() const {
  const auto& record = sa_.child_rekey_collision;
  if (rekey_spi_in_ == 0 || !record || record->old_spi_in != rekey_spi_in_) return std::nullopt;
  return record->peer;
}

std::optional<RekeyCollision> CreateChildSaTask::TakeCollision() {
  std::optional<RekeyCollision> peer = PeekCollision();
  if (peer) sa_.child_rekey_collision.reset();
  return peer;
}

void CreateChildSaTask::ReleaseSpi() {
  if (request_) ReleaseChildRequest(installer_, *request_);
}

CreateChildSaTask::~CreateChildSaTask() { ReleaseSpi(); }

// HDR, SK {[N(REKEY_SA)], [N(USE_TRANSPORT_MODE)], SA, Ni, [KEi], TSi, TSr}  (§1.3.1, §1.3.3)
TaskStatus CreateChildSaTask::BuildRequest(OutMessage& out) {
  out.exchange = codec::ExchangeType::kCreateChildSa;
  if (sa_.state != IkeSaState::kEstablished) {
    return Fail(FailureReason::kInternal,
                "the IKE SA is not established (" + std::string(Name(sa_.state)) + ")",
                TaskStatus::kFailed);
  }
  ChildSa* old = nullptr;
  if (rekey_spi_in_ != 0) {
    old = sa_.FindChildByInboundSpi(rekey_spi_in_);
    if (old == nullptr ||
        (old->state != ChildSaState::kInstalled && old->state != ChildSaState::kRekeying)) {
      (void)TakeCollision();  // a retry (§1.3) after the peer deleted it
      return Fail(FailureReason::kInternal, "the child SA to rekey is gone", TaskStatus::kFailed);
    }
    rule_ = old->rule;
    local_ts_ = old->local_ts;  // §2.9.2: the rekeyed SA keeps the traffic selectors
    remote_ts_ = old->remote_ts;
  }
  const NegotiateRule* rule = sa_.config->FindRule(rule_);
  if (rule == nullptr) {
    if (old) AbortRekey();
    return Fail(FailureReason::kInternal, "rule '" + rule_ + "' is no longer in force",
                TaskStatus::kFailed);
  }
  // FAQ 18 session key PFS: our policy's preferred group (its first IKE proposal's), or the
  // one the responder asked for.
  const codec::DhGroup preferred = sa_.config->ike_proposals.empty()
                                       ? sa_.algorithms.dh_group
                                       : ToTransform(sa_.config->ike_proposals[0].dh_group);
  const codec::DhGroup group =
      rule->session_key_pfs ? pfs_override_.value_or(preferred) : codec::DhGroup::kNone;
  if (!request_) {
    auto prepared =
        PrepareChildRequest(installer_, *rule, local_ts_, remote_ts_, group, sa_.UdpEncapsulated());
    if (!prepared.ok()) {
      return Fail(FailureReason::kInternal, prepared.error().ToString(), TaskStatus::kFailed);
    }
    request_ = std::move(prepared).value();
    // §2.8: the new child SA keeps the old one's reqid (its identity; the policies stay).
    if (old) request_->reqid = old->reqid;
    if (group != codec::DhGroup::kNone) OfferOtherGroups(request_->offer, *sa_.config, group);
  } else if (group != codec::DhGroup::kNone) {
    // §1.3: the retry after INVALID_KE_PAYLOAD offers and uses the group the responder named.
    auto ke = crypto::KeyExchange::Generate(static_cast<crypto::Group>(group));
    if (!ke.ok()) {
      ReleaseSpi();
      return Fail(FailureReason::kInternal, ke.error().ToString(), TaskStatus::kFailed);
    }
    request_->pfs = std::move(ke).value();
    request_->offer = MakeChildOffer(request_->methods, request_->spi_in, group);
    OfferOtherGroups(request_->offer, *sa_.config, group);
  }
  if (old) {
    // Rekeying an SA whose outbound half we still hold back (we answered its rekey): the peer
    // has the new pair, so send on it now (§2.8).
    if (old->deferred_outbound) (void)installer_.InstallDeferred(*old);
    old->state = ChildSaState::kRekeying;
    // §1.3.3: N(REKEY_SA) names the SA being rekeyed by the SPI the peer sends to.
    out.AddNotify(NotifyType::kRekeySa, {}, old->algorithms.protocol, SpiBytes(old->spi_in));
  }
  nonce_i_ = RandomBytes(random_, kNonceSize);
  AddChildRequest(*request_, out);
  InsertNonceAfterSa(out, nonce_i_);
  return TaskStatus::kNeedMore;
}

TaskStatus CreateChildSaTask::ProcessResponse(const InMessage& in, SteadyTime now) {
  if (const auto* invalid_ke = in.Notify(NotifyType::kInvalidKePayload)) {
    // §1.3: retry with the group the responder wants, if it is one we would use.
    if (++retries_ > kMaxRetries || invalid_ke->data.size() != 2 || !request_ || !request_->pfs) {
      AbortRekey();
      ReleaseSpi();
      return Fail(FailureReason::kInvalidKePayload, "INVALID_KE_PAYLOAD", TaskStatus::kFailed);
    }
    auto group = static_cast<codec::DhGroup>(invalid_ke->data[0] << 8 | invalid_ke->data[1]);
    bool acceptable = false;
    for (const auto& p : sa_.config->ike_proposals) acceptable |= ToTransform(p.dh_group) == group;
    if (!acceptable || group == static_cast<codec::DhGroup>(request_->pfs->group())) {
      AbortRekey();
      ReleaseSpi();
      return Fail(FailureReason::kInvalidKePayload,
                  "responder wants PFS group " + Name(group) + ", which we do not use",
                  TaskStatus::kFailed);
    }
    pfs_override_ = group;
    return TaskStatus::kNeedMore;
  }
  if (const auto* error = in.ErrorNotify()) {
    const NotifyType type = error->type;
    ReleaseSpi();
    if (type == NotifyType::kChildSaNotFound && rekey_spi_in_ != 0) {
      // §2.25: the peer no longer has the SA we rekey; it is gone, so we remove ours.
      (void)TakeCollision();
      auto it = std::find_if(sa_.children.begin(), sa_.children.end(),
                             [&](const ChildSa& c) { return c.spi_in == rekey_spi_in_; });
      if (it != sa_.children.end()) {
        installer_.Remove(sa_, *it);
        sa_.children.erase(it);
      }
    } else {
      AbortRekey();
    }
    temporary_failure_ = type == NotifyType::kTemporaryFailure;
    return Fail(ReasonForNotify(type),
                "peer refused CREATE_CHILD_SA: notify " + std::to_string(static_cast<int>(type)),
                TaskStatus::kFailed);
  }
  const auto* nonce = in.Find<codec::NoncePayload>(PayloadType::kNonce);
  if (nonce == nullptr || !request_) {
    AbortRekey();
    ReleaseSpi();
    return Fail(FailureReason::kInvalidMessage, "CREATE_CHILD_SA response lacks Nr",
                TaskStatus::kFailed);
  }
  if (const std::optional<RekeyCollision> peer = PeekCollision()) {
    // §2.8.1: the peer rekeyed it too (the old pair may be gone already: the peer's Delete can
    // overtake its answer); if our new SA is the redundant one we never send on it.
    request_->defer_outbound = NonceLess(MinNonce(nonce_i_, nonce->nonce), peer->lower_nonce);
  }
  ChildOutcome outcome =
      CompleteChildRequest(*request_, in, sa_, installer_, nonce_i_, nonce->nonce, now, now_unix_);
  if (!outcome.child) {
    // The responder's child SA that we refused goes too (the manager sends the Delete).
    if (outcome.delete_spi_in != 0) spis_to_delete_.push_back(outcome.delete_spi_in);
    AbortRekey();
    ReleaseSpi();
    return Fail(outcome.reason, outcome.detail, TaskStatus::kFailed);
  }
  request_->spi_in = 0;  // installed: no longer ours to release
  request_->ah_spi_in = 0;
  nonce_r_ = nonce->nonce;
  ChildSa child = std::move(*outcome.child);
  created_ = true;
  if (rekey_spi_in_ != 0) {
    child.replaces_spi_in = rekey_spi_in_;
    ChildSa* old = sa_.FindChildByInboundSpi(rekey_spi_in_);
    if (old != nullptr) child.last_active = old->last_active;
    if (const std::optional<RekeyCollision> peer = TakeCollision()) {
      ResolveCollision(*peer, old, child);
    } else if (old != nullptr) {
      // §2.8: make-before-break; the new SA is installed, now the old one goes.
      old->state = ChildSaState::kRekeyed;
      spis_to_delete_.push_back(old->spi_in);
    }
  }
  sa_.children.push_back(std::move(child));
  return TaskStatus::kDone;
}

// §2.8.1: both ends rekeyed the old pair at once. The SA made by the exchange with the lowest
// of the four nonces is redundant; that exchange's initiator deletes it, and the other
// initiator deletes the old SA. `old_child` is null when the peer deleted it already: its
// exchange won (or it saw no collision), so ours is then the redundant one.
void CreateChildSaTask::ResolveCollision(const RekeyCollision& peer, ChildSa* old_child,
                                         ChildSa& ours) {
  if (old_child != nullptr) old_child->state = ChildSaState::kRekeyed;
  const bool ours_redundant = NonceLess(MinNonce(nonce_i_, nonce_r_), peer.lower_nonce);
  lost_collision_ = ours_redundant;
  if (ours_redundant) {
    ours.state = ChildSaState::kRekeyed;  // redundant: we delete it
    spis_to_delete_.push_back(ours.spi_in);
  } else {
    if (ChildSa* theirs = sa_.FindChildByInboundSpi(peer.new_spi)) {
      theirs->state = ChildSaState::kRekeyed;  // the peer deletes it
    }
    if (old_child != nullptr) spis_to_delete_.push_back(old_child->spi_in);
  }
}

TaskStatus CreateChildSaTask::ProcessRequest(const InMessage& in, SteadyTime now) {
  const auto* nonce = in.Find<codec::NoncePayload>(PayloadType::kNonce);
  const auto* tsi = in.Find<codec::TsPayload>(PayloadType::kTsi);
  const auto* tsr = in.Find<codec::TsPayload>(PayloadType::kTsr);
  if (nonce == nullptr || tsi == nullptr || tsr == nullptr) {
    error_ = NotifyType::kInvalidSyntax;
    return Fail(FailureReason::kInvalidMessage, "CREATE_CHILD_SA request lacks Ni, TSi or TSr",
                TaskStatus::kFailed);
  }
  if (sa_.state != IkeSaState::kEstablished && sa_.state != IkeSaState::kRekeying) {
    // §2.25: we are deleting or have rekeyed this IKE SA.
    error_ = NotifyType::kTemporaryFailure;
    return Fail(FailureReason::kInternal, "IKE SA is " + std::string(Name(sa_.state)),
                TaskStatus::kFailed);
  }
  ChildSa* old = nullptr;
  const NegotiateRule* rule = nullptr;
  std::string refused;  // rules the traffic matched that the peer's authentication does not
  if (const auto* rekey = in.Notify(NotifyType::kRekeySa)) {
    // §1.3.3: the SPI is the peer's inbound one, our outbound one.
    old = sa_.FindChildByOutboundSpi(SpiOf(rekey->spi), rekey->protocol);
    if (old == nullptr) {
      error_ = NotifyType::kChildSaNotFound;  // §2.25
      return Fail(FailureReason::kPeerError, "REKEY_SA for an unknown child SA",
                  TaskStatus::kFailed);
    }
    if (old->state == ChildSaState::kDeleting || old->state == ChildSaState::kRekeyed) {
      error_ = NotifyType::kTemporaryFailure;  // §2.25: being deleted or already replaced
      return Fail(FailureReason::kPeerError, "REKEY_SA for a child SA being deleted",
                  TaskStatus::kFailed);
    }
    rule = sa_.config->FindRule(old->rule);
  } else {
    // A new child SA: a rule its traffic belongs to AND that accepts what authenticated the
    // peer in IKE_AUTH (peer_authentication.h), not one of another rule's credentials.
    rule = FindRuleForTraffic(*sa_.config, FromPayload(*tsi), FromPayload(*tsr),
                              sa_.peer_authentication, &refused);
  }
  if (rule == nullptr) {
    error_ = NotifyType::kTsUnacceptable;
    std::string detail =
        "no rule allows TSi " + ToString(FromPayload(*tsi)) + " TSr " + ToString(FromPayload(*tsr));
    if (!refused.empty()) {
      detail =
          "rule " + refused + " covers TSi " + ToString(FromPayload(*tsi)) + " TSr " +
          ToString(FromPayload(*tsr)) + " but does not accept what authenticated the peer (" +
          (sa_.peer_authentication ? Describe(*sa_.peer_authentication) : std::string("nothing")) +
          "): a child SA of it needs an IKE SA of its own";
    }
    return Fail(FailureReason::kTsUnacceptable, detail, TaskStatus::kFailed);
  }
  nonce_r_ = RandomBytes(random_, kNonceSize);
  ResponderChild params{rule, /*in_ike_auth=*/false, nonce->nonce, nonce_r_, &random_};
  // §2.8: a rekey keeps the reqid; we install the new inbound SA now and hold the outbound one
  // back until the initiator deletes the old SA or sends on the new one.
  if (old != nullptr) params.rekey_reqid = old->reqid;
  reply_.exchange = codec::ExchangeType::kCreateChildSa;
  ChildOutcome outcome = RespondChild(params, in, sa_, installer_, reply_, now, now_unix_, &error_);
  if (!outcome.child) {
    if (!error_) error_ = NotifyType::kNoProposalChosen;
    return Fail(outcome.reason, outcome.detail, TaskStatus::kFailed);
  }
  ChildSa child = std::move(*outcome.child);
  created_ = true;
  if (old != nullptr) {
    child.replaces_spi_in = old->spi_in;
    child.last_active = old->last_active;
    if (old->state == ChildSaState::kRekeying) {
      // §2.8.1, §2.25.1: we are rekeying it too; decided when our own exchange completes. The
      // record lives in the IKE SA, since the old pair may go before then.
      sa_.child_rekey_collision =
          std::make_unique<IkeSa::ChildRekeyCollision>(IkeSa::ChildRekeyCollision{
              old->spi_in, RekeyCollision{MinNonce(nonce->nonce, nonce_r_), child.spi_in}});
    } else {
      old->state = ChildSaState::kRekeyed;  // the initiator deletes it (§2.8)
    }
    rekey_spi_in_ = old->spi_in;
  }
  sa_.children.push_back(std::move(child));
  return TaskStatus::kDone;
}

TaskStatus CreateChildSaTask::BuildResponse(OutMessage& out) {
  out.response = true;
  if (error_) {
    if (*error_ == NotifyType::kInvalidKePayload) {
      // RespondChild added N(INVALID_KE_PAYLOAD) with the group we want (§1.3).
      out.payloads = std::move(reply_.payloads);
    } else {
      out.ReplaceWithError(*error_);
    }
    return TaskStatus::kFailed;
  }
  out.payloads = std::move(reply_.payloads);
  InsertNonceAfterSa(out, nonce_r_);
  return TaskStatus::kDone;
}

}  // namespace ipsec::engine::ike
