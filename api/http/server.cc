#include "api/http/server.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <exception>
#include <utility>

#include "api/http/server_context.h"
#include "api/http/session.h"
#include "api/http/tls_context.h"

namespace ipsec::api::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// The I/O objects. The acceptor and the retry timer live on the listener's strand.
struct ServerIo {
  explicit ServerIo(int threads)
      : ioc(std::max(threads, 1)),
        listener_strand(net::make_strand(ioc)),
        acceptor(listener_strand),
        retry_timer(listener_strand) {}

  net::io_context ioc;
  net::strand<net::io_context::executor_type> listener_strand;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
};

const char* LogKindName(LogKind kind) {
  switch (kind) {
    case LogKind::kAccess:
      return "access";
    case LogKind::kAuthFailure:
      return "auth_failure";
    case LogKind::kConnectionError:
      return "connection_error";
    case LogKind::kHandlerException:
      return "handler_exception";
    case LogKind::kServer:
      return "server";
  }
  return "server";
}

uint64_t SessionRegistry::Add(std::weak_ptr<SessionBase> session) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  sessions_.emplace(id, std::move(session));
  return id;
}

void SessionRegistry::Remove(uint64_t id) {
  if (id == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(id);
  if (sessions_.empty()) empty_.notify_all();
}

std::vector<std::shared_ptr<SessionBase>> SessionRegistry::Live() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<SessionBase>> live;
  for (auto& [id, weak] : sessions_) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

size_t SessionRegistry::Size() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

bool SessionRegistry::WaitUntilEmpty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return empty_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
}

void ServerContext::Log(LogEvent event) const {
  if (!log) return;
  try {
    log(event);
  } catch (...) {  // a logging failure must not end a connection
  }
}

bool ServerContext::IsPublic(std::string_view path) const {
  return std::find(options.public_paths.begin(), options.public_paths.end(), path) !=
         options.public_paths.end();
}

Server::Server(Options options, Handler handler, Observer observer, LogHook log)
    : context_(std::make_shared<ServerContext>(std::move(options), std::move(handler),
                                               std::move(observer), std::move(log))) {}

Server::~Server() { Stop(); }

bool Server::tls() const { return context_->tls != nullptr; }

Server::Stats Server::stats() const {
  return Stats{context_->accepted.load(), context_->sessions.Size(), context_->requests.load()};
}

Status Server::Start() {
  try {
    return DoStart();
  } catch (const std::exception& e) {  // no thread, no memory: exceptions stop at this boundary
    Stop();
    return MakeError(ErrorCode::kInternal, std::string("cannot start the API server: ") + e.what());
  }
}

Status Server::DoStart() {
  if (started_) return MakeError(ErrorCode::kFailedPrecondition, "the API server was started");
  const Options& options = context_->options;
  if (!context_->handler) return MakeError(ErrorCode::kInvalidArgument, "no request handler");
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    auto tls = LoadServerTlsContext(options.tls_cert_file, options.tls_key_file);
    if (!tls.ok()) return tls.error();
    context_->tls = std::move(tls.value());
  }
  io_ = std::make_unique<ServerIo>(options.io_threads);
  if (Status listening = Listen(); !listening.ok()) {
    io_.reset();
    return listening;
  }
  started_ = true;
  net::post(io_->listener_strand, [this] { StartAccept(); });
  for (int i = 0; i < std::max(options.io_threads, 1); ++i) {
    threads_.emplace_back([this] { RunIoThread(); });
  }
  context_->Log(LogEvent{LogKind::kServer, "", "", "", "", 0, 0,
                         std::string("listening on ") + options.address + ":" +
                             std::to_string(bound_port_) + (tls() ? " (TLS)" : "")});
  return Status::Ok();
}

Status Server::Listen() {
  const Options& options = context_->options;
  std::string where = options.address + ":" + std::to_string(options.port);
  boost::system::error_code ec;
  net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid listen address '" + options.address + "': not an IP address");
  }
  tcp::endpoint endpoint(address, options.port);
  tcp::acceptor& acceptor = io_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return MakeError(ErrorCode::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  }
  bound_port_ = acceptor.local_endpoint(ec).port();
  return Status::Ok();
}

void Server::StartAccept() {
  io_->acceptor.async_accept(
      net::make_strand(io_->ioc), [this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || context_->stopping) return;
        if (ec) {
          // Out of descriptors, for instance: retry shortly rather than spin.
          context_->Log(
              LogEvent{LogKind::kServer, "", "", "", "", 0, 0, "accept failed: " + ec.message()});
          io_->retry_timer.expires_after(std::chrono::milliseconds(50));
          io_->retry_timer.async_wait([this](boost::system::error_code wait_ec) {
            if (!wait_ec && !context_->stopping) StartAccept();
          });
          return;
        }
        context_->accepted.fetch_add(1, std::memory_order_relaxed);
        StartSession(std::move(socket), context_);
        StartAccept();
      });
}

void Server::RunIoThread() {
  for (;;) {
    try {
      io_->ioc.run();
      return;
    } catch (const std::exception& e) {  // not expected: sessions catch what handlers throw
      context_->Log(LogEvent{LogKind::kServer, "", "", "", "", 0, 0,
                             std::string("I/O thread caught: ") + e.what()});
    }
  }
}

void Server::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  context_->stopping = true;
  net::post(io_->listener_strand, [this] {
    boost::system::error_code ignored;
    io_->acceptor.close(ignored);
    io_->retry_timer.cancel();
  });
  for (auto& session : context_->sessions.Live()) session->BeginShutdown();
  auto deadline = std::chrono::steady_clock::now() + context_->options.shutdown_grace;
  if (!context_->sessions.WaitUntilEmpty(deadline)) {
    context_->Log(LogEvent{LogKind::kServer, "", "", "", "", 0, 0,
                           "closing " + std::to_string(context_->sessions.Size()) +
                               " connection(s) still open after the shutdown grace period"});
    for (auto& session : context_->sessions.Live()) session->ForceClose();
    context_->sessions.WaitUntilEmpty(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  }
  io_->ioc.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  io_.reset();  // destroys what is still queued, and the sessions it holds
  context_->Log(LogEvent{LogKind::kServer, "", "", "", "", 0, 0, "stopped"});
}

}  // namespace ipsec::api::http
