// ipsec-injector: the sidecar injection webhook (injector.h says what it does). Serves
// POST /mutate/namespace and /mutate/annotated over HTTPS (the Kubernetes API server calls
// admission webhooks only over TLS), and /healthz, /readyz. One JSON line per decision on
// stdout; the pods' specs are not logged.
//
//   ipsec-injector --template /etc/ipsec-injector/sidecar-template.yaml
//                  --tls-cert /tls/tls.crt --tls-key /tls/tls.key [--listen 0.0.0.0:8443]

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include "api/http/server.h"
#include "sidecar/injector/injector.h"

namespace {

using ipsec::sidecar::injector::Json;
using ipsec::sidecar::injector::Mode;
namespace http = ipsec::api::http;

http::Response JsonResponse(const http::Request& req, int status, const Json& body) {
  http::Response res{static_cast<http::beast_http::status>(status), req.version()};
  res.set(http::beast_http::field::content_type, "application/json");
  res.body() = body.dump();
  return res;
}

std::mutex log_mutex;
void Log(const Json& line) {
  std::lock_guard<std::mutex> lock(log_mutex);
  std::cout << line.dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ipsec-injector: adds the ipsec-sidecar container to pods (admission webhook)"};
  std::string listen = "0.0.0.0:8443", template_file, tls_cert, tls_key;
  bool insecure = false;
  app.add_option("--listen", listen, "HOST:PORT (IPv4 literal host)")->capture_default_str();
  app.add_option("--template", template_file, "The sidecar template (YAML or JSON)")->required();
  app.add_option("--tls-cert", tls_cert, "PEM certificate the API server trusts");
  app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert");
  app.add_flag("--insecure-http", insecure, "Serve plain HTTP (tests only)");
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(template_file);
  if (!in) {
    std::cerr << "ipsec-injector: cannot read the template " << template_file << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto tmpl = ipsec::sidecar::injector::ParseTemplate(text.str());
  if (!tmpl.ok()) {
    std::cerr << "ipsec-injector: " << template_file << ": " << tmpl.error().ToString() << "\n";
    return 2;
  }
  if (!insecure && (tls_cert.empty() || tls_key.empty())) {
    std::cerr << "ipsec-injector: --tls-cert and --tls-key are required (the API server calls "
                 "webhooks over HTTPS); --insecure-http is for tests\n";
    return 2;
  }
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "ipsec-injector: --listen must be HOST:PORT\n";
    return 2;
  }
  int port = std::atoi(listen.c_str() + colon + 1);
  if (port < 0 || port > 65535) {
    std::cerr << "ipsec-injector: bad port in --listen\n";
    return 2;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  http::Server server(
      {.address = listen.substr(0, colon),
       .port = static_cast<uint16_t>(port),
       .public_paths = {"/mutate/namespace", "/mutate/annotated", "/healthz", "/readyz"},
       .tls_cert_file = tls_cert,
       .tls_key_file = tls_key,
       .body_limit = 4 * 1024 * 1024},
      [&tmpl](const http::Request& req) -> std::pair<http::Response, std::string> {
        std::string target(req.target());
        if (target == "/healthz" || target == "/readyz") {
          return {JsonResponse(req, 200, Json{{"status", "ok"}}), target};
        }
        std::optional<Mode> mode;
        if (target.rfind("/mutate/namespace", 0) == 0) mode = Mode::kNamespace;
        if (target.rfind("/mutate/annotated", 0) == 0) mode = Mode::kAnnotated;
        if (!mode) return {JsonResponse(req, 404, Json{{"error", "not found"}}), "(other)"};
        const std::string route =
            *mode == Mode::kNamespace ? "/mutate/namespace" : "/mutate/annotated";
        if (req.method() != http::beast_http::verb::post) {
          return {JsonResponse(req, 405, Json{{"error", "POST an AdmissionReview"}}), route};
        }
        auto out = ipsec::sidecar::injector::Review(req.body(), *mode, *tmpl);
        if (!out.ok()) {
          Log(Json{{"event", "injector.bad_request"}, {"error", out.error().ToString()}});
          return {JsonResponse(req, 400, Json{{"error", out.error().ToString()}}), route};
        }
        const Json& r = (*out)["response"];
        Log(Json{
            {"event", "injector.review"},
            {"uid", r.value("uid", "")},
            {"allowed", r.value("allowed", false)},
            {"patched", r.contains("patch")},
            {"reason",
             r.contains("auditAnnotations") ? r["auditAnnotations"].value("injection", "") : ""}});
        return {JsonResponse(req, 200, *out), route};
      });
  if (auto s = server.Start(); !s.ok()) {
    std::cerr << "ipsec-injector: " << s.error().ToString() << "\n";
    return 1;
  }
  Log(Json{{"event", "injector.started"},
           {"port", server.port()},
           {"tls", server.tls()},
           {"template", template_file}});
  int sig = 0;
  sigwait(&signals, &sig);
  server.Stop();
  Log(Json{{"event", "injector.stopped"}});
  return 0;
}
