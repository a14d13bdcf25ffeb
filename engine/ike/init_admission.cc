// IkeManager: admission of new IKE_SA_INIT requests (RFC 7296 §2.6 cookies, FAQ 59 limits, the
// global half-open cap) and the half-open bookkeeping behind it, in O(1) per request: every
// count is kept by AdmissionTable (admission.h), which Track() updates at each change of an SA.

#include <map>

#include "engine/ike/codec/payload_rules.h"
#include "engine/ike/ike_manager.h"
#include "engine/ike/ike_manager_entry.h"
#include "engine/ike/tasks/ike_init.h"

namespace ipsec::engine::ike {

using codec::ExchangeType;

void IkeManager::HandleInitRequest(const codec::Message& message, const Endpoint& local,
                                   const Endpoint& remote, ByteSpan data, SteadyTime now) {
  // §2.1: a retransmitted request of an SA we hold is answered from it (while half-open), or
  // dropped by it (later: a copy held up in the network), never admitted again.
  const uint64_t known = admission_.FindByRequest(remote, message.header.initiator_spi);
  Entry* entry = known == 0 ? nullptr : Find(known);
  if (entry == nullptr) {
    // §1.2: a new SA starts with message 0, whose payloads follow the exchange's rules; what
    // does not is dropped before it costs a cookie or any state.
    if (message.header.message_id != 0) {
      Drop(IkeDropReason::kUnexpectedExchange);
      return;
    }
    if (!codec::CheckPayloadRules(message, nullptr).ok()) {
      Drop(IkeDropReason::kMalformed);
      return;
    }
    if (!AdmitInitRequest(message, local, remote, now)) return;
    entry = &Create(false, local, remote, now);
    entry->sa.spi_i = message.header.initiator_spi;
    entry->half_open_until = now + config_->timers.half_open_timeout;
    admission_.AddHalfOpen(entry->admission, entry->sa.spi_r, remote, entry->sa.spi_i);
  }
  Deliver(*entry, message, local, remote, data, now);
}

bool IkeManager::AdmitInitRequest(const codec::Message& message, const Endpoint& local,
                                  const Endpoint& remote, SteadyTime now) {
  const codec::NotifyPayload* cookie =
      codec::FindNotify(message.payloads, codec::NotifyType::kCookie);
  const auto* nonce =
      codec::FindPayload<codec::NoncePayload>(message.payloads, codec::PayloadType::kNonce);
  InitRequestView view;
  view.source = remote.address;
  view.spi_i = message.header.initiator_spi;
  if (nonce != nullptr) view.nonce = nonce->nonce;
  if (cookie != nullptr) view.cookie = &cookie->data;
  // The load, from the counts admission_ keeps (no SA is read).
  PeerLoad load;
  load.half_open_total = admission_.half_open();
  load.half_open_from_ip = admission_.HalfOpenFrom(remote.address);
  load.half_open_from_endpoint = admission_.HalfOpenFrom(remote);
  load.established_with_ip = admission_.EstablishedWith(remote.address);
  const DosLimits& limits = config_->dos;
  DosGuard::Verdict verdict = dos_.Check(view, load, limits, now);
  switch (verdict.action) {
    case DosGuard::Action::kAccept:
      if (limits.max_half_open != 0 && admission_.half_open() >= limits.max_half_open) {
        EvictOldestHalfOpen(remote);
      }
      return true;
    case DosGuard::Action::kSendCookie: {
      // RFC 7296 §2.6: HDR(SPIi, 0), N(COOKIE); no state kept.
      codec::Header h;
      h.initiator_spi = message.header.initiator_spi;
      h.exchange_type = ExchangeType::kIkeSaInit;
      h.flags = codec::kFlagResponse;
      h.message_id = 0;
      OutMessage reply;
      reply.AddNotify(codec::NotifyType::kCookie, std::move(verdict.cookie));
      options_.sink->SendIke(local, remote,
                             codec::EncodeMessage(codec::Message{h, reply.payloads, std::nullopt}));
      ++stats_.cookies_sent_total;
      options_.observer->OnCookieSent();
      return false;
    }
    case DosGuard::Action::kDrop:
      Drop(IkeDropReason::kDos);
      ++stats_.dos_drops_total;
      options_.observer->OnDosDrop(verdict.reason);
      options_.observer->OnLog(
          nullptr, "IKE_SA_INIT from " + remote.ToString() + " dropped: " + Name(verdict.reason));
      return false;
  }
  return false;
}

bool IkeManager::CompleteKeyExchange(Entry& entry) {
  if (Status s = ike::CompleteKeyExchange(entry.sa); !s.ok()) {
    Drop(IkeDropReason::kMalformed);  // its KE payload was, as it turns out
    ++stats_.negotiation_failures_total;
    Kill(entry, s.error().message);
    Outbox none;
    Settle(entry, none);  // removes it
    return false;
  }
  return true;
}

void IkeManager::EvictOldestHalfOpen(const Endpoint& newcomer) {
  // The table lists only live half-open SAs (Track removes the others), so this finds one.
  auto it = sas_.find(admission_.Oldest());
  if (it == sas_.end()) return;
  ++admission_entries_read_;
  Entry& oldest = *it->second;
  ++stats_.dos_drops_total;
  options_.observer->OnDosDrop(DosDropReason::kEvicted);
  Kill(oldest, "evicted: " + std::to_string(config_->dos.max_half_open) +
                   " half-open IKE SAs, the cap, and a new request from " + newcomer.ToString());
  Outbox none;
  Settle(oldest, none);  // removes it
}

void IkeManager::ExpireHalfOpen(SteadyTime now) {
  while (uint64_t spi = admission_.Oldest()) {
    auto it = sas_.find(spi);
    if (it == sas_.end() || it->second->half_open_until > now) return;
    Entry& entry = *it->second;
    Kill(entry, "no IKE_AUTH within " +
                    std::to_string(entry.sa.config->timers.half_open_timeout.count()) + " s");
    Outbox none;
    Settle(entry, none);  // removes it, and it leaves the table
  }
}

void IkeManager::Track(Entry& entry) {
  const IkeSa& sa = entry.sa;
  const bool connecting = sa.state == IkeSaState::kConnecting;
  if (entry.dead) {
    admission_.Forget(entry.admission);
  } else if (!connecting) {
    admission_.RemoveHalfOpen(entry.admission);
  }
  admission_.SetEstablished(entry.admission, !entry.dead && !connecting
                                                 ? std::optional<IpAddress>(sa.remote.address)
                                                 : std::nullopt);
  // Ours, past IKE_SA_INIT (its IKE_AUTH sent or about to be): INITIAL_CONTACT (§2.4).
  const bool authenticating = !entry.dead && connecting && sa.original_initiator && sa.HasKeys();
  admission_.SetAuthenticating(
      entry.admission, authenticating ? std::optional<IpAddress>(sa.remote.address) : std::nullopt);
}

std::string IkeManager::CheckAdmission() const {
  // What admission_ should hold, recounted from the SAs.
  AdmissionTable::Contents want;
  std::map<uint64_t, uint64_t> half_open;  // our SPI -> position in arrival order (SA id)
  for (const auto& [spi, e] : sas_) {
    const IkeSa& sa = e->sa;
    if (e->dead) continue;
    if (e->admission.listed()) {
      want.by_request[{e->admission.request_peer(), e->admission.request_spi_i()}] = spi;
    }
    if (sa.state != IkeSaState::kConnecting) {
      ++want.established_per_ip[sa.remote.address];
    } else if (sa.original_initiator) {
      if (sa.HasKeys()) ++want.authenticating_per_ip[sa.remote.address];
    } else {
      half_open[sa.id] = spi;
      ++want.half_open_per_ip[sa.remote.address];
      ++want.half_open_per_endpoint[sa.remote];
    }
  }
  for (const auto& [id, spi] : half_open) want.fifo.push_back(spi);  // ids grow with arrival
  const AdmissionTable::Contents have = admission_.Dump();
  auto differs = [](const char* what, size_t a, size_t b) {
    return std::string(what) + ": table " + std::to_string(a) + ", recount " + std::to_string(b);
  };
  if (have.fifo != want.fifo)
    return differs("half-open SAs in arrival order", have.fifo.size(), want.fifo.size());
  if (have.by_request != want.by_request)
    return differs("responder SAs by (peer, SPIi)", have.by_request.size(), want.by_request.size());
  if (have.half_open_per_ip != want.half_open_per_ip)
    return differs("peer IPs with half-open SAs", have.half_open_per_ip.size(),
                   want.half_open_per_ip.size());
  if (have.half_open_per_endpoint != want.half_open_per_endpoint)
    return differs("peer IP:ports with half-open SAs", have.half_open_per_endpoint.size(),
                   want.half_open_per_endpoint.size());
  if (have.established_per_ip != want.established_per_ip)
    return differs("peer IPs with established SAs", have.established_per_ip.size(),
                   want.established_per_ip.size());
  if (have.authenticating_per_ip != want.authenticating_per_ip)
    return differs("peer IPs with our negotiations past IKE_SA_INIT",
                   have.authenticating_per_ip.size(), want.authenticating_per_ip.size());
  return "";
}

}  // namespace ipsec::engine::ike
