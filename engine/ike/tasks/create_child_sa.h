#pragma once

// CREATE_CHILD_SA for child SAs (RFC 7296 §1.3.1, §1.3.3, §2.8):
//   new child SA:  HDR, SK {SA, Ni, [KEi], TSi, TSr}            <-> HDR, SK {SA, Nr, [KEr], TSi,
//   TSr} child rekey:   HDR, SK {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr} <-> the same response
// KE only when the proposal has a DH group (PFS, FAQ 18). Make-before-break: the new child SA is
// installed when the exchange completes; the old one stays until the rekey initiator's Delete
// (the manager queues it from spis_to_delete()). Collisions (§2.8.1): the responder records the
// peer's rekey on a child we are rekeying ourselves; when our exchange completes, the exchange
// with the lowest of the four nonces made the redundant SA, which its initiator deletes. The
// record is kept in the IKE SA (IkeSa::child_rekey_collision), as the peer may delete the old
// pair before our exchange completes.
// IKE SA rekeys are rekey_ike_sa.h.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/random.h"
#include "engine/ike/child_negotiation.h"
#include "engine/ike/task.h"

namespace ipsec::engine::ike {

// Octet-wise comparison of nonces (§2.8.1 "the lowest nonce").
bool NonceLess(ByteSpan a, ByteSpan b);
const Bytes& MinNonce(const Bytes& a, const Bytes& b);

class CreateChildSaTask final : public Task {
 public:
  // Initiator: a new child SA for `rule` with the given traffic (§1.3.1).
  static std::unique_ptr<CreateChildSaTask> NewChild(IkeSa& sa, ChildInstaller& installer,
                                                     Random& random, std::string rule,
                                                     Selectors local_ts, Selectors remote_ts);
  // Initiator: rekeys the child SA whose inbound SPI is `spi_in` (§1.3.3, §2.8).
  static std::unique_ptr<CreateChildSaTask> Rekey(IkeSa& sa, ChildInstaller& installer,
                                                  Random& random, uint32_t spi_in);
  // Responder.
  CreateChildSaTask(IkeSa& sa, ChildInstaller& installer, Random& random)
      : sa_(sa), installer_(installer), random_(random), role_(Role::kResponder) {}
  // Initiator: releases the new child SA's inbound SPIs if they were allocated but never
  // installed, because the IKE SA died with the exchange outstanding (the peer deleted it, our
  // retransmissions ran out) or the task never ran.
  ~CreateChildSaTask() override;

  const char* name() const override;
  codec::ExchangeType exchange() const override { return codec::ExchangeType::kCreateChildSa; }
  TaskStatus Build(OutMessage& out, SteadyTime now) override;
  TaskStatus Process(const InMessage& in, SteadyTime now) override;

  void set_now_unix(int64_t now_unix) { now_unix_ = now_unix; }
  // Initiator with PFS: the group to offer (default: the IKE SA's).
  void set_pfs_group(codec::DhGroup group) { pfs_override_ = group; }

  bool is_rekey() const { return rekey_spi_in_ != 0; }
  Role role() const { return role_; }
  // Initiator of a new child SA: what it asks for (to queue it again elsewhere, §2.18).
  const std::string& rule() const { return rule_; }
  const Selectors& local_ts() const { return local_ts_; }
  const Selectors& remote_ts() const { return remote_ts_; }
  uint32_t rekey_spi_in() const { return rekey_spi_in_; }  // the child SA rekeyed (ours)
  // A child SA was created (new or rekeyed), in either role.
  bool created() const { return created_; }
  // Initiator of a completed rekey: our inbound SPIs of the child SAs to delete (the old one,
  // or after a lost collision our redundant new one).
  const std::vector<uint32_t>& spis_to_delete() const { return spis_to_delete_; }
  // Initiator: the peer answered TEMPORARY_FAILURE (§2.25); the manager retries later.
  bool temporary_failure() const { return temporary_failure_; }
  // Initiator of a rekey that collided (§2.8.1): whether our new SA was the redundant one.
  std::optional<bool> lost_collision() const { return lost_collision_; }

 private:
  CreateChildSaTask(IkeSa& sa, ChildInstaller& installer, Random& random, Role role)
      : sa_(sa), installer_(installer), random_(random), role_(role) {}
  TaskStatus BuildRequest(OutMessage& out);
  TaskStatus ProcessResponse(const InMessage& in, SteadyTime now);
  TaskStatus ProcessRequest(const InMessage& in, SteadyTime now);
  TaskStatus BuildResponse(OutMessage& out);
  // Initiator: the old child back to kInstalled after a failed rekey.
  void AbortRekey();
  void ReleaseSpi();
  void ResolveCollision(const RekeyCollision& peer, ChildSa* old_child, ChildSa& ours);
  // The peer's rekey of the child SA we rekey, recorded in the IKE SA when it collided with
  // ours (§2.8.1): read, or read and cleared once our exchange has ended.
  std::optional<RekeyCollision> PeekCollision() const;
  std::optional<RekeyCollision> TakeCollision();

  IkeSa& sa_;
  ChildInstaller& installer_;
  Random& random_;
  Role role_;
  int64_t now_unix_ = 0;
  bool created_ = false;

  // Initiator.
  std::string rule_;
  Selectors local_ts_;
  Selectors remote_ts_;
  uint32_t rekey_spi_in_ = 0;  // the child being rekeyed (our inbound SPI); 0: a new child
  std::optional<codec::DhGroup> pfs_override_;
  std::optional<ChildRequest> request_;
  Bytes nonce_i_;
  int retries_ = 0;
  std::vector<uint32_t> spis_to_delete_;
  bool temporary_failure_ = false;
  std::optional<bool> lost_collision_;

  // Responder: ours; initiator: the peer's.
  Bytes nonce_r_;
  OutMessage reply_;
  std::optional<codec::NotifyType> error_;
};

}  // namespace ipsec::engine::ike
