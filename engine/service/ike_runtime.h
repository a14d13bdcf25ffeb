#pragma once

// IkeRuntime: the IKE engine running — an IkeManager on its own event loop thread with the UDP
// 500/4500 sockets, the data path backend, and an observer that turns what IKE reports into
// counters (for the exporter) and events (the IKE log, FAQ 39). The service feeds it the policy
// in force; the API reads snapshots and asks for deletes and initiations. Every call that
// touches IKE state runs on the loop thread (RunSync/Post); public methods are thread-safe.

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/common/random.h"
#include "engine/common/result.h"
#include "engine/dataplane/backend.h"
#include "engine/ike/config_builder.h"
#include "engine/ike/ike_observer.h"
#include "engine/ike/snapshot.h"
#include "engine/policy/filter_table.h"
#include "engine/service/key_export.h"
#include "engine/telemetry/event.h"

namespace ipsec::engine::ike {
class IkeManager;
}
namespace ipsec::engine::net {
class EventLoop;
class UdpTransport;
}

namespace ipsec::engine::service {

inline constexpr int kExchangeCount = 4;      // IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL
inline constexpr int kRoleCount = 2;          // initiator, responder
inline constexpr int kFailureReasonCount = 10;
inline constexpr int kDosReasonCount = 4;
// Negotiation duration histogram bounds, seconds (le).
inline constexpr std::array<double, 12> kDurationBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

const char* ExchangeLabel(int exchange_index);  // ike_sa_init, ike_auth, create_child_sa, informational
const char* RoleLabel(int role_index);          // initiator, responder
const char* ResultLabel(int reason_index);      // success, or the ike::FailureReason's name
const char* DosReasonLabel(int reason_index);   // the ike::DosDropReason's name
inline constexpr int kIkeDropReasonCount = 11;
const char* IkeDropReasonLabel(int reason_index);  // the ike::IkeDropReason's name

// IKE figures for the exporter (a snapshot; monotonic counters never reset).
struct IkeCounters {
  uint64_t negotiations[kExchangeCount][kRoleCount][kFailureReasonCount] = {};
  uint64_t duration_buckets[kExchangeCount][kDurationBuckets.size()] = {};  // not cumulative
  uint64_t duration_count[kExchangeCount] = {};
  double duration_sum_seconds[kExchangeCount] = {};
  uint64_t retransmits[kExchangeCount] = {};
  uint64_t dos_drops[kDosReasonCount] = {};
  uint64_t cookies_sent = 0;
  uint64_t rekeys_ike = 0;
  uint64_t rekeys_child = 0;
  uint64_t ike_sas_established = 0;    // since start
  uint64_t child_sas_established = 0;
};

// A rule that negotiates security and what is up for it: the "configured versus established"
// view (a tunnel that should be up and is not shows at a glance).
struct RuleSaStatus {
  std::string rule;
  bool tunnel = false;          // has a tunnel endpoint (a gateway it should always reach)
  uint32_t ike_sas = 0;         // IKE SAs authenticated under it
  uint32_t child_sas = 0;       // child SAs for it
  // Seconds to the soonest hard expiry among its installed (not yet replaced) child SAs; -1:
  // none. Rekeys start at 85-90% of the lifetime, so a value near 0 is a rekey that failed.
  int64_t min_expire_in_seconds = -1;
};

class IkeRuntime {
 public:
  struct Options {
    std::vector<IpAddress> listen_addresses;  // empty: 0.0.0.0 and ::
    uint16_t ike_port = 500;       // 0: ephemeral (tests)
    uint16_t nat_t_port = 4500;    // 0: ephemeral (tests)
    uint16_t peer_ike_port = 500;  // where we initiate to (tests: the other runtime's port)
    uint16_t peer_nat_t_port = 4500;
    bool force_udp_encapsulation = false;  // ESP in UDP 4500 even without a NAT (ike_sa.h)
    // Non-zero: SO_MARK of the NAT-T sockets (UdpTransportOptions::nat_t_mark): the userspace
    // data path's bypass mark, so that path MTU learned from ICMP about its ESP in UDP lands
    // on the route that ESP uses.
    uint32_t nat_t_socket_mark = 0;
    ike::ConfigBuildOptions build;  // secret reader, timers, cluster peers, identity
    telemetry::EventSink* events = nullptr;  // not owned; ike.* events and negotiation results
    std::unique_ptr<dataplane::Backend> backend;  // owned; default: an in-memory recording one
    // DEBUG ONLY (--debug-export-keys-dir): receives every established IKE SA's and installed
    // ESP SA's keys (key_export.h). Not owned; null (the default): keys never leave the engine.
    KeyExportSink* key_export = nullptr;
  };

  static Result<std::unique_ptr<IkeRuntime>> Start(Options options);
  ~IkeRuntime();
  IkeRuntime(const IkeRuntime&) = delete;
  IkeRuntime& operator=(const IkeRuntime&) = delete;

  // The policy in force changed: new SAs follow it. `policy` null: nothing negotiates.
  void ApplyPolicy(const policy::Policy* policy, const policy::FilterTable& table);
  // Starts an IKE SA with `peer` for `rule`. Returns the IKE SA id.
  Result<std::string> Initiate(const std::string& rule, const IpAddress& peer);
  Result<std::vector<ike::IkeSaSnapshot>> Snapshot();
  Status Delete(const std::string& id);
  // Starts a rekey now (RFC 7296 §1.3.2 / §1.3.3; make-before-break for child SAs).
  Status Rekey(const std::string& id);
  ike::IkeStatisticsSnapshot Statistics();
  std::vector<RuleSaStatus> RuleStatus();
  IkeCounters Counters() const;
  // Sends Delete for every IKE SA and waits (bounded) for the answers; then stops the loop.
  void Drain(std::chrono::milliseconds budget);
  std::vector<std::string> warnings() const;  // from the last ApplyPolicy (e.g. a PSK file)

  uint16_t ike_port() const;
  uint16_t nat_t_port() const;
  dataplane::Backend& backend() { return *backend_; }

 private:
  class Observer;
  class DataPathEvents;  // the data path's acquires and lifetime expiries, onto the loop
  IkeRuntime() = default;
  void Rearm();  // on the loop: wake at the manager's next deadline

  Options options_;
  std::unique_ptr<dataplane::Backend> backend_;
  std::unique_ptr<Observer> observer_;
  std::unique_ptr<net::EventLoop> loop_;
  std::unique_ptr<net::UdpTransport> transport_;
  std::unique_ptr<Random> random_;
  std::unique_ptr<ike::IkeManager> manager_;  // loop thread only
  std::unique_ptr<DataPathEvents> data_path_events_;
  uint64_t wake_id_ = 0;  // loop thread only
  std::chrono::steady_clock::time_point wake_at_{};  // when wake_id_ fires; loop thread only
  mutable std::mutex warnings_mu_;
  std::vector<std::string> warnings_;
};

}  // namespace ipsec::engine::service
