#pragma once

// The REST API's HTTP/1.1 server (Boost.Beast, asynchronous, after Beast's advanced server
// examples). It owns the listener, the sessions and the I/O threads; it knows nothing of
// routes or JSON: every authenticated request goes to one `Handler` (the daemon adapts
// api/handlers' Router to it).
//
// Per request: the header is read (timeout `read_timeout`, or `idle_timeout` while a
// keep-alive connection waits for its next request); unless its path is public, the bearer
// token is checked before the body is read (401 with `WWW-Authenticate: Bearer`, or 503 when
// the daemon has no token); a body over `body_limit` gets 413; then the handler runs and the
// response is written (timeout `write_timeout`). Keep-alive follows HTTP/1.1.
//
// Threading: Start() and Stop() are called from one controlling thread (not from a handler).
// Each session runs on its own strand; the listener on another. Handler, Observer and LogHook
// are called on I/O threads, concurrently across sessions.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/http/types.h"
#include "engine/common/result.h"

namespace ipsec::api::http {

struct ServerContext;
struct ServerIo;

class Server {
 public:
  struct Options {
    std::string address = "127.0.0.1";  // an IP literal (v4 or v6)
    uint16_t port = 9443;               // 0: an ephemeral port, see port()
    int io_threads = 2;
    // The bearer token's file. Empty, missing or empty file: guarded routes answer 503.
    std::string token_file;
    // Exact paths (without query) served without a token.
    std::vector<std::string> public_paths = {"/healthz", "/readyz"};
    // Both set: the listener speaks only TLS (1.2 or later). PEM files.
    std::string tls_cert_file;
    std::string tls_key_file;
    std::chrono::milliseconds read_timeout{30'000};   // TLS handshake, header, body
    std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{30'000};  // writing one response
    std::chrono::milliseconds shutdown_grace{5'000};  // Stop(): time for in-flight requests
    size_t body_limit = 16 * 1024 * 1024;             // larger bodies: 413
    size_t header_limit = 16 * 1024;                  // larger headers: 431
  };

  // Counters for tests and metrics. Any thread.
  struct Stats {
    uint64_t connections_accepted = 0;
    uint64_t connections_open = 0;
    uint64_t requests = 0;
  };

  // `observer` and `log` may be empty.
  Server(Options options, Handler handler, Observer observer = {}, LogHook log = {});
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the I/O threads. Fails with a clear message when the address
  // does not parse, the port cannot be bound or the TLS files cannot be loaded. Call once.
  Status Start();

  // Stops accepting, closes idle keep-alive connections at once, lets requests in flight
  // finish within `shutdown_grace` (their responses say `Connection: close`), then closes
  // what is left and joins the I/O threads. A handler still running at the deadline is waited
  // for (it cannot be interrupted). Idempotent.
  void Stop();

  // The bound port (useful with port 0). Valid after a successful Start().
  uint16_t port() const { return bound_port_; }
  bool tls() const;
  Stats stats() const;

 private:
  Status DoStart();  // Start() without the exception guard
  Status Listen();
  void StartAccept();  // on the listener's strand
  void RunIoThread();

  std::shared_ptr<ServerContext> context_;
  std::unique_ptr<ServerIo> io_;  // io_context, acceptor; created by Start()
  uint16_t bound_port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ipsec::api::http
