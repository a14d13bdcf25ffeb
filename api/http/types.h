#pragma once

// The types the HTTP server shares with whoever wires it (the daemon): the request and
// response messages, the request handler, and the observation hooks. Nothing here owns a
// socket; api/handlers produces responses without depending on this module, and the daemon
// adapts its Router to `Handler`.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace ipsec::api::http {

namespace beast_http = boost::beast::http;

using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

// A pure request → response function. The second element is the route template that served
// the request ("/v1/policies/{name}"), a label for metrics and logs; it must come from a small
// fixed set. The server sets Content-Length, keep-alive and the HTTP version on the response.
// Called on the session's strand, on one of the server's I/O threads: it may block, but every
// blocked call holds one I/O thread. An exception it throws becomes a 500 JSON error.
using Handler = std::function<std::pair<Response, std::string>(const Request&)>;

// Route label of responses the server produces itself, without calling the handler: 401/503
// from the auth check, 400/413/431 for unreadable requests, 500 for a handler that threw.
inline constexpr std::string_view kServerRoute = "(server)";

// Called after each response has been written (or failed to be written): method ("GET"),
// route label, status code, seconds from the complete request header to the response written.
// Called on I/O threads, concurrently from several sessions: it must be thread-safe.
using Observer = std::function<void(std::string_view method, std::string_view route, int status,
                                    double seconds)>;

enum class LogKind {
  kAccess,            // one per response written
  kAuthFailure,       // 401 or 503 from the token check
  kConnectionError,   // timeout, TLS handshake failure, malformed request, write failure
  kHandlerException,  // the handler threw; the client got a 500
  kServer,            // listener events: started, accept errors, stop
};

const char* LogKindName(LogKind kind);

// One log event. It never carries the Authorization header or a body; `target` is the path
// without its query string.
struct LogEvent {
  LogKind kind = LogKind::kAccess;
  std::string remote;  // "127.0.0.1:51234", empty for server events
  std::string method;
  std::string target;
  std::string route;
  int status = 0;
  double seconds = 0;
  std::string message;
};

// Same threading contract as Observer.
using LogHook = std::function<void(const LogEvent&)>;

}  // namespace ipsec::api::http
