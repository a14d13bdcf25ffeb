#include "engine/service/ike_runtime.h"

#include <thread>

#include "engine/crypto/random.h"
#include "engine/dataplane/recording_backend.h"
#include "engine/ike/ike_manager.h"
#include "engine/ike/traffic_selectors.h"
#include "engine/net/event_loop.h"
#include "engine/net/source_address.h"
#include "engine/net/udp_transport.h"

namespace ipsec::engine::service {
namespace {

using Clock = std::chrono::steady_clock;
using telemetry::Event;
using telemetry::Severity;

int ExchangeIndex(ike::codec::ExchangeType e) {
  int i = static_cast<int>(e) - static_cast<int>(ike::codec::ExchangeType::kIkeSaInit);
  return i >= 0 && i < kExchangeCount ? i : kExchangeCount - 1;
}

std::string SpiHex(uint32_t spi) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", spi);
  return buf;
}

}  // namespace

const char* ExchangeLabel(int i) {
  static const char* kNames[kExchangeCount] = {"ike_sa_init", "ike_auth", "create_child_sa",
                                               "informational"};
  return i >= 0 && i < kExchangeCount ? kNames[i] : "unknown";
}

// The counter arrays are indexed by these enums: a new value needs a bigger array.
static_assert(static_cast<int>(ike::FailureReason::kUnsupportedAuth) + 1 == kFailureReasonCount);
static_assert(static_cast<int>(ike::DosDropReason::kEvicted) + 1 == kDosReasonCount);
static_assert(static_cast<int>(ike::Role::kResponder) + 1 == kRoleCount);
static_assert(ike::kIkeDropReasonCount == kIkeDropReasonCount);

const char* RoleLabel(int i) {
  return i >= 0 && i < kRoleCount ? ike::Name(static_cast<ike::Role>(i)) : "unknown";
}

const char* ResultLabel(int i) {
  return i >= 0 && i < kFailureReasonCount ? ike::Name(static_cast<ike::FailureReason>(i))
                                           : "unknown";
}

const char* DosReasonLabel(int i) {
  return i >= 0 && i < kDosReasonCount ? ike::Name(static_cast<ike::DosDropReason>(i)) : "unknown";
}

const char* IkeDropReasonLabel(int i) {
  return i >= 0 && i < kIkeDropReasonCount ? ike::Name(static_cast<ike::IkeDropReason>(i))
                                           : "unknown";
}

// Turns what IKE reports into counters and events. Called on the loop thread; Counters() from
// any thread (relaxed atomics: each counter is exact, a snapshot need not be consistent).
class IkeRuntime::Observer final : public ike::IkeObserver {
 public:
  Observer(telemetry::EventSink* events, KeyExportSink* key_export)
      : events_(events), key_export_(key_export) {}

  void OnExchange(ike::codec::ExchangeType exchange, ike::Role role, ike::FailureReason result,
                  std::chrono::nanoseconds duration) override {
    const int e = ExchangeIndex(exchange);
    Add(negotiations_[e][static_cast<int>(role)][static_cast<int>(result)]);
    const double seconds = std::chrono::duration<double>(duration).count();
    // The histogram is the initiator's view, first request to last answer: a responder's
    // exchanges are reported with no duration, and would pile up in the lowest bucket.
    if (role == ike::Role::kInitiator) {
      size_t b = 0;
      while (b < kDurationBuckets.size() && seconds > kDurationBuckets[b]) ++b;
      if (b < kDurationBuckets.size()) Add(duration_buckets_[e][b]);
      Add(duration_count_[e]);
      duration_sum_us_[e].fetch_add(static_cast<uint64_t>(seconds * 1e6),
                                    std::memory_order_relaxed);
    }
    Emit(Event{"ike.negotiation",
               result == ike::FailureReason::kNone ? Severity::kDebug : Severity::kWarning,
               std::string(ExchangeLabel(e)) + " " + ike::Name(role) + ": " + ike::Name(result)}
             .With("exchange", ExchangeLabel(e))
             .With("role", ike::Name(role))
             .With("result", ike::Name(result))
             .With("seconds", std::to_string(seconds)));
  }
  void OnIkeSaUp(const ike::IkeSa& sa) override {
    Add(ike_sas_established_);
    if (key_export_ != nullptr) ExportKeys(sa);
    Emit(Event{"ike.sa_up", Severity::kInfo, "IKE SA established"}
             .With("sa", "ike-" + std::to_string(sa.id))
             .With("peer", sa.remote.ToString())
             .With("remote_id", sa.remote_id.ToString())
             .With("rule", sa.rule)
             .With("algorithms", ike::Describe(sa.algorithms))
             .With("nat", sa.nat_local || sa.nat_remote ? "yes" : "no"));
  }
  void OnIkeSaDown(const ike::IkeSa& sa, const std::string& why) override {
    Emit(Event{"ike.sa_down", Severity::kInfo, "IKE SA removed: " + why}
             .With("sa", "ike-" + std::to_string(sa.id))
             .With("peer", sa.remote.ToString()));
  }
  void OnChildSaUp(const ike::IkeSa& sa, const ike::ChildSa& c) override {
    Add(child_sas_established_);
    Emit(Event{"ike.child_up", Severity::kInfo, "child SA installed"}
             .With("sa", "ike-" + std::to_string(sa.id))
             .With("child", "child-" + std::to_string(c.reqid))
             .With("rule", c.rule)
             .With("algorithms", ike::Describe(c.algorithms))
             .With("spi_in", SpiHex(c.spi_in))
             .With("spi_out", SpiHex(c.spi_out))
             .With("local_ts", ike::ToString(c.local_ts))
             .With("remote_ts", ike::ToString(c.remote_ts)));
  }
  void OnChildSaDown(const ike::IkeSa& sa, const ike::ChildSa& c, const std::string& why) override {
    Emit(Event{"ike.child_down", Severity::kInfo, "child SA removed: " + why}
             .With("sa", "ike-" + std::to_string(sa.id))
             .With("child", "child-" + std::to_string(c.reqid)));
  }
  void OnRetransmit(const ike::IkeSa& sa, ike::codec::ExchangeType exchange) override {
    Add(retransmits_[ExchangeIndex(exchange)]);
    Emit(Event{"ike.retransmit", Severity::kDebug, "retransmitting"}
             .With("sa", "ike-" + std::to_string(sa.id))
             .With("exchange", ExchangeLabel(ExchangeIndex(exchange))));
  }
  void OnDosDrop(ike::DosDropReason reason) override { Add(dos_drops_[static_cast<int>(reason)]); }
  void OnCookieSent() override { Add(cookies_sent_); }
  void OnRekey(bool ike_sa) override { Add(ike_sa ? rekeys_ike_ : rekeys_child_); }
  void OnLog(const ike::IkeSa* sa, const std::string& line) override {
    Event e{"ike.log", Severity::kDebug, line};
    if (sa != nullptr) e.With("sa", "ike-" + std::to_string(sa->id));
    Emit(e);
  }

  IkeCounters Snapshot() const {
    IkeCounters c;
    for (int e = 0; e < kExchangeCount; ++e) {
      for (int r = 0; r < kRoleCount; ++r) {
        for (int f = 0; f < kFailureReasonCount; ++f)
          c.negotiations[e][r][f] = Get(negotiations_[e][r][f]);
      }
      for (size_t b = 0; b < kDurationBuckets.size(); ++b)
        c.duration_buckets[e][b] = Get(duration_buckets_[e][b]);
      c.duration_count[e] = Get(duration_count_[e]);
      c.duration_sum_seconds[e] = static_cast<double>(Get(duration_sum_us_[e])) / 1e6;
      c.retransmits[e] = Get(retransmits_[e]);
    }
    for (int d = 0; d < kDosReasonCount; ++d) c.dos_drops[d] = Get(dos_drops_[d]);
    c.cookies_sent = Get(cookies_sent_);
    c.rekeys_ike = Get(rekeys_ike_);
    c.rekeys_child = Get(rekeys_child_);
    c.ike_sas_established = Get(ike_sas_established_);
    c.child_sas_established = Get(child_sas_established_);
    return c;
  }

 private:
  using Counter = std::atomic<uint64_t>;
  static void Add(Counter& c) { c.fetch_add(1, std::memory_order_relaxed); }
  static uint64_t Get(const Counter& c) { return c.load(std::memory_order_relaxed); }
  void Emit(const Event& e) {
    if (events_ != nullptr) events_->Emit(e);
  }
  // DEBUG ONLY: the IKE SA's keys to the key export (RFC 7296 §2.14 names).
  void ExportKeys(const ike::IkeSa& sa) {
    auto span = [](const SecretBytes& k) { return ByteSpan(k.data(), k.size()); };
    IkeSaKeyExport k;
    k.spi_i = sa.spi_i;
    k.spi_r = sa.spi_r;
    k.encryption_id = static_cast<uint16_t>(sa.algorithms.encryption);
    k.encryption_key_bits = sa.algorithms.encryption_key_bits;
    k.integrity_id = static_cast<uint16_t>(sa.algorithms.integrity);
    k.sk_ei = span(sa.keys.sk_ei);
    k.sk_er = span(sa.keys.sk_er);
    k.sk_ai = span(sa.keys.sk_ai);
    k.sk_ar = span(sa.keys.sk_ar);
    key_export_->ExportIkeSa(k);
  }

  telemetry::EventSink* events_;
  KeyExportSink* key_export_;  // not owned; null unless debugging
  Counter negotiations_[kExchangeCount][kRoleCount][kFailureReasonCount] = {};
  Counter duration_buckets_[kExchangeCount][kDurationBuckets.size()] = {};
  Counter duration_count_[kExchangeCount] = {};
  Counter duration_sum_us_[kExchangeCount] = {};
  Counter retransmits_[kExchangeCount] = {};
  Counter dos_drops_[kDosReasonCount] = {};
  Counter cookies_sent_{0}, rekeys_ike_{0}, rekeys_child_{0};
  Counter ike_sas_established_{0}, child_sas_established_{0};
};

// dataplane::BackendEvents may come from the data path's threads: each is handed to the loop.
class IkeRuntime::DataPathEvents final : public dataplane::BackendEvents {
 public:
  explicit DataPathEvents(IkeRuntime& rt) : rt_(rt) {}
  void OnAcquire(const Acquire& acquire) override {
    rt_.loop_->Post([rt = &rt_, acquire] {
      (void)rt->manager_->OnAcquire(acquire, Clock::now());
      rt->Rearm();
    });
  }
  // Byte (and time) lifetimes the data path counts: soft rekeys, hard deletes (RFC 7296 §2.8).
  void OnExpire(dataplane::SaProtocol protocol, uint32_t spi, bool hard) override {
    rt_.loop_->Post([rt = &rt_, protocol, spi, hard] {
      rt->manager_->OnExpire(protocol, spi, hard, Clock::now());
      rt->Rearm();
    });
  }

 private:
  IkeRuntime& rt_;
};

Result<std::unique_ptr<IkeRuntime>> IkeRuntime::Start(Options options) {
  std::unique_ptr<IkeRuntime> rt(new IkeRuntime());
  // Random SPIs (RFC 4303 §2.1 leaves the choice to the receiver): two daemons with sequential
  // ones would hand out the same SPIs, and an SA pair's inbound and outbound would collide in
  // the recording backend, which keys SAs by (protocol, SPI) alone.
  static crypto::SystemRandom spi_random;  // lives as long as any backend that uses it
  rt->backend_ = options.backend ? std::move(options.backend)
                                 : std::make_unique<dataplane::RecordingBackend>(
                                       dataplane::RecordingBackend::Options{.random = &spi_random});
  rt->options_ = std::move(options);
  rt->random_ = std::make_unique<crypto::SystemRandom>();
  if (rt->options_.key_export != nullptr) {
    // DEBUG ONLY: every SA the data path accepts has its keys written out (key_export.h).
    rt->backend_ =
        std::make_unique<KeyExportingBackend>(std::move(rt->backend_), *rt->options_.key_export);
    if (rt->options_.events != nullptr) {
      rt->options_.events->Emit(Event{"ike.key_export", Severity::kWarning,
                                      "key export on: debug only (session keys are written to "
                                      "Wireshark key files)"});
    }
  }
  rt->observer_ = std::make_unique<Observer>(rt->options_.events, rt->options_.key_export);
  auto loop = net::EventLoop::Create("ipsec-ike");
  if (!loop.ok()) return loop.error();
  rt->loop_ = std::move(loop).value();
  auto transport = net::UdpTransport::Open(
      *rt->loop_, {.local_addresses = rt->options_.listen_addresses,
                   .ike_port = rt->options_.ike_port,
                   .nat_t_port = rt->options_.nat_t_port,
                   // A burst of IKE_SA_INIT requests (hundreds of peers starting at once, or a
                   // load test) overflowed the ~200 KiB default queue and cost the initiators a
                   // retransmit (bench/results/ike-setup-*.txt); 4 MiB holds a few thousand.
                   .receive_buffer_bytes = 4 << 20,
                   .nat_t_mark = rt->options_.nat_t_socket_mark});
  if (!transport.ok()) return transport.error();
  rt->transport_ = std::move(transport).value();
  ike::IkeManager::Options m;
  m.random = rt->random_.get();
  m.observer = rt->observer_.get();
  m.sink = rt->transport_.get();
  m.backend = rt->backend_.get();
  m.nat_t_port = rt->transport_->nat_t_port();
  m.peer_nat_t_port = rt->options_.peer_nat_t_port;
  m.force_udp_encapsulation = rt->options_.force_udp_encapsulation;
  m.local_address_for = [](const IpAddress& peer) -> std::optional<IpAddress> {
    auto a = net::SourceAddressFor(peer);
    return a.ok() ? std::optional<IpAddress>(*a) : std::nullopt;
  };
  rt->manager_ = std::make_unique<ike::IkeManager>(m);
  rt->data_path_events_ = std::make_unique<DataPathEvents>(*rt);
  rt->backend_->SetEvents(rt->data_path_events_.get());
  IkeRuntime* self = rt.get();
  rt->transport_->Start({.ike = [self](net::Datagram d) {
    self->manager_->OnDatagram(d.local, d.remote, d.data, Clock::now());
    self->Rearm();
  }});
  return rt;
}

IkeRuntime::~IkeRuntime() {
  if (backend_) backend_->SetEvents(nullptr);
  if (loop_) loop_->Stop(std::chrono::milliseconds(100));
  transport_.reset();
  manager_.reset();
  loop_.reset();
}

void IkeRuntime::Rearm() {
  auto next = manager_->NextDeadline();
  // Armed for that time already: keep it (after most datagrams the deadline is unchanged, and
  // re-arming cost a timer, a cancelled wait and a timerfd update each time).
  if (wake_id_ != 0 && next == wake_at_) return;
  if (wake_id_ != 0) loop_->CancelWake(wake_id_);
  wake_id_ = 0;
  if (next == Clock::time_point::max()) return;
  wake_at_ = next;
  wake_id_ = loop_->WakeAt(next, [this] {
    wake_id_ = 0;
    manager_->OnTimer(Clock::now());
    Rearm();
  });
}

void IkeRuntime::ApplyPolicy(const policy::Policy* policy, const policy::FilterTable& table) {
  std::vector<std::string> warnings;
  std::shared_ptr<const ike::IkeConfig> config =
      policy != nullptr ? ike::BuildIkeConfig(*policy, table, options_.build, &warnings)
                        : std::make_shared<const ike::IkeConfig>();
  {
    std::lock_guard lock(warnings_mu_);
    warnings_ = warnings;
  }
  for (const auto& w : warnings) {
    if (options_.events) options_.events->Emit(Event{"ike.config_warning", Severity::kWarning, w});
  }
  loop_->Post([this, config] { manager_->SetConfig(config); });
}

Result<std::string> IkeRuntime::Initiate(const std::string& rule, const IpAddress& peer) {
  auto local = net::SourceAddressFor(peer);
  if (!local.ok()) return local.error();
  uint16_t port = transport_->ike_port();
  return loop_->RunSync([&]() -> Result<std::string> {
    auto id = manager_->Initiate(rule, Endpoint{*local, port},
                                 Endpoint{peer, options_.peer_ike_port}, Clock::now());
    Rearm();
    return id;
  });
}

Result<std::vector<ike::IkeSaSnapshot>> IkeRuntime::Snapshot() {
  return loop_->RunSync([&] { return manager_->Snapshot(Clock::now()); });
}

Status IkeRuntime::Delete(const std::string& id) {
  return loop_->RunSync([&]() -> Status {
    Status s = manager_->Delete(id, Clock::now());
    Rearm();
    return s;
  });
}

Status IkeRuntime::Rekey(const std::string& id) {
  return loop_->RunSync([&]() -> Status {
    Status s = manager_->Rekey(id, Clock::now());
    Rearm();
    return s;
  });
}

ike::IkeStatisticsSnapshot IkeRuntime::Statistics() {
  auto s = loop_->RunSync([&] { return manager_->Statistics(); });
  ike::IkeStatisticsSnapshot out = s.ok() ? *s : ike::IkeStatisticsSnapshot{};
  // What the UDP transport discarded before IKE saw it (on the NAT-T port, ESP in UDP too).
  const net::UdpTransportCounters t = transport_->counters();
  const auto add = [&out](ike::IkeDropReason r, uint64_t n) {
    out.datagrams_dropped[static_cast<size_t>(r)] += n;
    out.datagrams_dropped_total += n;
  };
  add(ike::IkeDropReason::kMalformed, t.malformed);
  add(ike::IkeDropReason::kTooLarge, t.too_large);
  add(ike::IkeDropReason::kReceiveQueueFull, t.kernel_drops);
  return out;
}

std::vector<RuleSaStatus> IkeRuntime::RuleStatus() {
  auto r = loop_->RunSync([&] {
    std::vector<RuleSaStatus> out;
    auto config = manager_->config();
    for (const auto& rule : config->rules) {
      out.push_back({rule.name, rule.tunnel_endpoint.has_value(), 0, 0});
    }
    for (const auto& sa : manager_->Snapshot(Clock::now())) {
      for (auto& status : out) {
        if (sa.rule == status.rule && sa.state != "connecting") ++status.ike_sas;
        for (const auto& c : sa.children) {
          if (c.rule != status.rule) continue;
          ++status.child_sas;
          if (c.state == "installed" && c.expire_in_seconds >= 0 &&
              (status.min_expire_in_seconds < 0 ||
               c.expire_in_seconds < status.min_expire_in_seconds)) {
            status.min_expire_in_seconds = c.expire_in_seconds;
          }
        }
      }
    }
    return out;
  });
  return r.ok() ? *r : std::vector<RuleSaStatus>{};
}

IkeCounters IkeRuntime::Counters() const { return observer_->Snapshot(); }

void IkeRuntime::Drain(std::chrono::milliseconds budget) {
  auto deadline = Clock::now() + budget;
  (void)loop_->RunSync([&] {
    manager_->DeleteAll(Clock::now());
    Rearm();
  });
  while (Clock::now() < deadline) {
    auto left = loop_->RunSync([&] { return manager_->sa_count(); });
    if (!left.ok() || *left == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> IkeRuntime::warnings() const {
  std::lock_guard lock(warnings_mu_);
  return warnings_;
}

uint16_t IkeRuntime::ike_port() const { return transport_->ike_port(); }
uint16_t IkeRuntime::nat_t_port() const { return transport_->nat_t_port(); }

}  // namespace ipsec::engine::service
