#include "api/client/client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <optional>

#include "engine/common/secret_bytes.h"

namespace ipsec::api::client {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using SslStream = beast::ssl_stream<beast::tcp_stream>;
using HttpRequest = bhttp::request<bhttp::string_body>;

constexpr uint64_t kResponseBodyLimit = 256 * 1024 * 1024;

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

std::string Seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

// The server closed a reused keep-alive connection before answering: worth one retry.
bool IsStaleConnection(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == bhttp::error::partial_message || ec == ssl::error::stream_truncated;
}

}  // namespace

std::string Response::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return "";
}

std::string EscapePathSegment(std::string_view segment) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

struct Client::Impl {
  explicit Impl(Options options_in) : options(std::move(options_in)), token(options.token) {
    options.token.clear();
    if (options.tls) SetUpTls();
  }

  void SetUpTls();
  std::string Where() const {
    bool v6 = options.host.find(':') != std::string::npos;
    return (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
  }
  Error Unreachable(std::string_view what) const {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot reach the ipsec-sidecar API at " + Where() + ": " + std::string(what));
  }
  beast::tcp_stream& Lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  bool Connected() const { return plain || secure; }
  void Disconnect() {
    plain.reset();
    secure.reset();
    buffer.clear();
    requests_on_connection = 0;
  }

  // Starts one asynchronous operation and runs the io_context until it completes (or its
  // tcp_stream deadline cancels it). Returns the operation's error.
  template <class Start>
  beast::error_code RunOne(Start start) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  Result<Response> Send(std::string_view method, std::string_view target, std::string_view body,
                        std::string_view content_type, const Headers& headers);
  Status Connect();
  Status Handshake();
  Result<Response> Exchange(const HttpRequest& request, bool& retryable);
  Error TransportError(std::string_view stage, const beast::error_code& ec) const;

  Options options;
  SecretBytes token;
  net::io_context ioc;
  std::unique_ptr<ssl::context> tls_context;
  std::string tls_setup_error;
  std::unique_ptr<beast::tcp_stream> plain;  // one of plain and secure, while connected
  std::unique_ptr<SslStream> secure;
  beast::flat_buffer buffer;
  int requests_on_connection = 0;
};

void Client::Impl::SetUpTls() {
  tls_context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls_context->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (options.insecure) {
    tls_context->set_verify_mode(ssl::verify_none, ec);
    return;
  }
  tls_context->set_verify_mode(ssl::verify_peer, ec);
  if (!options.ca_file.empty()) {
    tls_context->load_verify_file(options.ca_file, ec);
    if (ec) {
      tls_setup_error = "cannot load the CA file '" + options.ca_file + "': " + ec.message();
    }
  } else {
    tls_context->set_default_verify_paths(ec);
  }
}

Status Client::Impl::Connect() {
  Disconnect();
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  beast::error_code ec = RunOne([&](auto handler) {
    resolver.async_resolve(
        options.host, std::to_string(options.port),
        [&endpoints, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
          endpoints = std::move(r);
          handler(e);
        });
  });
  if (ec) return Unreachable("cannot resolve '" + options.host + "': " + ec.message());
  if (options.tls) {
    secure = std::make_unique<SslStream>(ioc, *tls_context);
  } else {
    plain = std::make_unique<beast::tcp_stream>(ioc);
  }
  Lowest().expires_after(options.timeout);
  ec = RunOne([&](auto handler) { Lowest().async_connect(endpoints, handler); });
  if (ec) {
    Disconnect();
    if (ec == net::error::connection_refused) {
      return Unreachable("connection refused — is the daemon running?");
    }
    if (ec == beast::error::timeout)
      return Unreachable("timed out after " + Seconds(options.timeout) + " connecting");
    return Unreachable(ec.message());
  }
  return options.tls ? Handshake() : Status::Ok();
}

Status Client::Impl::Handshake() {
  SSL* handle = secure->native_handle();
  if (!options.insecure) {
    if (IsIpLiteral(options.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), options.host.c_str());
    } else {
      SSL_set_tlsext_host_name(handle, options.host.c_str());
      SSL_set1_host(handle, options.host.c_str());
    }
  }
  Lowest().expires_after(options.timeout);
  beast::error_code ec =
      RunOne([&](auto handler) { secure->async_handshake(ssl::stream_base::client, handler); });
  if (!ec) return Status::Ok();
  long verify = SSL_get_verify_result(handle);
  std::string what = "TLS handshake failed: ";
  if (verify != X509_V_OK) {
    what += std::string("the server's certificate is not trusted (") +
            X509_verify_cert_error_string(verify) +
            ") — pass --ca-file with the CA that issued it, or --insecure";
  } else if (ec == beast::error::timeout) {
    what += "timed out after " + Seconds(options.timeout);
  } else {
    what += ec.message() + " (does the API speak TLS? without --tls the client uses plain HTTP)";
  }
  Disconnect();
  return Unreachable(what);
}

Error Client::Impl::TransportError(std::string_view stage, const beast::error_code& ec) const {
  if (ec == beast::error::timeout) {
    return Unreachable("timed out after " + Seconds(options.timeout) + " " + std::string(stage));
  }
  std::string hint;
  if (!options.tls &&
      (IsStaleConnection(ec) ||
       ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())) {
    hint = " (if the API uses TLS, pass --tls)";
  }
  return Unreachable("connection failed " + std::string(stage) + ": " + ec.message() + hint);
}

Result<Response> Client::Impl::Exchange(const HttpRequest& request, bool& retryable) {
  retryable = false;
  bool reused = requests_on_connection > 0;
  ++requests_on_connection;
  Lowest().expires_after(options.timeout);
  beast::error_code ec = RunOne([&](auto handler) {
    if (secure) return bhttp::async_write(*secure, request, handler);
    bhttp::async_write(*plain, request, handler);
  });
  if (ec) {
    retryable = reused;
    return TransportError("sending the request", ec);
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kResponseBodyLimit);
  if (request.method() == bhttp::verb::head) parser.skip(true);  // no body follows
  Lowest().expires_after(options.timeout);
  ec = RunOne([&](auto handler) {
    if (secure) return bhttp::async_read(*secure, buffer, parser, handler);
    bhttp::async_read(*plain, buffer, parser, handler);
  });
  if (ec) {
    retryable = reused && IsStaleConnection(ec) && !parser.got_some();
    return TransportError("waiting for the response", ec);
  }
  bhttp::response<bhttp::string_body> message = parser.release();
  Response response;
  response.status = message.result_int();
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(message.body());
  if (!message.keep_alive()) Disconnect();
  return response;
}

Client::Client(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

std::string Client::endpoint() const { return impl_->Where(); }

Result<Response> Client::Request(std::string_view method, std::string_view target,
                                 std::string_view body, std::string_view content_type,
                                 const Headers& headers) {
  try {
    return impl_->Send(method, target, body, content_type, headers);
  } catch (const std::exception& e) {  // a malformed header, no memory: an Error, not a throw
    impl_->Disconnect();
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("cannot send the request: ") + e.what());
  }
}

Result<Response> Client::Impl::Send(std::string_view method, std::string_view target,
                                    std::string_view body, std::string_view content_type,
                                    const Headers& headers) {
  Impl& impl = *this;
  bhttp::verb verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown HTTP method '" + std::string(method) + "'");
  }
  if (target.empty() || target.front() != '/') {
    return MakeError(ErrorCode::kInvalidArgument, "a request target must start with '/'");
  }
  if (!impl.tls_setup_error.empty()) return impl.Unreachable(impl.tls_setup_error);
  HttpRequest request(verb, target, 11);
  request.set(bhttp::field::host, impl.Where());
  request.set(bhttp::field::user_agent, "ipsecctl");
  request.set(bhttp::field::accept, "application/json");
  if (!impl.token.empty()) {
    request.set(bhttp::field::authorization, "Bearer " + std::string(impl.token.view()));
  }
  if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::string(body);
  request.keep_alive(true);
  request.prepare_payload();
  for (int attempt = 0;; ++attempt) {
    if (!impl.Connected()) {
      if (Status connected = impl.Connect(); !connected.ok()) return connected.error();
    }
    bool retryable = false;
    Result<Response> response = impl.Exchange(request, retryable);
    if (response.ok()) return response;
    impl.Disconnect();
    if (!retryable || attempt > 0) return response;
  }
}

}  // namespace ipsec::api::client
