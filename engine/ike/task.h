#pragma once

// One IKE exchange as a task (../shared/STYLE.md rule 4; strongSwan's task_t): Build() fills
// the message this side sends, Process() consumes the one it receives. The initiator of the
// exchange builds the request and processes the response; the responder processes the request
// and builds the response; the variant is picked at construction. Tasks never send and never
// read a clock: the task manager does I/O through the manager and passes `now`.

#include <optional>
#include <string>

#include "engine/ike/ike_observer.h"
#include "engine/ike/message.h"

namespace ipsec::engine::ike {

// How the task manager reads them:
//   initiator Build():    kDone or kNeedMore: send the request; kFailed/kDeleteSa: do not.
//   initiator Process():  kDone: the exchange is complete; kNeedMore: Build() and send the
//                         request again (IKE_SA_INIT after COOKIE or INVALID_KE_PAYLOAD).
//   responder Process() then Build(): the response is always sent; the worse of the two
//                         statuses decides what happens to the IKE SA afterwards.
enum class TaskStatus {
  kDone,       // the exchange is complete
  kNeedMore,   // see above
  kFailed,     // the exchange failed; the IKE SA lives on (e.g. a child SA was refused)
  kDeleteSa,   // the IKE SA must go (authentication failed, no proposal in IKE_SA_INIT...)
};

using SteadyTime = std::chrono::steady_clock::time_point;

class Task {
 public:
  virtual ~Task() = default;
  virtual const char* name() const = 0;
  virtual codec::ExchangeType exchange() const = 0;
  virtual TaskStatus Build(OutMessage& out, SteadyTime now) = 0;
  virtual TaskStatus Process(const InMessage& in, SteadyTime now) = 0;

  // Why the task failed (for the log, metrics and the API).
  FailureReason failure() const { return failure_; }
  const std::string& failure_detail() const { return failure_detail_; }

 protected:
  TaskStatus Fail(FailureReason reason, std::string detail, TaskStatus status) {
    failure_ = reason;
    failure_detail_ = std::move(detail);
    return status;
  }

 private:
  FailureReason failure_ = FailureReason::kNone;
  std::string failure_detail_;
};

}  // namespace ipsec::engine::ike
