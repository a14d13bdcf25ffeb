#pragma once

// Two in-process IKE peers stepped message by message (../shared/STYLE.md rule 13, strongSwan's
// exchange_test_helper): each an IkeManager with a RecordingBackend, joined by a link that
// carries datagrams only when the test delivers them, under a clock the test moves.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/dataplane/recording_backend.h"
#include "engine/ike/ike_manager.h"

namespace ipsec::testing {

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : rng_(seed) {}
  void Fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(rng_());
  }

 private:
  std::mt19937_64 rng_;
};

// Wall-clock time the test sets (certificate validity is checked against UnixSeconds()).
class ManualClock final : public Clock {
 public:
  TimePoint Now() const override { return now; }
  int64_t UnixSeconds() const override { return unix_seconds; }
  TimePoint now{};
  int64_t unix_seconds = 1767225600;  // 2026-01-01T00:00:00Z (the crypto test PKI's kTestNow)
};

// Records what an IKE engine reports. `on_sa`, when set, sees every IKE SA the engine names in a
// report (the state fuzzer reads the SK keys there to re-encrypt messages it mutated).
class RecordingIkeObserver final : public engine::ike::IkeObserver {
 public:
  std::function<void(const engine::ike::IkeSa&)> on_sa;
  struct Exchange {
    engine::ike::codec::ExchangeType exchange;
    engine::ike::Role role;
    engine::ike::FailureReason result;
  };
  void OnExchange(engine::ike::codec::ExchangeType e, engine::ike::Role r,
                  engine::ike::FailureReason result, std::chrono::nanoseconds) override {
    exchanges.push_back({e, r, result});
  }
  void OnIkeSaUp(const engine::ike::IkeSa& sa) override {
    ++ike_up;
    if (on_sa) on_sa(sa);
  }
  void OnIkeSaDown(const engine::ike::IkeSa&, const std::string& why) override {
    ++ike_down;
    last_down_reason = why;
  }
  void OnChildSaUp(const engine::ike::IkeSa& sa, const engine::ike::ChildSa&) override {
    ++child_up;
    if (on_sa) on_sa(sa);
  }
  void OnChildSaDown(const engine::ike::IkeSa&, const engine::ike::ChildSa&,
                     const std::string&) override {
    ++child_down;
  }
  void OnRetransmit(const engine::ike::IkeSa&, engine::ike::codec::ExchangeType) override {
    ++retransmits;
  }
  void OnDosDrop(engine::ike::DosDropReason reason) override {
    ++dos_drops;
    ++dos_drop_reasons[reason];
  }
  void OnCookieSent() override { ++cookies; }
  void OnRekey(bool ike) override { ++(ike ? ike_rekeys : child_rekeys); }
  void OnLog(const engine::ike::IkeSa* sa, const std::string& line) override {
    log.push_back(line);
    if (on_sa && sa != nullptr) on_sa(*sa);
  }
  void OnFallbackToClear(const std::string&, const std::string&, bool active) override {
    ++(active ? fallbacks : fallbacks_ended);
  }
  bool Failed(engine::ike::FailureReason r) const {
    for (const auto& e : exchanges) {
      if (e.result == r) return true;
    }
    return false;
  }
  std::string Log() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }

  std::vector<Exchange> exchanges;
  int ike_up = 0, ike_down = 0, child_up = 0, child_down = 0, retransmits = 0, dos_drops = 0;
  int cookies = 0, ike_rekeys = 0, child_rekeys = 0;
  std::map<engine::ike::DosDropReason, int> dos_drop_reasons;
  int fallbacks = 0, fallbacks_ended = 0;
  std::string last_down_reason;
  std::vector<std::string> log;
};

struct Datagram {
  Endpoint from;
  Endpoint to;
  Bytes data;
};

class TwoPeers;

// One peer: its engine, data path, observer and address.
class IkePeer final : public PacketSink {
 public:
  IkePeer(TwoPeers& link, std::string address, uint64_t seed);
  void SendIke(const Endpoint& local, const Endpoint& remote, ByteSpan message) override;
  void SendNatKeepalive(const Endpoint& local, const Endpoint& remote) override;

  Endpoint endpoint(uint16_t port = 500) const { return Endpoint{address, port}; }
  IpAddress address;
  SeededRandom random;
  ManualClock clock;
  engine::dataplane::RecordingBackend backend;
  RecordingIkeObserver observer;
  std::unique_ptr<engine::ike::IkeManager> manager;
  int keepalives = 0;

 private:
  // The data path's events reach the manager at the link's time (byte lifetimes, acquires).
  class Events final : public engine::dataplane::BackendEvents {
   public:
    explicit Events(IkePeer& peer) : peer_(peer) {}
    void OnAcquire(const Acquire& acquire) override;
    void OnExpire(engine::dataplane::SaProtocol protocol, uint32_t spi, bool hard) override;

   private:
    IkePeer& peer_;
  };
  TwoPeers& link_;
  Events events_{*this};
};

class TwoPeers {
 public:
  TwoPeers();
  IkePeer a;  // 10.1.0.1
  IkePeer b;  // 10.2.0.1

  // Datagrams in flight, in send order.
  std::deque<Datagram> wire;
  // Returns false to drop a datagram (loss), true to deliver it.
  std::function<bool(const Datagram&)> filter;
  // Rewrites a datagram on its way (a NAT); may change `from`.
  std::function<void(Datagram&)> nat;
  // Hands a datagram to its peer; unset: the peer's manager->OnDatagram at `now`. A harness
  // wraps the delivery with checks (fuzz/ike_state_harness.h).
  std::function<void(IkePeer& to, const Datagram& d)> deliver;
  // Sets `nat` to a NAT in front of A mapping 10.1.0.1:* to 192.0.2.7:(port+1000).
  void PutABehindNat();

  engine::ike::SteadyTime now;
  // Delivers queued datagrams (and those they cause) until none are left or `max` were handled.
  int DeliverAll(int max = 100);
  // Delivers exactly one; false when none is queued.
  bool DeliverOne();
  // Advances the clock and runs both engines' timers (each due deadline).
  void Advance(std::chrono::milliseconds d);
  // Like Advance, but delivers every datagram (through `filter`) as soon as it is sent, so
  // exchanges the timers start complete in between: time as it passes with a working link.
  void Run(std::chrono::milliseconds d);
  IkePeer& PeerAt(const IpAddress& address);
  std::vector<Datagram> sent_log;  // everything ever sent
};

// A configuration with one rule "r" securing `local` <-> `remote` (single addresses), PSK
// `psk`, tunnel mode to `remote`, AES-GCM everywhere.
std::shared_ptr<engine::ike::IkeConfig> SimpleConfig(const std::string& local,
                                                     const std::string& remote,
                                                     const std::string& psk);

}  // namespace ipsec::testing
