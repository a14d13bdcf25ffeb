#include "engine/ike/admission.h"

#include <cassert>

namespace ipsec::engine::ike {
namespace {

uint64_t Fold(uint64_t a, uint64_t b) {
  const Uint128 p = static_cast<Uint128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

}  // namespace

size_t AdmissionTable::Hasher::Mix(uint64_t a, uint64_t b) const {
  return static_cast<size_t>(Fold(Fold(a ^ k0, b ^ k1) ^ k2, 0x9e3779b97f4a7c15ULL));
}

size_t AdmissionTable::Hasher::operator()(const IpAddress& a) const {
  const Uint128 v = a.value();
  return Mix(Mix(static_cast<uint64_t>(v), static_cast<uint64_t>(v >> 64)),
             static_cast<uint64_t>(a.family()));
}

size_t AdmissionTable::Hasher::operator()(const Endpoint& e) const {
  return Mix((*this)(e.address), e.port);
}

size_t AdmissionTable::Hasher::operator()(const std::pair<Endpoint, uint64_t>& k) const {
  return Mix((*this)(k.first), k.second);
}

AdmissionTable::AdmissionTable(Random& random)
    : hasher_{random.Uint64(), random.Uint64(), random.Uint64()},
      by_request_(0, hasher_),
      per_ip_(0, hasher_),
      per_endpoint_(0, hasher_) {}

void AdmissionTable::AddHalfOpen(Slot& slot, uint64_t local_spi, const Endpoint& peer,
                                 uint64_t spi_i) {
  assert(!slot.half_open_);
  slot.half_open_ = true;
  slot.listed_ = true;
  slot.peer_ = peer;
  slot.spi_i_ = spi_i;
  slot.fifo_ = fifo_.insert(fifo_.end(), local_spi);
  by_request_[{peer, spi_i}] = local_spi;
  ++Ip(peer.address).half_open;
  ++per_endpoint_[peer];
}

void AdmissionTable::RemoveHalfOpen(Slot& slot) {
  if (!slot.half_open_) return;
  slot.half_open_ = false;
  fifo_.erase(slot.fifo_);
  if (auto it = per_endpoint_.find(slot.peer_); it != per_endpoint_.end() && --it->second == 0) {
    per_endpoint_.erase(it);
  }
  --Ip(slot.peer_.address).half_open;
  ForgetIfEmpty(slot.peer_.address);
}

void AdmissionTable::Count(Slot& slot, Slot::Counted kind, const std::optional<IpAddress>& ip) {
  if (ip && slot.counted_ == kind && *ip == slot.counted_ip_) return;
  if (!ip && slot.counted_ != kind) return;  // counted as the other kind, or not at all
  if (slot.counted_ != Slot::Counted::kNone) {
    PerIp& was = Ip(slot.counted_ip_);
    --(slot.counted_ == Slot::Counted::kEstablished ? was.established : was.authenticating);
    slot.counted_ = Slot::Counted::kNone;
    ForgetIfEmpty(slot.counted_ip_);
  }
  if (ip) {
    slot.counted_ = kind;
    slot.counted_ip_ = *ip;
    PerIp& now = Ip(*ip);
    ++(kind == Slot::Counted::kEstablished ? now.established : now.authenticating);
  }
}

void AdmissionTable::SetEstablished(Slot& slot, const std::optional<IpAddress>& ip) {
  Count(slot, Slot::Counted::kEstablished, ip);
}

void AdmissionTable::SetAuthenticating(Slot& slot, const std::optional<IpAddress>& ip) {
  Count(slot, Slot::Counted::kAuthenticating, ip);
}

void AdmissionTable::ForgetIfEmpty(const IpAddress& ip) {
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && it->second.half_open == 0 && it->second.established == 0 &&
      it->second.authenticating == 0) {
    per_ip_.erase(it);
  }
}

void AdmissionTable::Forget(Slot& slot) {
  RemoveHalfOpen(slot);
  if (!slot.listed_) return;
  slot.listed_ = false;
  by_request_.erase({slot.peer_, slot.spi_i_});
}

uint64_t AdmissionTable::FindByRequest(const Endpoint& peer, uint64_t spi_i) const {
  auto it = by_request_.find({peer, spi_i});
  return it == by_request_.end() ? 0 : it->second;
}

size_t AdmissionTable::HalfOpenFrom(const IpAddress& ip) const {
  auto it = per_ip_.find(ip);
  return it == per_ip_.end() ? 0 : it->second.half_open;
}

size_t AdmissionTable::HalfOpenFrom(const Endpoint& peer) const {
  auto it = per_endpoint_.find(peer);
  return it == per_endpoint_.end() ? 0 : it->second;
}

bool AdmissionTable::EstablishedWith(const IpAddress& ip) const {
  auto it = per_ip_.find(ip);
  return it != per_ip_.end() && it->second.established > 0;
}

size_t AdmissionTable::SasWith(const IpAddress& ip) const {
  auto it = per_ip_.find(ip);
  if (it == per_ip_.end()) return 0;
  return it->second.half_open + it->second.established + it->second.authenticating;
}

AdmissionTable::Contents AdmissionTable::Dump() const {
  Contents c;
  c.fifo.assign(fifo_.begin(), fifo_.end());
  c.by_request.insert(by_request_.begin(), by_request_.end());
  for (const auto& [ip, n] : per_ip_) {
    // Entries whose counts are all 0 must not linger (they would be a leak): shown as such.
    const bool empty = n.half_open == 0 && n.established == 0 && n.authenticating == 0;
    if (n.half_open != 0 || empty) c.half_open_per_ip[ip] = n.half_open;
    if (n.established != 0 || empty) c.established_per_ip[ip] = n.established;
    if (n.authenticating != 0) c.authenticating_per_ip[ip] = n.authenticating;
  }
  c.half_open_per_endpoint.insert(per_endpoint_.begin(), per_endpoint_.end());
  return c;
}

}  // namespace ipsec::engine::ike
