#include "sidecar/app/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "api/handlers/router.h"
#include "api/http/server.h"
#include "engine/crypto/random.h"
#include "engine/dataplane/userspace/userspace_backend.h"
#include "engine/service/engine_service.h"
#include "engine/service/ike_runtime.h"
#include "sidecar/app/certificate_loader.h"
#include "sidecar/app/pod_interfaces.h"
#include "sidecar/app/policy_sources.h"
#include "sidecar/log/ike_log.h"
#include "sidecar/log/json_log.h"
#include "sidecar/log/multi_sink.h"
#include "sidecar/metrics/exporter.h"
#include "sidecar/store/state_store.h"

namespace ipsec::sidecar::app {
namespace {

using engine::telemetry::Event;
using engine::telemetry::EventSink;
using engine::telemetry::Severity;
using Clock = std::chrono::steady_clock;

// Forwards to a sink that exists only later in start-up (the exporter's event counter, which
// needs the service that needs this sink). Thread-safe.
class LateSink final : public EventSink {
 public:
  void Set(EventSink* target) { target_.store(target); }
  void Emit(const Event& e) override {
    if (EventSink* t = target_.load()) t->Emit(e);
  }

 private:
  std::atomic<EventSink*> target_{nullptr};
};

Severity ParseSeverity(const std::string& s) {
  if (s == "debug") return Severity::kDebug;
  if (s == "warning") return Severity::kWarning;
  if (s == "error") return Severity::kError;
  return Severity::kInfo;
}

engine::policy::CompileContext ReadContext(const Config& c) {
  engine::policy::CompileContext ctx;
  ctx.interfaces = ReadPodInterfaces(c.interfaces);
  if (!c.node_address.empty()) ctx.node_address = IpAddress::Parse(c.node_address);
  return ctx;
}

bool SameContext(const engine::policy::CompileContext& a, const engine::policy::CompileContext& b) {
  if (a.node_address != b.node_address || a.interfaces.size() != b.interfaces.size()) return false;
  for (size_t i = 0; i < a.interfaces.size(); ++i) {
    const auto& x = a.interfaces[i];
    const auto& y = b.interfaces[i];
    if (x.name != y.name || x.addresses.size() != y.addresses.size()) return false;
    for (size_t j = 0; j < x.addresses.size(); ++j) {
      if (x.addresses[j].address != y.addresses[j].address ||
          x.addresses[j].prefix_len != y.addresses[j].prefix_len) {
        return false;
      }
    }
  }
  return true;
}

Event HttpLogEvent(const api::http::LogEvent& l) {
  using api::http::LogKind;
  Severity sev = Severity::kDebug;
  if (l.kind == LogKind::kAuthFailure) sev = Severity::kWarning;
  if (l.kind == LogKind::kHandlerException) sev = Severity::kError;
  if (l.kind == LogKind::kServer) sev = Severity::kInfo;
  Event e{std::string("api.") + api::http::LogKindName(l.kind), sev, l.message};
  if (!l.remote.empty()) e.With("remote", l.remote);
  if (!l.method.empty()) e.With("method", l.method).With("target", l.target).With("route", l.route);
  if (l.status != 0) e.With("status", std::to_string(l.status));
  if (l.seconds > 0) e.With("seconds", std::to_string(l.seconds));
  return e;
}

// Reads a preshared key file (a mounted Secret): its content without trailing newlines.
Result<SecretBytes> ReadSecretFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, std::string(strerror(errno)), path);
  std::string content;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0 && content.size() < 65536) content.append(buf, n);
  close(fd);
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
    content.pop_back();
  }
  SecretBytes secret(content);
  explicit_bzero(content.data(), content.size());
  explicit_bzero(buf, sizeof(buf));
  if (secret.empty()) return MakeError(ErrorCode::kInvalidArgument, "the key file is empty", path);
  return secret;
}

using engine::dataplane::userspace::UserspaceBackend;

// The ESP data path --dataplane asks for (docs/dataplane.md). nullptr: the recording one (IKE
// only). "auto" takes userspace when it can (root, /dev/net/tun) and says so either way.
Result<std::unique_ptr<UserspaceBackend>> MakeDataPath(const Config& c, EventSink& events) {
  if (c.dataplane == "recording") return std::unique_ptr<UserspaceBackend>();
  if (c.dataplane == "auto" && (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0)) {
    events.Emit(Event{"dataplane.recording", Severity::kWarning,
                      "no userspace data path (needs root and /dev/net/tun): IKE negotiates, "
                      "no packet is protected"});
    return std::unique_ptr<UserspaceBackend>();
  }
  static engine::crypto::SystemRandom spi_random;  // outlives every backend
  auto backend = UserspaceBackend::Create({.tun_name = c.tun_name,
                                           .tun_mtu = static_cast<int>(c.tun_mtu),
                                           .tx_workers = c.dataplane_workers,
                                           .random = &spi_random});
  if (!backend.ok() && c.dataplane == "auto") {
    events.Emit(Event{"dataplane.recording", Severity::kError,
                      "the userspace data path failed to start; no packet is protected"}
                    .With("error", backend.error().ToString()));
    return std::unique_ptr<UserspaceBackend>();
  }
  return backend;
}

Result<std::unique_ptr<engine::service::IkeRuntime>> StartIke(
    const Config& c, EventSink& events, engine::service::KeyExportSink* key_export,
    std::unique_ptr<engine::dataplane::Backend> backend) {
  engine::service::IkeRuntime::Options o;
  o.backend = std::move(backend);  // null: the recording one
  o.key_export = key_export;       // DEBUG ONLY: null unless --debug-export-keys-dir
  for (const auto& a : c.ike_listen) o.listen_addresses.push_back(*IpAddress::Parse(a));
  o.ike_port = c.ike_port;
  o.nat_t_port = c.nat_t_port;
  o.force_udp_encapsulation = c.force_udp_encapsulation;
  // The data path's ESP-in-UDP sockets join the NAT-T sockets' SO_REUSEPORT group: IKE's carry
  // their mark too, for the path MTU (UdpTransportOptions::nat_t_mark).
  if (o.backend != nullptr) o.nat_t_socket_mark = engine::dataplane::userspace::kBypassMark;
  o.events = &events;
  o.build.read_secret = ReadSecretFile;
  // FAQ 29: read on every policy apply, so rotated Secrets take effect (docs/ike.md).
  o.build.load_certificates = [cert_dir = c.cert_dir,
                               ca_dir = c.ca_dir](std::vector<std::string>* warnings) {
    return LoadCertificates(cert_dir, ca_dir, warnings);
  };
  for (const auto& a : c.cluster_peers) o.build.cluster_peers.push_back(*IpAddress::Parse(a));
  o.build.timers.dpd_interval = std::chrono::seconds(c.dpd_seconds);
  o.build.timers.retransmit_base = std::chrono::milliseconds(c.retransmit_base_ms);
  o.build.timers.retransmit_tries = static_cast<int>(c.retransmit_tries);
  o.build.dos.cookie_threshold = c.dos_cookie_threshold;
  o.build.dos.max_half_open_per_peer = c.dos_max_half_open_per_ip;
  o.build.dos.max_half_open_per_peer_port = c.dos_max_half_open_per_endpoint;
  o.build.dos.max_half_open = c.dos_max_half_open;
  if (!c.local_id.empty()) {
    auto id = engine::ike::Identity::Parse(c.local_id);
    if (!id.ok()) return id.error().WithPathPrefix("--local-id: ");
    o.build.local_identity = *id;
  }
  return engine::service::IkeRuntime::Start(std::move(o));
}

// Start-up failure: said once on stderr in plain words (also when logs are JSON), and logged.
int Fail(EventSink& log, const std::string& what, const Error& error) {
  log.Emit(Event{"daemon.start_failed", Severity::kError, what}.With("error", error.ToString()));
  std::fprintf(stderr, "ipsec-sidecar: %s: %s\n", what.c_str(), error.ToString().c_str());
  return 1;
}

}  // namespace

int Daemon::Run() {
  // Signals are taken synchronously by this thread (sigtimedwait); block them before any other
  // thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  log::JsonLogger logger(
      {.fd = STDERR_FILENO,
       .format = config_.log_format == "text" ? log::LogFormat::kText : log::LogFormat::kJson,
       .min_severity = ParseSeverity(config_.log_level)});
  if (Status s = ValidateConfig(config_); !s.ok())
    return Fail(logger, "invalid configuration", s.error());

  auto ike_log = log::IkeLog::Open({.directory = config_.log_dir});
  if (!ike_log.ok()) return Fail(logger, "cannot rotate the IKE log", ike_log.error());
  LateSink exporter_events;
  log::MultiSink events({&logger, ike_log->get(), &exporter_events});

  // Pod-scope state: a corrupt file stops start-up unless told to start empty.
  auto loaded = store::StateStore::Load(config_.state_dir);
  engine::service::LocalState initial;
  if (loaded.ok()) {
    initial = std::move(loaded).value();
  } else if (config_.start_empty) {
    auto aside = store::StateStore::SetAsideCorrupt(config_.state_dir);
    events.Emit(Event{"daemon.state_discarded", Severity::kError,
                      "starting with no pod-scope policy (--start-empty)"}
                    .With("error", loaded.error().ToString())
                    .With("moved_to", aside.ok() ? *aside : aside.error().ToString()));
  } else {
    return Fail(events,
                "cannot load the pod-scope policy state (start with --start-empty to "
                "discard it)",
                loaded.error());
  }
  auto store = store::StateStore::Open(config_.state_dir, &events);
  if (!store.ok()) return Fail(events, "cannot open the state directory", store.error());

  engine::service::EngineService service({.persistence = store->get(),
                                          .events = &events,
                                          .context = ReadContext(config_),
                                          .initial_state = std::move(initial)});
  service.OnIkeLoggingChanged([&](bool on) {
    if (!on) return (*ike_log)->Disable();
    if (Status s = (*ike_log)->Enable(); !s.ok()) {
      events.Emit(Event{"daemon.ike_log_failed", Severity::kError, s.error().ToString()});
    }
  });

  // DEBUG ONLY (--debug-export-keys-dir): Wireshark key files; outlives the IKE runtime.
  std::unique_ptr<engine::service::KeyFileWriter> key_writer;
  if (config_.ike_enabled && !config_.debug_key_export_dir.empty()) {
    auto writer = engine::service::KeyFileWriter::Open(config_.debug_key_export_dir);
    if (!writer.ok()) return Fail(events, "cannot open --debug-export-keys-dir", writer.error());
    key_writer = std::move(writer).value();
  }
  std::unique_ptr<engine::service::IkeRuntime> ike;
  UserspaceBackend* data_path = nullptr;  // owned by `ike`
  if (config_.ike_enabled) {
    auto backend = MakeDataPath(config_, events);
    if (!backend.ok()) return Fail(events, "cannot start the userspace data path", backend.error());
    data_path = backend->get();
    auto started = StartIke(config_, events, key_writer.get(), std::move(backend).value());
    if (!started.ok()) return Fail(events, "cannot start the IKE engine", started.error());
    ike = std::move(started).value();
    // IKE learns the policy before the data path routes traffic into the TUN: the first packet
    // there raises an acquire, and one that reached IKE without the policy was refused and not
    // asked again for AcquireQueue::kAcquireInterval (2 s more outage after every restart).
    service.AttachIke(ike.get());
    if (data_path != nullptr) {
      // After IKE's NAT-T socket: ours joins its SO_REUSEPORT group (esp_io.h).
      if (Status s = data_path->Start(ike->nat_t_port()); !s.ok()) {
        return Fail(events, "cannot start the userspace data path", s.error());
      }
      service.AttachDataPath(data_path, data_path);
      events.Emit(Event{"dataplane.started", Severity::kInfo, "userspace ESP data path up"}
                      .With("tun", data_path->tun_name())
                      .With("mtu", std::to_string(data_path->tun_mtu()))
                      .With("requested_mtu", std::to_string(config_.tun_mtu)));
    }
  }

  auto exporter = metrics::Exporter::Start(
      {.listen = config_.metrics_listen, .commit = config_.commit, .service = &service});
  if (!exporter.ok()) return Fail(events, "cannot start the metrics exporter", exporter.error());
  exporter_events.Set(&(*exporter)->events());

  auto api_address = ParseHostPort(config_.api_listen);
  api::handlers::Router router(service);
  api::http::Server server(
      {.address = api_address->host,
       .port = api_address->port,
       .io_threads = static_cast<int>(config_.api_threads),
       .token_file = config_.token_file,
       .tls_cert_file = config_.tls_cert,
       .tls_key_file = config_.tls_key},
      [&router](const api::http::Request& req) {
        auto result = router.Handle(req);
        return std::make_pair(std::move(result.response), std::move(result.route));
      },
      [m = exporter->get()](std::string_view method, std::string_view route, int status,
                            double seconds) { m->ObserveRequest(method, route, status, seconds); },
      [&events](const api::http::LogEvent& l) { events.Emit(HttpLogEvent(l)); });
  if (Status s = server.Start(); !s.ok()) return Fail(events, "cannot start the API", s.error());

  PolicySources sources(service, config_.cluster_policy_dir, config_.namespace_policy_dir,
                        std::chrono::seconds(config_.default_poll_seconds));
  sources.ReloadAll("start-up", Clock::now());
  service.SetReady(true);
  events.Emit(Event{"daemon.started", Severity::kInfo, "ipsec-sidecar ready"}
                  .With("api", config_.api_listen + (config_.tls_cert.empty() ? "" : " (TLS)"))
                  .With("metrics", config_.metrics_listen)
                  .With("metrics_port", std::to_string((*exporter)->port()))
                  .With("ike", ike ? "udp " + std::to_string(ike->ike_port()) + "/" +
                                         std::to_string(ike->nat_t_port())
                                   : "off")
                  .With("api_port", std::to_string(server.port()))
                  .With("state", (*store)->file_path()));

  const auto refresh = std::chrono::seconds(config_.interface_refresh_seconds);
  auto next_refresh = Clock::now() + refresh;
  auto next_poll = sources.PollDue(Clock::now());
  for (;;) {
    auto wait = std::min(next_poll, next_refresh) - Clock::now();
    auto ms =
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      events.Emit(Event{"daemon.stopping", Severity::kInfo, "stop signal received"}.With(
          "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
      break;
    }
    if (sig == SIGHUP) sources.ReloadAll("SIGHUP", Clock::now());
    auto now = Clock::now();
    next_poll = sources.PollDue(now);
    if (now >= next_refresh) {
      auto ctx = ReadContext(config_);
      if (!SameContext(ctx, service.GetCompileContext())) {
        if (Status s = service.SetCompileContext(std::move(ctx)); !s.ok()) {
          events.Emit(Event{"daemon.context_failed", Severity::kError, s.error().ToString()});
        }
      }
      next_refresh = now + refresh;
    }
  }
  service.SetReady(false);
  if (ike) {
    // Drain: Deletes for every SA while the API still answers, within the grace period.
    ike->Drain(std::chrono::seconds(config_.drain_seconds));
    service.AttachDataPath(nullptr, nullptr);
    service.AttachIke(nullptr);
  }
  server.Stop();
  events.Emit(Event{"daemon.stopped", Severity::kInfo, "ipsec-sidecar stopped"});
  exporter_events.Set(nullptr);
  return 0;
}

}  // namespace ipsec::sidecar::app
