#include "engine/ike/task_manager.h"

#include "engine/ike/codec/payload_rules.h"
#include "engine/ike/protection.h"

namespace ipsec::engine::ike {
namespace {

using codec::ExchangeType;

const char* ExchangeName(ExchangeType e) {
  switch (e) {
    case ExchangeType::kIkeSaInit:
      return "IKE_SA_INIT";
    case ExchangeType::kIkeAuth:
      return "IKE_AUTH";
    case ExchangeType::kCreateChildSa:
      return "CREATE_CHILD_SA";
    case ExchangeType::kInformational:
      return "INFORMATIONAL";
  }
  return "?";
}

// The worse of two statuses: kDeleteSa > kFailed > kDone/kNeedMore.
TaskStatus Worse(TaskStatus a, TaskStatus b) {
  auto rank = [](TaskStatus s) {
    return s == TaskStatus::kDeleteSa ? 3 : s == TaskStatus::kFailed ? 2 : 1;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace

void TaskManager::Flush(SteadyTime now, Outbox& out) {
  while (active_ == nullptr && !queue_.empty() && !timed_out_) {
    active_ = std::move(queue_.front());
    queue_.pop_front();
    active_started_ = now;
    tries_ = 0;
    SendActive(now, out, false);
  }
}

Result<std::vector<Bytes>> TaskManager::Encode(const OutMessage& message, uint32_t message_id) {
  codec::Header header;
  header.initiator_spi = sa_.spi_i;
  header.responder_spi = sa_.spi_r;
  header.exchange_type = message.exchange;
  header.flags = (sa_.original_initiator ? codec::kFlagInitiator : 0) |
                 (message.response ? codec::kFlagResponse : 0);
  header.message_id = message_id;
  if (message.exchange == ExchangeType::kIkeSaInit) {
    // IKE_SA_INIT travels in the clear (§1.2); AUTH later signs these exact bytes (§2.15).
    if (!message.response) header.responder_spi = 0;
    Bytes bytes = codec::EncodeMessage(codec::Message{header, message.payloads, std::nullopt});
    (message.response ? sa_.init_response : sa_.init_request) = bytes;
    return std::vector<Bytes>{std::move(bytes)};
  }
  return ProtectMessage(sa_, header, message.payloads, random_, max_datagram);
}

// Builds the active task's request and sends it. Must have an active task.
void TaskManager::SendActive(SteadyTime now, Outbox& out, bool) {
  OutMessage request;
  request.exchange = active_->exchange();
  TaskStatus status = active_->Build(request, now);
  if (status == TaskStatus::kFailed || status == TaskStatus::kDeleteSa) {
    Finish(std::move(active_), Role::kInitiator, status, active_started_, now);
    Flush(now, out);
    return;
  }
  auto datagrams = Encode(request, next_request_id_);
  if (!datagrams.ok()) {
    observer_.OnLog(&sa_, std::string("cannot encode ") + ExchangeName(request.exchange) +
                              " request: " + datagrams.error().ToString());
    Finish(std::move(active_), Role::kInitiator, TaskStatus::kDeleteSa, active_started_, now);
    return;
  }
  request_datagrams_ = std::move(datagrams).value();
  for (const Bytes& d : request_datagrams_) out.items.push_back({sa_.local, sa_.remote, d});
  observer_.OnLog(&sa_, std::string("sent ") + ExchangeName(request.exchange) + " request, id " +
                            std::to_string(next_request_id_) + " (" + active_->name() + ") to " +
                            sa_.remote.ToString());
  tries_ = 0;
  retransmit_at_ = now + sa_.config->timers.retransmit_base;
}

void TaskManager::OnMessage(ByteSpan raw, const codec::Message& message, const Endpoint& local,
                            const Endpoint& remote, SteadyTime now,
                            const ResponderFactory& factory, Outbox& out) {
  reassembled_.reset();
  if (message.encrypted && message.encrypted->type == codec::PayloadType::kSkf) {
    const bool is_response = message.header.is_response();
    const uint32_t id = message.header.message_id;
    const bool current = is_response ? (active_ && id == next_request_id_)
                                     : id == expected_request_id_;
    if (!current && !(!is_response && have_last_response_ && id + 1 == expected_request_id_)) {
      return;
    }
    if (current) {
      reassembled_ = Reassemble(raw, message);
      if (!reassembled_) return;  // more fragments to come
    }
  }
  if (message.header.is_response()) {
    HandleResponse(raw, message, local, remote, now, out);
  } else {
    HandleRequest(raw, message, local, remote, now, factory, out);
  }
}

Result<InMessage> TaskManager::Decode(ByteSpan raw, const codec::Message& message,
                                      const Endpoint& local, const Endpoint& remote) {
  InMessage in;
  in.header = message.header;
  in.raw = raw;
  in.local = local;
  in.remote = remote;
  in.payloads = message.payloads;
  std::optional<std::vector<codec::PayloadEntry>> inner = std::move(reassembled_);
  reassembled_.reset();
  if (inner) {
    // Reassembled from SKF fragments (RFC 7383): already verified, decrypted and decoded.
    if (Status s = codec::CheckPayloadRules(message.header.exchange_type,
                                            message.header.is_response(), message.payloads,
                                            &*inner);
        !s.ok()) {
      return s.error();
    }
    in.payloads.insert(in.payloads.end(), inner->begin(), inner->end());
    return in;
  }
  if (message.encrypted) {
    if (message.header.exchange_type == ExchangeType::kIkeSaInit) {
      return MakeError(ErrorCode::kInvalidArgument, "SK payload in IKE_SA_INIT");
    }
    auto decrypted = UnprotectMessage(sa_, raw, message);
    if (!decrypted.ok()) return decrypted.error();
    inner = std::move(decrypted).value();
  }
  if (Status s = codec::CheckPayloadRules(message, inner ? &*inner : nullptr); !s.ok()) {
    return s.error();
  }
  if (inner) in.payloads.insert(in.payloads.end(), inner->begin(), inner->end());
  return in;
}

void TaskManager::HandleResponse(ByteSpan raw, const codec::Message& message,
                                 const Endpoint& local, const Endpoint& remote, SteadyTime now,
                                 Outbox& out) {
  if (active_ == nullptr || message.header.message_id != next_request_id_ ||
      message.header.exchange_type != active_->exchange()) {
    return;  // §2.1: not the response to our outstanding request
  }
  auto in = Decode(raw, message, local, remote);
  if (!in.ok()) {
    observer_.OnLog(&sa_, "dropped a response: " + in.error().ToString());
    return;  // a forged or damaged response must not end the exchange; retransmit instead
  }
  if (message.header.exchange_type == ExchangeType::kIkeSaInit) {
    sa_.init_response = Bytes(raw.begin(), raw.end());
  } else {
    FollowPeer(local, remote);
  }
  sa_.last_inbound = now;
  TaskStatus status = active_->Process(*in, now);
  if (status == TaskStatus::kNeedMore) {
    // IKE_SA_INIT retries keep message ID 0: §2.6 (COOKIE), §1.2 (INVALID_KE). A later
    // exchange's retry (CREATE_CHILD_SA after INVALID_KE_PAYLOAD, §1.3) is a new request: the
    // responder already answered this message ID.
    if (message.header.exchange_type != ExchangeType::kIkeSaInit) ++next_request_id_;
    SendActive(now, out, true);
    return;
  }
  retransmit_at_ = SteadyTime::max();
  request_datagrams_.clear();
  ++next_request_id_;
  Finish(std::move(active_), Role::kInitiator, status, active_started_, now);
  // The next queued request goes out when the manager has acted on this result (it flushes
  // after every message): after an IKE SA rekey, requests still queued move to the new IKE SA
  // (RFC 7296 §2.18) instead of starting on the old one.
  (void)out;
}

void TaskManager::HandleRequest(ByteSpan raw, const codec::Message& message,
                                const Endpoint& local, const Endpoint& remote, SteadyTime now,
                                const ResponderFactory& factory, Outbox& out) {
  const uint32_t id = message.header.message_id;
  if (have_last_response_ && id + 1 == expected_request_id_) {
    // §2.1: a retransmitted request gets the same response again, not a new exchange.
    for (const Bytes& d : last_response_) out.items.push_back({local, remote, d});
    return;
  }
  if (id != expected_request_id_) return;  // §2.3: outside the window
  auto in = Decode(raw, message, local, remote);
  if (!in.ok()) {
    observer_.OnLog(&sa_, "dropped a request: " + in.error().ToString());
    return;  // §2.21: no answer to what we cannot authenticate
  }
  if (message.header.exchange_type == ExchangeType::kIkeSaInit) {
    sa_.init_request = Bytes(raw.begin(), raw.end());
  } else {
    FollowPeer(local, remote);
  }
  sa_.last_inbound = now;
  std::unique_ptr<Task> task = factory(*in);
  OutMessage response;
  response.exchange = message.header.exchange_type;
  response.response = true;
  TaskStatus status = TaskStatus::kDone;
  if (task) {
    status = task->Process(*in, now);
    status = Worse(status, task->Build(response, now));
  }
  auto datagrams = Encode(response, id);
  if (!datagrams.ok()) {
    observer_.OnLog(&sa_, "cannot encode a response: " + datagrams.error().ToString());
    return;
  }
  last_response_ = std::move(datagrams).value();
  have_last_response_ = true;
  ++expected_request_id_;
  // §2.11: a response goes back to the address and port the request came from.
  for (const Bytes& d : last_response_) out.items.push_back({local, remote, d});
  observer_.OnLog(&sa_, std::string("answered ") + ExchangeName(response.exchange) +
                            " request, id " + std::to_string(id) +
                            (task ? std::string(" (") + task->name() + ")" : ""));
  if (task) Finish(std::move(task), Role::kResponder, status, now, now);
}

std::optional<std::vector<codec::PayloadEntry>> TaskManager::Reassemble(
    ByteSpan raw, const codec::Message& message) {
  auto key = std::make_pair(message.header.message_id, message.header.is_response());
  if (key != assembling_) {
    assembler_.Reset();
    assembling_ = key;
  }
  auto fragment = codec::DecodeFragment(raw, message, InboundSkKeys(sa_));
  if (!fragment.ok()) {
    observer_.OnLog(&sa_, "dropped a fragment: " + fragment.error().ToString());
    return std::nullopt;
  }
  auto complete = assembler_.Add(std::move(fragment).value());
  if (!complete.ok() || !*complete) return std::nullopt;
  auto whole = assembler_.Take();
  if (!whole.ok()) return std::nullopt;
  auto payloads = codec::DecodePayloadChain(whole->first_inner, whole->inner_payloads);
  if (!payloads.ok()) {
    observer_.OnLog(&sa_, "reassembled message does not decode: " + payloads.error().ToString());
    return std::nullopt;
  }
  return std::move(payloads).value();
}

// §2.23: once a message authenticated, a peer that moved to UDP 4500 (floating) or whose NAT
// mapping changed is followed; without a NAT the addresses stay as negotiated.
void TaskManager::FollowPeer(const Endpoint& local, const Endpoint& remote) {
  if (local == sa_.local && remote == sa_.remote) return;
  const bool to_nat_t = local.port == sa_.nat_t_local_port;
  if (!to_nat_t && !sa_.UdpEncapsulated()) return;
  observer_.OnLog(&sa_, "peer moved from " + sa_.remote.ToString() + " to " + remote.ToString());
  sa_.local = local;
  sa_.remote = remote;
  sa_.floated = sa_.floated || to_nat_t;
}

void TaskManager::OnTimer(SteadyTime now, Outbox& out) {
  if (active_ == nullptr || now < retransmit_at_ || request_datagrams_.empty()) return;
  const auto& timers = sa_.config->timers;
  if (++tries_ > timers.retransmit_tries) {
    // §2.4: after several retransmissions without an answer the peer is unreachable.
    timed_out_ = true;
    retransmit_at_ = SteadyTime::max();
    observer_.OnLog(&sa_, std::string("no answer to ") + ExchangeName(active_->exchange()) +
                              " after " + std::to_string(timers.retransmit_tries) +
                              " retransmissions");
    Finish(std::move(active_), Role::kInitiator, TaskStatus::kDeleteSa, active_started_, now);
    return;
  }
  ++retransmits_;
  observer_.OnRetransmit(sa_, active_->exchange());
  for (const Bytes& d : request_datagrams_) out.items.push_back({sa_.local, sa_.remote, d});
  retransmit_at_ = now + timers.retransmit_base * (1 << tries_);  // §2.1: exponential back-off
}

SteadyTime TaskManager::NextDeadline() const {
  return active_ != nullptr ? retransmit_at_ : SteadyTime::max();
}

void TaskManager::Finish(std::unique_ptr<Task> task, Role role, TaskStatus status,
                         SteadyTime started, SteadyTime now) {
  TaskResult r;
  r.role = role;
  r.status = status;
  r.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(now - started);
  r.task = std::move(task);
  results_.push_back(std::move(r));
}

}  // namespace ipsec::engine::ike
