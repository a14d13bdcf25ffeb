#pragma once

// INFORMATIONAL exchanges (RFC 7296 §1.4, §1.5, §2.4):
//   liveness check:   HDR, SK {}                      <->  HDR, SK {}
//   delete IKE SA:    HDR, SK {D(IKE)}                <->  HDR, SK {}
//   delete child SAs: HDR, SK {D(ESP|AH, SPIs...)}    <->  HDR, SK {D(our SPIs of those SAs)}
// The responder handles whatever of these a request carries.

#include <vector>

#include "engine/ike/child_installer.h"
#include "engine/ike/ike_sa.h"
#include "engine/ike/task.h"

namespace ipsec::engine::ike {

class InformationalTask final : public Task {
 public:
  enum class Kind { kLiveness, kDeleteIkeSa, kDeleteChildSas };
  // Initiator. kDeleteChildSas: `child_spis_in` are our inbound SPIs of the SAs to delete.
  InformationalTask(IkeSa& sa, ChildInstaller& installer, Kind kind,
                    std::vector<uint32_t> child_spis_in = {})
      : sa_(sa),
        installer_(installer),
        role_(Role::kInitiator),
        kind_(kind),
        child_spis_(std::move(child_spis_in)) {}
  // Responder.
  InformationalTask(IkeSa& sa, ChildInstaller& installer)
      : sa_(sa), installer_(installer), role_(Role::kResponder) {}

  const char* name() const override;
  codec::ExchangeType exchange() const override { return codec::ExchangeType::kInformational; }
  TaskStatus Build(OutMessage& out, SteadyTime now) override;
  TaskStatus Process(const InMessage& in, SteadyTime now) override;

  Kind kind() const { return kind_; }
  // The child SAs this exchange removed (for the manager's reports).
  const std::vector<ChildSa>& removed() const { return removed_; }
  bool ike_sa_deleted() const { return ike_sa_deleted_; }

 private:
  void RemoveChild(uint32_t spi_in);
  void AddChildDeletes(OutMessage& out);

  IkeSa& sa_;
  ChildInstaller& installer_;
  Role role_;
  Kind kind_ = Kind::kLiveness;
  std::vector<uint32_t> child_spis_;  // initiator: ours to delete; responder: ours to report
  std::vector<ChildSa> removed_;
  bool ike_sa_deleted_ = false;
};

}  // namespace ipsec::engine::ike
