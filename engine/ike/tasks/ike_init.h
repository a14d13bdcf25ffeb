#pragma once

// IKE_SA_INIT (RFC 7296 §1.2, §2.6, §2.23):
//   initiator -> HDR, [N(COOKIE),] SA, KE, Ni, N(NAT_DETECTION_SOURCE_IP),
//                N(NAT_DETECTION_DESTINATION_IP), N(IKEV2_FRAGMENTATION_SUPPORTED),
//                N(SIGNATURE_HASH_ALGORITHMS)
//   responder <- HDR, SA, KE, Nr, [CERTREQ,] N(NAT_DETECTION_*),
//                N(IKEV2_FRAGMENTATION_SUPPORTED), [N(SIGNATURE_HASH_ALGORITHMS)]
// or the responder's N(COOKIE) / N(INVALID_KE_PAYLOAD), after which the initiator sends the
// request again (kNeedMore). Ends with the IKE SA's keys derived (§2.14): the initiator's at
// once, the responder's when the first message after IKE_SA_INIT needs them
// (CompleteKeyExchange), so that answering IKE_SA_INIT costs no Diffie-Hellman.

#include <optional>

#include "engine/common/random.h"
#include "engine/ike/dh_reuse.h"
#include "engine/ike/ike_sa.h"
#include "engine/ike/task.h"

namespace ipsec::engine::ike {

class IkeInitTask final : public Task {
 public:
  IkeInitTask(IkeSa& sa, Random& random, Role role) : sa_(sa), random_(random), role_(role) {}
  const char* name() const override { return "ike-init"; }
  codec::ExchangeType exchange() const override { return codec::ExchangeType::kIkeSaInit; }
  TaskStatus Build(OutMessage& out, SteadyTime now) override;
  TaskStatus Process(const InMessage& in, SteadyTime now) override;

  // Responder: take the key pair from `pool` (RFC 7296 §2.12 reuse, dh_reuse.h); without one,
  // a fresh key pair per IKE_SA_INIT. Not owned; must outlive the task.
  void set_dh_pool(DhReusePool* pool) { dh_pool_ = pool; }

  // Responder: the cookie the manager verified, if any (nothing to do with it here).
  static constexpr int kMaxRetries = 3;  // INVALID_KE_PAYLOAD and COOKIE rounds

 private:
  TaskStatus BuildRequest(OutMessage& out);
  TaskStatus ProcessResponse(const InMessage& in);
  TaskStatus ProcessRequest(const InMessage& in, SteadyTime now);
  TaskStatus BuildResponse(OutMessage& out);
  Status MakeKeyExchange(codec::DhGroup group);
  void AddNatDetection(OutMessage& out, uint64_t spi_r) const;
  void DetectNat(const InMessage& in, uint64_t spi_r);
  TaskStatus DeriveKeys(const codec::KePayload& peer_ke);

  IkeSa& sa_;
  Random& random_;
  Role role_;
  codec::SaPayload offer_;  // initiator: what we proposed
  codec::DhGroup group_ = codec::DhGroup::kNone;
  Bytes cookie_;  // initiator: the responder's cookie to echo
  int retries_ = 0;
  std::optional<codec::Proposal> chosen_;   // responder: the proposal we answer with
  std::optional<codec::NotifyType> error_;  // responder: refuse with this
  Bytes error_data_;
  DhReusePool* dh_pool_ = nullptr;
  // Responder: the (possibly shared) key pair, until the response is built.
  std::shared_ptr<const crypto::KeyExchange> responder_ke_;
};

// Responder: derives the IKE SA's keys from what IKE_SA_INIT left pending (IkeSa::pending_dh,
// §2.14); the shared secret checks the peer's KE data (RFC 6989, RFC 8031 §2.3). Either way
// nothing is pending afterwards.
Status CompleteKeyExchange(IkeSa& sa);

// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP address | port) (§2.23).
Bytes NatDetectionHash(uint64_t spi_i, uint64_t spi_r, const Endpoint& endpoint);

}  // namespace ipsec::engine::ike
