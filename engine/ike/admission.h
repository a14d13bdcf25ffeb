#pragma once

// AdmissionTable: what IkeManager needs to decide about a new IKE_SA_INIT request in O(1), kept
// up to date at every change of an IKE SA instead of counted per request (issue 13: a walk of
// the half-open table per request was ~70% of the responder's CPU under a flood):
//  - the responder IKE SAs made for IKE_SA_INIT requests, found by (peer, SPIi): while
//    half-open (IKE_SA_INIT answered, IKE_AUTH not done) to answer a retransmitted request
//    (RFC 7296 §2.1), afterwards so that a copy of it the network held up until after IKE_AUTH
//    goes to its SA, which drops it, instead of making a new half-open SA;
//  - the half-open ones in arrival order: the oldest is evicted when the global cap is reached
//    (SYN-cache style) and expires first;
//  - how many of them each peer IP and each peer IP:port has (FAQ 59's 35 and 5);
//  - how many IKE SAs are established with each peer IP (which FAQ 59 limit applies);
//  - how many of our own negotiations with each peer IP are past IKE_SA_INIT (with those two,
//    whether we hold any other IKE SA with a peer when we send IKE_AUTH: INITIAL_CONTACT,
//    RFC 7296 §2.4).
// The manager reports every change through the Slot it keeps with each IKE SA (Add/Remove
// HalfOpen, SetEstablished, SetAuthenticating); every operation is O(1) expected. The hash tables
// are keyed with a secret, so that a flood from chosen addresses cannot make long chains. Holds
// SPIs, not SAs: owns no SA. Not thread-safe (the IKE thread only).

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/common/endpoint.h"
#include "engine/common/ip_address.h"
#include "engine/common/random.h"

namespace ipsec::engine::ike {

class AdmissionTable {
 public:
  // What the table records of one IKE SA. The manager keeps it with the SA (it must not move
  // while the SA is listed) and passes it back on every change; only the table writes it.
  class Slot {
   public:
    bool half_open() const { return half_open_; }
    bool established() const { return counted_ == Counted::kEstablished; }
    bool authenticating() const { return counted_ == Counted::kAuthenticating; }
    const IpAddress& authenticating_ip() const { return counted_ip_; }  // when authenticating
    // Made for an IKE_SA_INIT request from request_peer() with SPIi request_spi_i(), and findable
    // by it (FindByRequest) until Forget.
    bool listed() const { return listed_; }
    const Endpoint& request_peer() const { return peer_; }
    uint64_t request_spi_i() const { return spi_i_; }

   private:
    friend class AdmissionTable;
    bool half_open_ = false;
    bool listed_ = false;
    Endpoint peer_;  // the request's source: counted under it while half-open
    uint64_t spi_i_ = 0;
    std::list<uint64_t>::iterator fifo_;
    // Established and authenticating exclude each other: one address for both (every half-open
    // SA carries a Slot, dos.h kHalfOpenBytesPerSa).
    enum class Counted : uint8_t { kNone, kEstablished, kAuthenticating };
    Counted counted_ = Counted::kNone;
    IpAddress counted_ip_;  // counted under this while established or authenticating
  };

  // `random` seeds the hash keys (read here only).
  explicit AdmissionTable(Random& random);
  AdmissionTable(const AdmissionTable&) = delete;
  AdmissionTable& operator=(const AdmissionTable&) = delete;

  // A responder SA (our SPI `local_spi`) was made for a new IKE_SA_INIT request from `peer`
  // with SPIi `spi_i`. It becomes the newest half-open SA.
  void AddHalfOpen(Slot& slot, uint64_t local_spi, const Endpoint& peer, uint64_t spi_i);
  // The SA is no longer half-open (established, or about to go); nothing if it was not. It
  // stays findable by its request until Forget.
  void RemoveHalfOpen(Slot& slot);
  // The SA is gone: no longer half-open nor findable by its request.
  void Forget(Slot& slot);
  // The SA is established with `ip`, or (nullopt) not or no longer; a changed address moves it.
  void SetEstablished(Slot& slot, const std::optional<IpAddress>& ip);
  // The SA is our own negotiation with `ip`, past IKE_SA_INIT and not yet established, or
  // (nullopt) not or no longer. (An SA is counted as established or as authenticating, never
  // both: setting one replaces the other.)
  void SetAuthenticating(Slot& slot, const std::optional<IpAddress>& ip);

  // Our SPI of the responder SA made for the IKE_SA_INIT request from `peer` with SPIi `spi_i`,
  // half-open or not; 0: none.
  uint64_t FindByRequest(const Endpoint& peer, uint64_t spi_i) const;
  size_t half_open() const { return fifo_.size(); }
  size_t HalfOpenFrom(const IpAddress& ip) const;
  size_t HalfOpenFrom(const Endpoint& peer) const;
  bool EstablishedWith(const IpAddress& ip) const;
  // Every IKE SA counted with `ip`: half-open from it, established with it, and our own
  // negotiations with it past IKE_SA_INIT.
  size_t SasWith(const IpAddress& ip) const;
  // Our SPI of the oldest half-open SA; 0: none.
  uint64_t Oldest() const { return fifo_.empty() ? 0 : fifo_.front(); }

  // Everything the table holds, in a form to compare with a recount from the SAs (tests and
  // debug checks; O(size)).
  struct Contents {
    std::vector<uint64_t> fifo;                                    // our SPIs, oldest first
    std::map<std::pair<Endpoint, uint64_t>, uint64_t> by_request;  // (peer, SPIi) -> our SPI
    std::map<IpAddress, size_t> half_open_per_ip;
    std::map<Endpoint, size_t> half_open_per_endpoint;
    std::map<IpAddress, size_t> established_per_ip;
    std::map<IpAddress, size_t> authenticating_per_ip;
  };
  Contents Dump() const;

 private:
  // A keyed hash (two rounds of a folded 64x64->128 multiply over key-xored halves): the keys
  // are random, so bucket collisions cannot be chosen from outside.
  struct Hasher {
    uint64_t k0 = 0, k1 = 0, k2 = 0;
    size_t Mix(uint64_t a, uint64_t b) const;
    size_t operator()(const IpAddress& a) const;
    size_t operator()(const Endpoint& e) const;
    size_t operator()(const std::pair<Endpoint, uint64_t>& k) const;
  };
  struct PerIp {
    size_t half_open = 0;
    size_t established = 0;
    size_t authenticating = 0;
  };
  PerIp& Ip(const IpAddress& ip) { return per_ip_.try_emplace(ip).first->second; }
  // Sets what `slot` is counted as with which address (SetEstablished, SetAuthenticating).
  void Count(Slot& slot, Slot::Counted kind, const std::optional<IpAddress>& ip);
  void ForgetIfEmpty(const IpAddress& ip);

  Hasher hasher_;
  std::list<uint64_t> fifo_;  // half-open SAs (our SPIs), oldest first
  std::unordered_map<std::pair<Endpoint, uint64_t>, uint64_t, Hasher> by_request_;
  std::unordered_map<IpAddress, PerIp, Hasher> per_ip_;
  std::unordered_map<Endpoint, size_t, Hasher> per_endpoint_;
};

}  // namespace ipsec::engine::ike
