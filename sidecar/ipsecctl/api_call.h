#pragma once

// ipsecctl's connection to the API: the global flags, the token, and one call → exit code.
// A failed call has already written its message (the API's message and JSON path, or why
// the daemon cannot be reached) to the error stream.

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>

#include "api/client/client.h"
#include "engine/common/result.h"
#include "sidecar/ipsecctl/exit_codes.h"

namespace ipsec::sidecar::ipsecctl {

// ordered: tables and -o json keep the API's field order.
using Json = nlohmann::ordered_json;

inline constexpr const char* kDefaultApi = "127.0.0.1:9443";
inline constexpr const char* kDefaultTokenFile = "/var/run/secrets/ipsec-sidecar/token";

struct GlobalOptions {
  std::string api = kDefaultApi;  // HOST:PORT, [V6]:PORT, optionally http:// or https://
  std::string token_file = kDefaultTokenFile;
  bool token_file_given = false;  // by flag or environment: unreadable is then an error
  std::string token;
  bool tls = false;
  std::string ca_file;
  bool insecure = false;
  double timeout_seconds = 30;
  std::string output = "table";  // table | json
};

// "host:port" → client options (host, port, tls). Errors are usage errors.
Result<api::client::Options> ParseApiAddress(std::string_view api);

struct Reply {
  int exit_code = kExitOk;
  api::client::Response response;
  Json json;                     // the body when it is JSON, else null
  std::string Revision() const;  // the ETag without quotes, or ""
};

class Api {
 public:
  // Resolves the endpoint and the token. Errors are usage errors (exit 1).
  static Result<std::unique_ptr<Api>> Create(const GlobalOptions& options, std::ostream& err);

  // One request. On anything but 2xx the error is written to `err` and reply.exit_code says
  // which kind it was.
  Reply Call(std::string_view method, const std::string& target, const Json* body = nullptr,
             const api::client::Headers& headers = {});

 private:
  Api(api::client::Options options, std::string token_note, std::ostream& err)
      : client_(std::move(options)), token_note_(std::move(token_note)), err_(err) {}

  void PrintHttpError(std::string_view method, const std::string& target, const Reply& reply);

  api::client::Client client_;
  std::string token_note_;  // why no token was sent, for the 401 message
  std::ostream& err_;
};

}  // namespace ipsec::sidecar::ipsecctl
