#pragma once

// A synchronous HTTP/1.1 client for the ipsec-sidecar REST API (docs/api.md), used by
// ipsecctl. One connection, kept alive across requests and re-opened when the server has
// closed it. Transport failures come back as Errors a person can act on (kUnavailable:
// daemon not running, timeout, TLS failure); HTTP errors are not Errors: the caller gets the
// status and the API's error body.
//
// Threading: a Client is used from one thread at a time. It runs its own io_context only
// inside Request().

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/result.h"

namespace ipsec::api::client {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Options {
  std::string host = "127.0.0.1";  // a name or an IP literal (no brackets)
  uint16_t port = 9443;
  std::string token;  // sent as "Authorization: Bearer <token>" when not empty
  bool tls = false;
  std::string ca_file;                        // PEM; empty: the system's trust store
  bool insecure = false;                      // TLS without verifying the server's certificate
  std::chrono::milliseconds timeout{30'000};  // for each of connect, handshake, write, read
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;

  // The first header named `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and reads the whole response. `method` is "GET", "PUT", …; `target`
  // the path and query, already percent-encoded. Errors: kInvalidArgument for a bad method
  // or target, kUnavailable for every transport failure (with the endpoint and a hint).
  Result<Response> Request(std::string_view method, std::string_view target,
                           std::string_view body = {}, std::string_view content_type = {},
                           const Headers& headers = {});

  // "host:port" as in error messages.
  std::string endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes one path segment (a policy name) for a target.
std::string EscapePathSegment(std::string_view segment);

}  // namespace ipsec::api::client
