#pragma once

// IKE SA rekey with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18):
//   initiator -> HDR, SK {SA, Ni, KEi}     (the SA payload's proposals carry our new IKE SPI)
//   responder <- HDR, SK {SA, Nr, KEr}
// SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); the new IKE SA's initiator is the rekey's
// initiator. The task only negotiates and derives: the manager creates the new IKE SA from
// result(), moves the child SAs to it and deletes the old one (§2.18; collisions §2.8.2).

#include <functional>
#include <memory>
#include <optional>

#include "engine/common/random.h"
#include "engine/crypto/key_exchange.h"
#include "engine/ike/ike_sa.h"
#include "engine/ike/task.h"

namespace ipsec::engine::ike {

// What a completed IKE SA rekey made.
struct RekeyedIkeSa {
  bool we_initiated = false;  // we are the new IKE SA's original initiator
  uint64_t spi_i = 0;
  uint64_t spi_r = 0;
  Bytes nonce_i;
  Bytes nonce_r;
  IkeAlgorithms algorithms;
  IkeKeys keys;
};

class RekeyIkeSaTask final : public Task {
 public:
  using SpiSource = std::function<uint64_t()>;  // a fresh local IKE SPI
  RekeyIkeSaTask(IkeSa& sa, Random& random, Role role, SpiSource new_spi)
      : sa_(sa), random_(random), role_(role), new_spi_(std::move(new_spi)) {}

  const char* name() const override { return "ike-rekey"; }
  codec::ExchangeType exchange() const override { return codec::ExchangeType::kCreateChildSa; }
  TaskStatus Build(OutMessage& out, SteadyTime now) override;
  TaskStatus Process(const InMessage& in, SteadyTime now) override;

  Role role() const { return role_; }
  // Set once the exchange completed (either role).
  const std::optional<RekeyedIkeSa>& result() const { return result_; }
  // Responder: our IKE SA was itself being rekeyed when the request came (§2.8.2).
  bool collided() const { return collided_; }
  bool temporary_failure() const { return temporary_failure_; }
  // Responder: a child SA exchange we initiated on this IKE SA is outstanding.
  void set_child_exchange_active(bool active) { child_exchange_active_ = active; }

 private:
  TaskStatus BuildRequest(OutMessage& out);
  TaskStatus ProcessResponse(const InMessage& in);
  TaskStatus ProcessRequest(const InMessage& in);
  TaskStatus BuildResponse(OutMessage& out);
  TaskStatus Derive(const codec::KePayload& peer_ke, uint64_t peer_spi);
  TaskStatus Abort(FailureReason reason, std::string detail);

  IkeSa& sa_;
  Random& random_;
  Role role_;
  SpiSource new_spi_;
  uint64_t our_spi_ = 0;
  codec::DhGroup group_ = codec::DhGroup::kNone;
  std::unique_ptr<crypto::KeyExchange> ke_;
  Bytes our_public_;
  codec::SaPayload offer_;
  Bytes nonce_;  // ours
  Bytes peer_nonce_;
  IkeAlgorithms algorithms_;
  int retries_ = 0;
  std::optional<RekeyedIkeSa> result_;
  bool collided_ = false;
  bool temporary_failure_ = false;
  bool child_exchange_active_ = false;
  // Responder.
  std::optional<codec::NotifyType> error_;
  Bytes error_data_;
  codec::Proposal chosen_;
};

}  // namespace ipsec::engine::ike
