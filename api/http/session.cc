#include "api/http/session.h"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "api/http/error_response.h"

namespace ipsec::api::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using SslStream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

beast::tcp_stream& Lowest(beast::tcp_stream& stream) { return stream; }
beast::tcp_stream& Lowest(SslStream& stream) { return beast::get_lowest_layer(stream); }

std::string RemoteOf(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return "?";
  std::string address = remote.address().to_string();
  if (remote.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(remote.port());
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// Failures that only mean the peer went away or we closed: not worth a log line.
bool IsQuietClose(const beast::error_code& ec) {
  return ec == beast_http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::operation_aborted || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == ssl::error::stream_truncated;
}

// One connection. Every member function but the public ones runs on the session's strand
// (the executor of its socket); completion handlers hold a shared_ptr to the session, so it
// lives exactly as long as an operation is pending.
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... StreamArgs>
  Session(std::shared_ptr<ServerContext> context, std::string remote, StreamArgs&&... args)
      : stream_(std::forward<StreamArgs>(args)...),
        context_(std::move(context)),
        remote_(std::move(remote)) {}

  ~Session() override { context_->sessions.Remove(id_); }

  // Any thread.
  void Run() {
    id_ = context_->sessions.Add(this->weak_from_this());
    net::dispatch(Lowest(stream_).get_executor(),
                  beast::bind_front_handler(&Session::OnRun, this->shared_from_this()));
  }

  void BeginShutdown() override {
    net::post(Lowest(stream_).get_executor(), [self = this->shared_from_this()] {
      bool idle = self->state_ == State::kAwaitHeader && self->buffer_.size() == 0 &&
                  !(self->parser_ && self->parser_->got_some());
      if (idle || self->state_ == State::kHandshake) Lowest(self->stream_).cancel();
    });
  }

  void ForceClose() override {
    net::post(Lowest(stream_).get_executor(),
              [self = this->shared_from_this()] { Lowest(self->stream_).close(); });
  }

 private:
  enum class State { kHandshake, kAwaitHeader, kBusy, kClosing };
  using Parser = beast_http::request_parser<beast_http::string_body>;

  void OnRun() {
    if (context_->stopping) return;  // accepted while Stop() ran: just close
    if constexpr (std::is_same_v<Stream, SslStream>) {
      state_ = State::kHandshake;
      Lowest(stream_).expires_after(context_->options.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      ReadHeader();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return Fail(ec, "TLS handshake");
    ReadHeader();
  }

  void ReadHeader() {
    state_ = State::kAwaitHeader;
    parser_.emplace();
    parser_->body_limit(context_->options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(context_->options.header_limit));
    Lowest(stream_).expires_after(first_request_ ? context_->options.read_timeout
                                                 : context_->options.idle_timeout);
    beast_http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    first_request_ = false;
    if (ec) return OnReadError(ec);
    state_ = State::kBusy;
    started_ = Clock::now();
    const Request& request = parser_->get();
    method_ = std::string(request.method_string());
    target_ = std::string(PathOf(request.target()));
    if (!context_->IsPublic(target_) && !Authorize(request)) return;
    if (parser_->is_done()) return Dispatch();
    if (beast::iequals(request[beast_http::field::expect], "100-continue")) {
      continue_.emplace(beast_http::status::continue_, request.version());
      Lowest(stream_).expires_after(context_->options.write_timeout);
      return beast_http::async_write(
          stream_, *continue_,
          beast::bind_front_handler(&Session::OnContinueWritten, this->shared_from_this()));
    }
    ReadBody();
  }

  void OnContinueWritten(beast::error_code ec, std::size_t) {
    if (ec) return Fail(ec, "write 100-continue");
    ReadBody();
  }

  void ReadBody() {
    Lowest(stream_).expires_after(context_->options.read_timeout);
    beast_http::async_read(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
  }

  void OnBody(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    Dispatch();
  }

  // A failed header or body read: answer what deserves an answer, then close.
  void OnReadError(beast::error_code ec) {
    if (ec == beast_http::error::body_limit) {
      // The code docs/api.md gives 413, as the handlers' own check (request_body.cc) answers.
      return RejectRequest(beast_http::status::payload_too_large, "payload_too_large",
                           "the request body is larger than the limit of " +
                               std::to_string(context_->options.body_limit) + " bytes");
    }
    if (ec == beast_http::error::header_limit) {
      return RejectRequest(beast_http::status::request_header_fields_too_large, "invalid_argument",
                           "the request header is too large");
    }
    if (ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category() &&
        ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message) {
      return RejectRequest(beast_http::status::bad_request, "invalid_argument",
                           "malformed HTTP request: " + ec.message());
    }
    bool waiting =
        state_ == State::kAwaitHeader && buffer_.size() == 0 && !(parser_ && parser_->got_some());
    if (ec == beast::error::timeout && waiting) return Close();  // idle keep-alive expired
    Fail(ec, state_ == State::kAwaitHeader ? "read request header" : "read request body");
  }

  void RejectRequest(beast_http::status status, std::string_view code, std::string message) {
    state_ = State::kBusy;
    unread_input_ = true;
    started_ = Clock::now();
    Log(LogKind::kConnectionError, static_cast<int>(status), message);
    Reply(MakeErrorResponse(status, code, message), std::string(kServerRoute), true);
  }

  // The token check, before the body is read. False: a response is on its way.
  bool Authorize(const Request& request) {
    TokenAuth::Decision decision = context_->auth.Check(request[beast_http::field::authorization]);
    if (decision.outcome == TokenAuth::Outcome::kOk) return true;
    Response response;
    if (decision.outcome == TokenAuth::Outcome::kNoToken) {
      response = MakeErrorResponse(beast_http::status::service_unavailable, "unavailable",
                                   decision.message, request.version());
    } else {
      response = MakeErrorResponse(beast_http::status::unauthorized, "unauthenticated",
                                   decision.message, request.version());
      response.set(beast_http::field::www_authenticate,
                   decision.outcome == TokenAuth::Outcome::kWrongCredentials
                       ? "Bearer error=\"invalid_token\""
                       : "Bearer");
    }
    Log(LogKind::kAuthFailure, response.result_int(), decision.message);
    // The body was not read: the connection cannot carry another request unless it had none.
    unread_input_ = !parser_->is_done();
    Reply(std::move(response), std::string(kServerRoute), unread_input_);
    return false;
  }

  void Dispatch() {
    context_->requests.fetch_add(1, std::memory_order_relaxed);
    bool keep_alive = parser_->get().keep_alive();
    unsigned version = parser_->get().version();
    std::pair<Response, std::string> result;
    try {
      result = context_->handler(parser_->get());
      result.first.version(version);
      result.first.prepare_payload();  // throws on a body a 204/304 may not carry
    } catch (const std::exception& e) {
      Log(LogKind::kHandlerException, 500, std::string("handler threw: ") + e.what());
      result = {MakeErrorResponse(beast_http::status::internal_server_error, "internal",
                                  "internal error while serving the request", version),
                std::string(kServerRoute)};
    } catch (...) {
      Log(LogKind::kHandlerException, 500, "handler threw a non-exception");
      result = {MakeErrorResponse(beast_http::status::internal_server_error, "internal",
                                  "internal error while serving the request", version),
                std::string(kServerRoute)};
    }
    parser_.reset();
    Reply(std::move(result.first), std::move(result.second), !keep_alive);
  }

  void Reply(Response&& response, std::string route, bool close) {
    response_ = std::move(response);
    route_ = std::move(route);
    close_after_write_ = close || context_->stopping;
    response_.keep_alive(!close_after_write_);
    if (response_.find(beast_http::field::server) == response_.end()) {
      response_.set(beast_http::field::server, "ipsec-sidecar");
    }
    Lowest(stream_).expires_after(context_->options.write_timeout);
    beast_http::async_write(stream_, response_,
                            beast::bind_front_handler(&Session::OnWrite, this->shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    int status = response_.result_int();
    if (context_->observer) {
      try {
        context_->observer(method_, route_, status, seconds);
      } catch (...) {  // a metrics hook must not end the connection
      }
    }
    LogEvent access{LogKind::kAccess, remote_, method_, target_, route_, status, seconds, ""};
    if (ec) access.message = "write failed: " + ec.message();
    context_->Log(std::move(access));
    response_ = {};
    if (ec) return Close();
    if (close_after_write_ || context_->stopping) return Close();
    ReadHeader();
  }

  void Fail(beast::error_code ec, std::string_view what) {
    if (!IsQuietClose(ec)) {
      Log(LogKind::kConnectionError, 0, std::string(what) + ": " + ec.message());
    }
    Close();
  }

  void Close() {
    state_ = State::kClosing;
    beast::error_code ignored;
    if constexpr (std::is_same_v<Stream, SslStream>) {
      Lowest(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { Lowest(self->stream_).close(); });
    } else {
      Lowest(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (unread_input_) Linger();
    }
  }

  // Closing a socket with unread input makes the kernel send RST, which can destroy the
  // response before the client reads it. So after a response that left the request unread
  // (401 before the body, 413, 400) discard input until the client closes, for a short while.
  void Linger() {
    Lowest(stream_).expires_after(std::chrono::seconds(1));
    Lowest(stream_).async_read_some(net::buffer(scratch_), [self = this->shared_from_this()](
                                                               beast::error_code ec, std::size_t) {
      if (!ec) self->Linger();
    });
  }

  void Log(LogKind kind, int status, std::string message) {
    context_->Log(LogEvent{kind, remote_, method_, target_, std::string(kServerRoute), status, 0,
                           std::move(message)});
  }

  Stream stream_;
  const std::shared_ptr<ServerContext> context_;
  const std::string remote_;
  uint64_t id_ = 0;  // in context_->sessions; set by Run()
  State state_ = State::kAwaitHeader;
  bool first_request_ = true;
  bool close_after_write_ = false;
  bool unread_input_ = false;         // closing after a request that was not read to its end
  std::array<char, 4096> scratch_{};  // Linger()'s discarded input
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::optional<beast_http::response<beast_http::empty_body>> continue_;
  Response response_;
  std::string method_;
  std::string target_;
  std::string route_;
  Clock::time_point started_{};
};

}  // namespace

void StartSession(tcp::socket&& socket, std::shared_ptr<ServerContext> context) {
  std::string remote = RemoteOf(socket);
  if (context->tls) {
    ssl::context& tls = *context->tls;
    std::make_shared<Session<SslStream>>(std::move(context), std::move(remote), std::move(socket),
                                         tls)
        ->Run();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(std::move(context), std::move(remote),
                                                 std::move(socket))
        ->Run();
  }
}

}  // namespace ipsec::api::http
