#pragma once

// The exchanges of one IKE SA (RFC 7296 §2.1-2.3): a queue of tasks this side initiates, one
// request outstanding at a time (window size 1), message IDs in both directions,
// retransmission with exponential back-off, and duplicate detection (a retransmitted request
// gets the cached response again). It encodes, protects and parses messages; tasks see only
// payloads. Runs on the IKE thread; the manager owns it with its IkeSa.

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/common/random.h"
#include "engine/ike/codec/fragments.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/ike_sa.h"
#include "engine/ike/task.h"

namespace ipsec::engine::ike {

// Datagrams to send, collected by the task manager and flushed by the manager.
struct Outbox {
  struct Item {
    Endpoint local;
    Endpoint remote;
    Bytes data;
  };
  std::vector<Item> items;
};

// A finished exchange, for the manager to report and act on.
struct TaskResult {
  std::unique_ptr<Task> task;
  Role role = Role::kInitiator;
  TaskStatus status = TaskStatus::kDone;
  std::chrono::nanoseconds duration{0};
};

class TaskManager {
 public:
  // Creates the responder's task for an inbound request; nullptr refuses it (the request gets
  // no task, and an INFORMATIONAL-less error is logged).
  using ResponderFactory = std::function<std::unique_ptr<Task>(const InMessage& request)>;

  TaskManager(IkeSa& sa, Random& random, IkeObserver& observer)
      : sa_(sa), random_(random), observer_(observer) {}

  void Queue(std::unique_ptr<Task> task) { queue_.push_back(std::move(task)); }
  // Puts a task first (e.g. a Delete that must not wait behind a rekey).
  void QueueFront(std::unique_ptr<Task> task) { queue_.push_front(std::move(task)); }
  bool Busy() const { return active_ != nullptr; }
  const Task* active() const { return active_.get(); }  // our outstanding request's; may be null
  bool Idle() const { return active_ == nullptr && queue_.empty(); }
  // Takes the queued (not yet sent) tasks `pick` selects, in queue order (§2.18: requests for
  // child SAs move to the IKE SA's successor).
  std::vector<std::unique_ptr<Task>> TakeQueued(const std::function<bool(const Task&)>& pick) {
    std::vector<std::unique_ptr<Task>> taken;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (pick(**it)) {
        taken.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    return taken;
  }
  size_t queued() const { return queue_.size(); }

  // Sends the next queued request when none is outstanding.
  void Flush(SteadyTime now, Outbox& out);
  // What became of an inbound datagram.
  struct Inbound {
    enum class Outcome {
      kProcessed,       // passed every check (integrity too, where keys exist) and was acted on
      kResent,          // a retransmission of the request answered last: the response went again
      kFragmentHeld,    // a verified fragment of a message still incomplete (RFC 7383)
      kDropped,         // discarded; nothing changed: `reason`
    };
    Outcome outcome = Outcome::kProcessed;
    IkeDropReason reason = IkeDropReason::kMalformed;
    bool dropped() const { return outcome == Outcome::kDropped; }
  };
  // A datagram for this SA whose header decoded (`message`); `raw` is the whole datagram.
  // Until a message passes its integrity check nothing changes: not the state, the message IDs,
  // the peer's address nor a timer (RFC 7296 §2.21.4, §2.23); the exchange must be one the SA's
  // state allows, and after IKE_SA_INIT every message must be protected (§1.5).
  Inbound OnMessage(ByteSpan raw, const codec::Message& message, const Endpoint& local,
                    const Endpoint& remote, SteadyTime now, const ResponderFactory& factory,
                    Outbox& out);
  // Retransmits or gives up (then the SA is dead: `failure`).
  void OnTimer(SteadyTime now, Outbox& out);
  SteadyTime NextDeadline() const;

  // Finished exchanges since the last call.
  std::vector<TaskResult> TakeResults() { return std::exchange(results_, {}); }
  // Set when retransmissions were exhausted (§2.4: the peer is considered dead).
  bool timed_out() const { return timed_out_; }
  // §2.2: the message ID of our next request, and of the peer's next request we expect.
  uint32_t next_request_id() const { return next_request_id_; }
  uint32_t expected_request_id() const { return expected_request_id_; }
  uint64_t retransmits() const { return retransmits_; }

  size_t max_datagram = 1280;  // RFC 7383 §2.5.1: fragment above this (IPv6 minimum MTU)

 private:
  void SendActive(SteadyTime now, Outbox& out, bool resend);
  Result<std::vector<Bytes>> Encode(const OutMessage& message, uint32_t message_id);
  // Checks that need no keys: the exchange against the SA's state and role, protection
  // present (§1.5), the message ID against the window (§2.3). nullopt: go on.
  std::optional<IkeDropReason> Screen(const codec::Message& message) const;
  Inbound HandleResponse(ByteSpan raw, const codec::Message& message, const Endpoint& local,
                         const Endpoint& remote, SteadyTime now, Outbox& out);
  Inbound HandleRequest(ByteSpan raw, const codec::Message& message, const Endpoint& local,
                        const Endpoint& remote, SteadyTime now, const ResponderFactory& factory,
                        Outbox& out);
  // §2.1: a request with the message ID answered last. Answered again only when it is that
  // request (its bytes, or for a fragmented one its first fragment's, RFC 7383 §2.6.1) from
  // where that came; the response goes back there, never toward another address.
  Inbound Retransmission(ByteSpan raw, const codec::Message& message, const Endpoint& local,
                         const Endpoint& remote, Outbox& out) const;
  Result<InMessage> Decode(ByteSpan raw, const codec::Message& message, const Endpoint& local,
                           const Endpoint& remote);
  // RFC 7383 §2.6: collects SKF fragments; the inner payloads once the message is complete.
  // A fragment that fails its integrity check sets `reason` to kIntegrity (others kMalformed).
  std::optional<std::vector<codec::PayloadEntry>> Reassemble(ByteSpan raw,
                                                             const codec::Message& message,
                                                             const Endpoint& local,
                                                             const Endpoint& remote,
                                                             std::optional<IkeDropReason>* reason);
  void Finish(std::unique_ptr<Task> task, Role role, TaskStatus status, SteadyTime started,
              SteadyTime now);
  void FollowPeer(const Endpoint& local, const Endpoint& remote);

  IkeSa& sa_;
  Random& random_;
  IkeObserver& observer_;
  std::deque<std::unique_ptr<Task>> queue_;

  // Our outstanding request.
  std::unique_ptr<Task> active_;
  SteadyTime active_started_{};
  uint32_t next_request_id_ = 0;
  std::vector<Bytes> request_datagrams_;
  SteadyTime retransmit_at_ = SteadyTime::max();
  int tries_ = 0;

  // The peer's requests.
  uint32_t expected_request_id_ = 0;
  std::vector<Bytes> last_response_;  // for a retransmitted request (§2.1)
  bool have_last_response_ = false;
  // What identifies the request answered last (§2.1): a digest of its datagram (of its first
  // fragment, RFC 7383 §2.6.1), its size, and the endpoints it came by.
  struct RequestPrint {
    Bytes digest;
    size_t size = 0;
    Endpoint local;
    Endpoint remote;
  };
  RequestPrint last_request_;
  RequestPrint first_fragment_;  // of the message being reassembled

  codec::FragmentAssembler assembler_;
  std::pair<uint32_t, bool> assembling_{0, false};  // (message ID, is response)
  std::optional<std::vector<codec::PayloadEntry>> reassembled_;

  std::vector<TaskResult> results_;
  bool timed_out_ = false;
  uint64_t retransmits_ = 0;
};

}  // namespace ipsec::engine::ike
