#pragma once

// UserspaceBackend: the `userspace` dataplane::Backend (issue 4): our ESP engine (engine/esp)
// on a TUN device in the pod namespace. Pieces: tun_device (the TUN), pod_network (routes,
// rules, nftables), esp_io (sockets), sa_table (SAs and policies), acquire_queue, pipeline
// (per-packet decisions).
//
// Threads: `tx_workers` threads each read their own TUN queue and protect (TUN -> ESP); one RX
// thread reads the raw ESP and ESP-in-UDP sockets and unprotects (ESP -> TUN). Each thread has
// its own ESP crypto contexts (worker index), so a peer pair's two directions run on two cores.
// Backend methods come from IKE's loop thread; counters from any thread.
//
// Life: Create (TUN + pod network; nothing is routed yet), Start once IKE's NAT-T socket is
// bound (our UDP socket joins its SO_REUSEPORT group), OnFilterTable on every policy change,
// Stop (or the destructor): threads joined, rules and nftables removed, the TUN closed.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/random.h"
#include "engine/dataplane/backend.h"
#include "engine/dataplane/dataplane_counters.h"
#include "engine/dataplane/filter_table_sink.h"
#include "engine/dataplane/userspace/acquire_queue.h"
#include "engine/dataplane/userspace/ah_io.h"
#include "engine/dataplane/userspace/command_runner.h"
#include "engine/dataplane/userspace/esp_io.h"
#include "engine/dataplane/userspace/pipeline.h"
#include "engine/dataplane/userspace/pod_network.h"
#include "engine/dataplane/userspace/sa_table.h"
#include "engine/dataplane/userspace/tun_device.h"

namespace ipsec::engine::dataplane::userspace {

class UserspaceBackend final : public Backend,
                               public DataplaneCounterSource,
                               public FilterTableSink {
 public:
  struct Options {
    std::string tun_name = "ipsec0";
    int tun_mtu = 1400;  // 1500 minus the worst ESP tunnel overhead (esp::kMaxOutboundOverhead)
    unsigned tx_workers = 1;
    uint32_t route_table = 9700;
    Random* random = nullptr;  // not owned, required: SPIs
  };
  static Result<std::unique_ptr<UserspaceBackend>> Create(Options options);
  ~UserspaceBackend() override;

  // Opens the sockets (`nat_t_port` 0: no ESP-in-UDP) and starts the threads.
  Status Start(uint16_t nat_t_port);
  void Stop();

  // FilterTableSink: routes, nftables and the classifier follow the policy.
  Status OnFilterTable(const policy::Policy* policy,
                       std::shared_ptr<const policy::Classifier> classifier) override;

  // Backend.
  const char* name() const override { return "userspace"; }
  Result<uint32_t> AllocateSpi(SaProtocol protocol) override;
  Status AddSa(const SaConfig& sa) override;
  Status UpdateSaEndpoints(SaProtocol protocol, uint32_t spi, const Endpoint& local,
                           const Endpoint& remote, bool udp_encapsulation) override;
  Status DeleteSa(SaProtocol protocol, uint32_t spi) override;
  Status AddPolicy(const PolicyConfig& policy) override;
  Status DeletePolicy(uint32_t reqid, SaDirection direction) override;
  Result<SaCounters> QuerySa(SaProtocol protocol, uint32_t spi) const override;
  // FAQ 16: the pipeline sends the destinations in clear, nftables takes their plaintext in.
  Status SetClearFallback(const ClearFallback& fallback) override;
  Status EndClearFallback(const std::string& rule, const IpAddress& peer) override;
  void SetEvents(BackendEvents* events) override;

  // DataplaneCounterSource.
  DataplaneCounters Counters() const override;
  std::vector<RulePeerTraffic> RulePeerCounters() const override;

  const std::string& tun_name() const { return tun_->name(); }
  int tun_mtu() const { return tun_->mtu(); }  // after CappedTunMtu (link_mtu.h)

 private:
  explicit UserspaceBackend(Options options);
  void TxLoop(unsigned index);
  void RxLoop(unsigned index);
  void RequestFlush();
  // FAQ 46: a bundled SA lowers the TUN's MTU to leave room for ESP + AH on the smallest link
  // (link_mtu.h, esp::kMaxBundleOverhead); when the last outbound bundled SA is deleted, the
  // MTU goes back to what ESP alone needs (as at start).
  void LeaveRoomForBundles();
  void RestoreMtuAfterBundles();

  // nftables' drop counters (plaintext where IPsec is required, blocked traffic outside the
  // TUN) folded into Counters(): read at most every kNftReadInterval; a table replaced by a
  // policy change adds its last counts to the base, so the sums stay monotonic.
  void ReadNftLocked() const;

  Options options_;
  mutable ProcessRunner runner_;
  mutable std::mutex nft_mu_;
  mutable uint64_t nft_base_[2] = {};  // [0] plaintext, [1] block; guarded by nft_mu_
  mutable uint64_t nft_last_[2] = {};
  mutable std::chrono::steady_clock::time_point nft_read_{};
  std::unique_ptr<TunDevice> tun_;
  std::unique_ptr<PodNetwork> network_;
  std::unique_ptr<SaTable> sas_;
  AcquireQueue queue_;
  // The pipeline exists from Create (SAs, events and the table may come before Start); its
  // I/O goes to io_ once Start opened it, and is refused before.
  class LateIo final : public PacketIo {
   public:
    std::atomic<EspIo*> io{nullptr};
    bool SendEsp(unsigned w, const SaConfig& sa, const uint8_t* p, size_t n) override {
      EspIo* i = io.load();
      return i != nullptr && i->SendEsp(w, sa, p, n);
    }
    uint8_t* ReserveEsp(unsigned w, const SaConfig& sa, size_t n) override {
      EspIo* i = io.load();
      return i != nullptr ? i->ReserveEsp(w, sa, n) : nullptr;
    }
    bool CommitEsp(unsigned w, const SaConfig& sa, size_t n) override {
      EspIo* i = io.load();
      return i != nullptr && i->CommitEsp(w, sa, n);
    }
    bool SendClear(unsigned w, const uint8_t* p, size_t n) override {
      EspIo* i = io.load();
      return i != nullptr && i->SendClear(w, p, n);
    }
    bool Deliver(unsigned w, const uint8_t* p, size_t n) override {
      EspIo* i = io.load();
      return i != nullptr && i->Deliver(w, p, n);
    }
    void Flush(unsigned w) override {
      if (EspIo* i = io.load()) i->Flush(w);
    }
  };
  LateIo late_io_;
  std::unique_ptr<EspIo> io_;
  std::unique_ptr<AhSockets> ah_io_;  // IP protocol 51 in (ah_io.h)
  std::unique_ptr<Pipeline> pipeline_;
  int stop_fd_ = -1;   // eventfd: written once at Stop, never read (wakes every thread)
  int flush_fd_ = -1;  // eventfd: TX worker 0 retries queued packets
  std::atomic<bool> stopping_{false};
  std::mutex mtu_mu_;        // serializes the bundle MTU changes
  bool bundle_mtu_ = false;  // the TUN's MTU is lowered for bundles; guarded by mtu_mu_
  std::vector<std::thread> threads_;
  std::mutex spi_mu_;
  std::set<uint32_t> reserved_spis_;  // guarded by spi_mu_
  Status ApplyClearFallbacksLocked();
  std::mutex network_mu_;  // serializes OnFilterTable and network_ changes
  std::map<std::pair<std::string, IpAddress>, ClearFallback> fallbacks_;  // guarded by network_mu_
};

}  // namespace ipsec::engine::dataplane::userspace
