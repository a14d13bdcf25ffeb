#include "engine/ike/tasks/ike_init.h"

#include "engine/crypto/hash.h"
#include "engine/ike/auth_cert.h"

namespace ipsec::engine::ike {
namespace {

using codec::NotifyType;
using codec::PayloadType;

constexpr size_t kNonceSize = 32;  // §2.10: at least half the PRF key size; 256 bits covers all
constexpr size_t kNatDetectionHashSize = 20;  // SHA-1 (§2.23)

Bytes RandomBytes(Random& random, size_t n) {
  Bytes b(n);
  random.Fill(b.data(), n);
  return b;
}

void AppendUint64(Bytes& b, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

Bytes GroupBytes(codec::DhGroup g) {
  auto v = static_cast<uint16_t>(g);
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

}  // namespace

Bytes NatDetectionHash(uint64_t spi_i, uint64_t spi_r, const Endpoint& endpoint) {
  Bytes data;
  AppendUint64(data, spi_i);
  AppendUint64(data, spi_r);
  auto address = endpoint.address.ToBytes();
  data.insert(data.end(), address.begin(), address.begin() + (endpoint.address.is_v4() ? 4 : 16));
  data.push_back(static_cast<uint8_t>(endpoint.port >> 8));
  data.push_back(static_cast<uint8_t>(endpoint.port));
  return crypto::Digest(crypto::Hash::kSha1, data);
}

TaskStatus IkeInitTask::Build(OutMessage& out, SteadyTime) {
  return role_ == Role::kInitiator ? BuildRequest(out) : BuildResponse(out);
}

TaskStatus IkeInitTask::Process(const InMessage& in, SteadyTime now) {
  return role_ == Role::kInitiator ? ProcessResponse(in) : ProcessRequest(in, now);
}

Status IkeInitTask::MakeKeyExchange(codec::DhGroup group) {
  auto ke = crypto::KeyExchange::Generate(static_cast<crypto::Group>(group));
  if (!ke.ok()) return ke.error();
  sa_.key_exchange = std::move(ke).value();
  group_ = group;
  return Status::Ok();
}

void IkeInitTask::AddNatDetection(OutMessage& out, uint64_t spi_r) const {
  // Forced encapsulation: a source hash that matches no address makes the peer believe we are
  // behind a NAT, so it floats to 4500 and encapsulates ESP (§2.23: "MUST process received
  // UDP-encapsulated ESP packets even when no NAT was detected").
  out.AddNotify(NotifyType::kNatDetectionSourceIp,
                sa_.force_encapsulation ? RandomBytes(random_, kNatDetectionHashSize)
                                        : NatDetectionHash(sa_.spi_i, spi_r, sa_.local));
  out.AddNotify(NotifyType::kNatDetectionDestinationIp,
                NatDetectionHash(sa_.spi_i, spi_r, sa_.remote));
}

// §2.23: a source hash that does not match the packet's source means the sender is behind a
// NAT; a destination hash that does not match our address means we are.
void IkeInitTask::DetectNat(const InMessage& in, uint64_t spi_r) {
  auto sources = in.FindAll<codec::NotifyPayload>(PayloadType::kNotify);
  bool saw_source = false, source_match = false, saw_destination = false, destination_match = false;
  const Bytes expected_source = NatDetectionHash(sa_.spi_i, spi_r, in.remote);
  const Bytes expected_destination = NatDetectionHash(sa_.spi_i, spi_r, in.local);
  for (const auto* n : sources) {
    if (n->type == NotifyType::kNatDetectionSourceIp) {
      saw_source = true;
      source_match = source_match || n->data == expected_source;
    } else if (n->type == NotifyType::kNatDetectionDestinationIp) {
      saw_destination = true;
      destination_match = destination_match || n->data == expected_destination;
    }
  }
  sa_.nat_remote = saw_source && !source_match;
  sa_.nat_local = saw_destination && !destination_match;
}

TaskStatus IkeInitTask::BuildRequest(OutMessage& out) {
  out.exchange = codec::ExchangeType::kIkeSaInit;
  if (offer_.proposals.empty()) {
    offer_ = MakeIkeOffer(sa_.config->ike_proposals);
    if (offer_.proposals.empty()) {
      return Fail(FailureReason::kNoProposalChosen, "no IKE proposals configured",
                  TaskStatus::kDeleteSa);
    }
  }
  if (group_ == codec::DhGroup::kNone) {
    if (Status s = MakeKeyExchange(ToTransform(sa_.config->ike_proposals[0].dh_group)); !s.ok()) {
      return Fail(FailureReason::kInternal, s.error().ToString(), TaskStatus::kDeleteSa);
    }
  }
  if (sa_.nonce_i.empty()) sa_.nonce_i = RandomBytes(random_, kNonceSize);
  if (!cookie_.empty()) out.AddNotify(NotifyType::kCookie, cookie_);  // §2.6: first payload
  out.Add(PayloadType::kSa, offer_);
  out.Add(PayloadType::kKe, codec::KePayload{group_, sa_.key_exchange->PublicValue()});
  out.Add(PayloadType::kNonce, codec::NoncePayload{sa_.nonce_i});
  AddNatDetection(out, 0);
  out.AddNotify(NotifyType::kIkev2FragmentationSupported);             // RFC 7383 §2.3
  if (sa_.config->announce_signature_hashes) AddSignatureHashes(out);  // RFC 7427 §4
  return TaskStatus::kNeedMore;
}

TaskStatus IkeInitTask::ProcessResponse(const InMessage& in) {
  if (const auto* cookie = in.Notify(NotifyType::kCookie)) {
    if (++retries_ > kMaxRetries) {
      return Fail(FailureReason::kPeerError, "responder keeps asking for cookies",
                  TaskStatus::kDeleteSa);
    }
    cookie_ = cookie->data;  // §2.6: retry with the cookie, all else unchanged
    return TaskStatus::kNeedMore;
  }
  if (const auto* invalid_ke = in.Notify(NotifyType::kInvalidKePayload)) {
    if (++retries_ > kMaxRetries || invalid_ke->data.size() != 2) {
      return Fail(FailureReason::kInvalidKePayload, "INVALID_KE_PAYLOAD", TaskStatus::kDeleteSa);
    }
    auto group = static_cast<codec::DhGroup>(invalid_ke->data[0] << 8 | invalid_ke->data[1]);
    bool offered = false;
    for (const auto& p : sa_.config->ike_proposals) offered |= ToTransform(p.dh_group) == group;
    if (!offered || group == group_ || !MakeKeyExchange(group).ok()) {
      return Fail(FailureReason::kInvalidKePayload,
                  "responder wants group " + Name(group) + ", which we did not offer",
                  TaskStatus::kDeleteSa);
    }
    return TaskStatus::kNeedMore;  // §1.2: retry with the requested group
  }
  if (const auto* error = in.ErrorNotify()) {
    return Fail(
        ReasonForNotify(error->type),
        "responder refused IKE_SA_INIT: notify " + std::to_string(static_cast<int>(error->type)),
        TaskStatus::kDeleteSa);
  }
  const auto* sa = in.Find<codec::SaPayload>(PayloadType::kSa);
  const auto* ke = in.Find<codec::KePayload>(PayloadType::kKe);
  const auto* nonce = in.Find<codec::NoncePayload>(PayloadType::kNonce);
  if (sa == nullptr || ke == nullptr || nonce == nullptr || in.header.responder_spi == 0) {
    return Fail(FailureReason::kInvalidMessage, "IKE_SA_INIT response lacks SA, KE or Nr",
                TaskStatus::kDeleteSa);
  }
  auto algorithms = AcceptIkeReply(offer_, *sa);
  if (!algorithms.ok()) {
    return Fail(FailureReason::kInvalidMessage, algorithms.error().message, TaskStatus::kDeleteSa);
  }
  if (algorithms->dh_group != group_ || ke->group != group_) {
    return Fail(FailureReason::kInvalidMessage, "responder's KE group differs from ours",
                TaskStatus::kDeleteSa);
  }
  sa_.algorithms = *algorithms;
  sa_.spi_r = in.header.responder_spi;
  sa_.nonce_r = nonce->nonce;
  sa_.peer_supports_fragmentation = in.Notify(NotifyType::kIkev2FragmentationSupported) != nullptr;
  // RFC 7427 §4: Digital Signature AUTH only when both sides announced hashes.
  if (sa_.config->announce_signature_hashes) sa_.peer_signature_hashes = PeerSignatureHashes(in);
  DetectNat(in, sa_.spi_r);
  if (sa_.UdpEncapsulated()) {
    // §2.23: behind a NAT, everything after IKE_SA_INIT goes to and from UDP 4500.
    sa_.local.port = sa_.nat_t_local_port;
    sa_.remote.port = sa_.nat_t_remote_port;
    sa_.floated = true;
  }
  return DeriveKeys(*ke);
}

TaskStatus IkeInitTask::ProcessRequest(const InMessage& in, SteadyTime now) {
  const auto* sa = in.Find<codec::SaPayload>(PayloadType::kSa);
  const auto* ke = in.Find<codec::KePayload>(PayloadType::kKe);
  const auto* nonce = in.Find<codec::NoncePayload>(PayloadType::kNonce);
  if (sa == nullptr || ke == nullptr || nonce == nullptr) {
    error_ = NotifyType::kInvalidSyntax;
    return Fail(FailureReason::kInvalidMessage, "IKE_SA_INIT request lacks SA, KE or Ni",
                TaskStatus::kDeleteSa);
  }
  auto choice = ChooseIkeProposal(*sa, sa_.config->ike_proposals);
  if (!choice.ok()) {
    error_ = NotifyType::kNoProposalChosen;
    return Fail(FailureReason::kNoProposalChosen, choice.error().message, TaskStatus::kDeleteSa);
  }
  if (ke->group != choice->algorithms.dh_group) {
    // §1.2: name the group we want; the initiator retries with it.
    error_ = NotifyType::kInvalidKePayload;
    error_data_ = GroupBytes(choice->algorithms.dh_group);
    return Fail(
        FailureReason::kInvalidKePayload,
        "initiator's KE is " + Name(ke->group) + ", we chose " + Name(choice->algorithms.dh_group),
        TaskStatus::kDeleteSa);
  }
  if (dh_pool_ != nullptr) {
    // RFC 7296 §2.12: a key pair reused for a limited time (dh_reuse.h).
    auto ke_pair =
        dh_pool_->Get(static_cast<crypto::Group>(choice->algorithms.dh_group), ke->data, now);
    if (!ke_pair.ok()) {
      error_ = NotifyType::kNoProposalChosen;
      return Fail(FailureReason::kInternal, ke_pair.error().ToString(), TaskStatus::kDeleteSa);
    }
    responder_ke_ = std::move(ke_pair).value();
    group_ = choice->algorithms.dh_group;
  } else if (Status s = MakeKeyExchange(choice->algorithms.dh_group); !s.ok()) {
    error_ = NotifyType::kNoProposalChosen;
    return Fail(FailureReason::kInternal, s.error().ToString(), TaskStatus::kDeleteSa);
  } else {
    responder_ke_ = std::move(sa_.key_exchange);
  }
  if (ke->data.size() != responder_ke_->PublicValue().size()) {
    // The length is checked now (§3.4); the value when the keys are derived.
    error_ = NotifyType::kInvalidSyntax;
    return Fail(FailureReason::kInvalidMessage,
                "peer's KE is " + std::to_string(ke->data.size()) + " octets, " + Name(group_) +
                    " has " + std::to_string(responder_ke_->PublicValue().size()),
                TaskStatus::kDeleteSa);
  }
  chosen_ = choice->reply;
  sa_.algorithms = choice->algorithms;
  sa_.nonce_i = nonce->nonce;
  sa_.nonce_r = RandomBytes(random_, kNonceSize);
  sa_.peer_supports_fragmentation = in.Notify(NotifyType::kIkev2FragmentationSupported) != nullptr;
  if (sa_.config->announce_signature_hashes) sa_.peer_signature_hashes = PeerSignatureHashes(in);
  DetectNat(in, 0);
  // §2.14: SKEYSEED when the first message after IKE_SA_INIT needs it (CompleteKeyExchange).
  sa_.pending_dh = responder_ke_;
  sa_.pending_peer_ke = ke->data;
  return TaskStatus::kDone;
}

TaskStatus IkeInitTask::BuildResponse(OutMessage& out) {
  out.exchange = codec::ExchangeType::kIkeSaInit;
  out.response = true;
  if (error_) {
    out.ReplaceWithError(*error_, error_data_);
    return TaskStatus::kDeleteSa;
  }
  out.Add(PayloadType::kSa, codec::SaPayload{{*chosen_}});
  out.Add(PayloadType::kKe, codec::KePayload{group_, responder_ke_->PublicValue()});
  out.Add(PayloadType::kNonce, codec::NoncePayload{sa_.nonce_r});
  AddCertificateRequest(TrustStoresOf(*sa_.config), out);  // §1.2 [CERTREQ], §3.7
  AddNatDetection(out, sa_.spi_r);
  out.AddNotify(NotifyType::kIkev2FragmentationSupported);
  if (!sa_.peer_signature_hashes.empty()) AddSignatureHashes(out);  // RFC 7427 §4
  sa_.key_exchange.reset();
  responder_ke_.reset();
  return TaskStatus::kDone;
}

TaskStatus IkeInitTask::DeriveKeys(const codec::KePayload& peer_ke) {
  auto shared = sa_.key_exchange->ComputeShared(peer_ke.data);
  if (!shared.ok()) {
    return Fail(FailureReason::kInvalidMessage, "peer's KE is invalid: " + shared.error().message,
                TaskStatus::kDeleteSa);
  }
  auto keys =
      DeriveIkeKeys(sa_.algorithms, *shared, sa_.nonce_i, sa_.nonce_r, sa_.spi_i, sa_.spi_r);
  if (!keys.ok()) {
    return Fail(FailureReason::kInternal, keys.error().ToString(), TaskStatus::kDeleteSa);
  }
  sa_.keys = std::move(keys).value();
  sa_.key_exchange.reset();
  return TaskStatus::kDone;
}

Status CompleteKeyExchange(IkeSa& sa) {
  if (!sa.keys_pending()) return Status::Ok();
  const std::shared_ptr<const crypto::KeyExchange> ours = std::move(sa.pending_dh);
  const Bytes peer = std::move(sa.pending_peer_ke);
  sa.pending_dh.reset();
  sa.pending_peer_ke.clear();
  auto shared = ours->ComputeShared(peer);
  if (!shared.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "peer's KE is invalid: " + shared.error().message);
  }
  auto keys = DeriveIkeKeys(sa.algorithms, *shared, sa.nonce_i, sa.nonce_r, sa.spi_i, sa.spi_r);
  if (!keys.ok()) return keys.error();
  sa.keys = std::move(keys).value();
  return Status::Ok();
}

}  // namespace ipsec::engine::ike
