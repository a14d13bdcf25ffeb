#include "engine/ike/task_manager.h"

#include "engine/crypto/hash.h"
#include "engine/ike/codec/codec_error.h"
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

TaskManager::Inbound Dropped(IkeDropReason reason) {
  return TaskManager::Inbound{TaskManager::Inbound::Outcome::kDropped, reason};
}

// Which check an inbound message failed, by the codec's error kind.
IkeDropReason DropReasonFor(const Error& error) {
  switch (codec::CodecErrorOf(error)) {
    case codec::CodecError::kIntegrity:
      return IkeDropReason::kIntegrity;
    case codec::CodecError::kNotEncrypted:
      return IkeDropReason::kUnprotected;
    default:
      return IkeDropReason::kMalformed;
  }
}

// §2.1: what identifies a request for its retransmissions. SHA-256: a forger cannot make
// another datagram with the same digest.
Bytes Fingerprint(ByteSpan datagram) { return crypto::Digest(crypto::Hash::kSha256, datagram); }

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

TaskManager::Inbound TaskManager::OnMessage(ByteSpan raw, const codec::Message& message,
                                            const Endpoint& local, const Endpoint& remote,
                                            SteadyTime now, const ResponderFactory& factory,
                                            Outbox& out) {
  reassembled_.reset();
  if (std::optional<IkeDropReason> reason = Screen(message)) return Dropped(*reason);
  const codec::Header& h = message.header;
  if (!h.is_response() && have_last_response_ && h.message_id + 1 == expected_request_id_) {
    return Retransmission(raw, message, local, remote, out);
  }
  if (message.encrypted && message.encrypted->type == codec::PayloadType::kSkf) {
    std::optional<IkeDropReason> reason;
    reassembled_ = Reassemble(raw, message, local, remote, &reason);
    if (reason) return Dropped(*reason);
    if (!reassembled_) return Inbound{Inbound::Outcome::kFragmentHeld};
  }
  return h.is_response() ? HandleResponse(raw, message, local, remote, now, out)
                         : HandleRequest(raw, message, local, remote, now, factory, out);
}

std::optional<IkeDropReason> TaskManager::Screen(const codec::Message& message) const {
  const codec::Header& h = message.header;
  const bool response = h.is_response();
  if (h.exchange_type == ExchangeType::kIkeSaInit) {
    // §1.2: IKE_SA_INIT is message 0, requested by the original initiator and answered by the
    // responder; it never comes again on an SA (a retransmission keeps message ID 0).
    if (h.message_id != 0 || response != sa_.original_initiator) {
      return IkeDropReason::kUnexpectedExchange;
    }
  } else {
    // §1.5, §2.21.4: once IKE_SA_INIT made keys, every message is protected; an unprotected
    // one (an INVALID_SPI or AUTHENTICATION_FAILED notification, a Delete, ...) is at most a
    // hint and never acted on. Before there are keys, nothing but IKE_SA_INIT is expected.
    if (!message.encrypted) return IkeDropReason::kUnprotected;
    if (!sa_.HasKeys()) return IkeDropReason::kUnexpectedExchange;
    if (!response && h.message_id == expected_request_id_) {
      // §1.2: IKE_AUTH is the responder's second request; CREATE_CHILD_SA and INFORMATIONAL
      // need an authenticated IKE SA (§1.3, §1.4). (A retransmission is compared with the
      // request answered instead.)
      const bool connecting = sa_.state == IkeSaState::kConnecting;
      const bool allowed = h.exchange_type == ExchangeType::kIkeAuth
                               ? connecting && !sa_.original_initiator
                               : !connecting;
      if (!allowed) return IkeDropReason::kUnexpectedExchange;
    }
  }
  const uint32_t id = h.message_id;
  if (response) {
    // §2.1: only the response to our outstanding request; an older one is a late copy.
    if (active_ != nullptr && id == next_request_id_) {
      return h.exchange_type == active_->exchange()
                 ? std::nullopt
                 : std::optional(IkeDropReason::kUnexpectedExchange);
    }
    return id < next_request_id_ ? IkeDropReason::kDuplicate : IkeDropReason::kOutOfWindow;
  }
  // §2.3: the next request, or a retransmission of the one answered last.
  if (id == expected_request_id_) return std::nullopt;
  if (have_last_response_ && id + 1 == expected_request_id_) return std::nullopt;
  return IkeDropReason::kOutOfWindow;
}

TaskManager::Inbound TaskManager::Retransmission(ByteSpan raw, const codec::Message& message,
                                                 const Endpoint& local, const Endpoint& remote,
                                                 Outbox& out) const {
  // RFC 7383 §2.6.1: only the first fragment of a retransmitted request is answered.
  if (message.encrypted && message.encrypted->type == codec::PayloadType::kSkf &&
      message.encrypted->fragment_number != 1) {
    return Dropped(IkeDropReason::kDuplicate);
  }
  if (local != last_request_.local || remote != last_request_.remote ||
      raw.size() != last_request_.size || Fingerprint(raw) != last_request_.digest) {
    return Dropped(IkeDropReason::kRetransmitMismatch);
  }
  for (const Bytes& d : last_response_) out.items.push_back({local, remote, d});
  return Inbound{Inbound::Outcome::kResent};
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

TaskManager::Inbound TaskManager::HandleResponse(ByteSpan raw, const codec::Message& message,
                                                 const Endpoint& local, const Endpoint& remote,
                                                 SteadyTime now, Outbox& out) {
  // Screen() made sure it answers our outstanding request (§2.1).
  auto in = Decode(raw, message, local, remote);
  if (!in.ok()) {
    observer_.OnLog(&sa_, "dropped a response: " + in.error().ToString());
    // A forged or damaged response must not end the exchange; retransmit instead.
    return Dropped(DropReasonFor(in.error()));
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
    return Inbound{};
  }
  retransmit_at_ = SteadyTime::max();
  request_datagrams_.clear();
  ++next_request_id_;
  Finish(std::move(active_), Role::kInitiator, status, active_started_, now);
  // The next queued request goes out when the manager has acted on this result (it flushes
  // after every message): after an IKE SA rekey, requests still queued move to the new IKE SA
  // (RFC 7296 §2.18) instead of starting on the old one.
  return Inbound{};
}

TaskManager::Inbound TaskManager::HandleRequest(ByteSpan raw, const codec::Message& message,
                                                const Endpoint& local, const Endpoint& remote,
                                                SteadyTime now, const ResponderFactory& factory,
                                                Outbox& out) {
  // Screen() made sure it is the next request (§2.3); retransmissions went elsewhere.
  const uint32_t id = message.header.message_id;
  const bool fragmented = reassembled_.has_value();
  auto in = Decode(raw, message, local, remote);
  if (!in.ok()) {
    observer_.OnLog(&sa_, "dropped a request: " + in.error().ToString());
    return Dropped(DropReasonFor(in.error()));  // §2.21: no answer to what we cannot authenticate
  }
  // §2.1: what a retransmission of this request must match (RFC 7383 §2.6.1: its first
  // fragment, kept while reassembling).
  last_request_ = fragmented ? first_fragment_
                             : RequestPrint{Fingerprint(raw), raw.size(), local, remote};
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
    return Inbound{};
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
  return Inbound{};
}

std::optional<std::vector<codec::PayloadEntry>> TaskManager::Reassemble(
    ByteSpan raw, const codec::Message& message, const Endpoint& local, const Endpoint& remote,
    std::optional<IkeDropReason>* reason) {
  // Each fragment is verified before it is kept (RFC 7383 §2.6): a forged one changes nothing.
  auto fragment = codec::DecodeFragment(raw, message, InboundSkKeys(sa_));
  if (!fragment.ok()) {
    observer_.OnLog(&sa_, "dropped a fragment: " + fragment.error().ToString());
    *reason = DropReasonFor(fragment.error());
    return std::nullopt;
  }
  auto key = std::make_pair(message.header.message_id, message.header.is_response());
  if (key != assembling_) {
    assembler_.Reset();
    assembling_ = key;
  }
  if (message.encrypted->fragment_number == 1) {
    first_fragment_ = RequestPrint{Fingerprint(raw), raw.size(), local, remote};
  }
  auto complete = assembler_.Add(std::move(fragment).value());
  if (!complete.ok()) {
    *reason = IkeDropReason::kMalformed;
    return std::nullopt;
  }
  if (!*complete) return std::nullopt;
  auto whole = assembler_.Take();
  if (!whole.ok()) {
    *reason = IkeDropReason::kMalformed;
    return std::nullopt;
  }
  auto payloads = codec::DecodePayloadChain(whole->first_inner, whole->inner_payloads);
  if (!payloads.ok()) {
    observer_.OnLog(&sa_, "reassembled message does not decode: " + payloads.error().ToString());
    *reason = IkeDropReason::kMalformed;
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
