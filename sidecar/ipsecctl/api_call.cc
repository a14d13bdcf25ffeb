#include "sidecar/ipsecctl/api_call.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ipsec::sidecar::ipsecctl {
namespace {

std::string_view TrimSpace(std::string_view s) {
  const char* kSpace = " \t\r\n\f\v";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The token file's content, trimmed. Error: why it could not be read.
Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return MakeError(ErrorCode::kNotFound,
                     "cannot read the token file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream content;
  content << in.rdbuf();
  std::string token(TrimSpace(content.str()));
  if (token.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the token file " + path + " is empty");
  }
  return token;
}

int ExitCodeForStatus(int status) {
  if (status >= 200 && status < 300) return kExitOk;
  if (status == 401) return kExitAuth;
  if (status >= 400 && status < 500) return kExitRejected;
  return kExitServer;
}

}  // namespace

std::string Reply::Revision() const {
  std::string etag = response.Header("ETag");
  if (StartsWith(etag, "W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

Result<api::client::Options> ParseApiAddress(std::string_view api) {
  api::client::Options options;
  std::string_view rest = TrimSpace(api);
  if (StartsWith(rest, "https://")) {
    options.tls = true;
    rest.remove_prefix(8);
  } else if (StartsWith(rest, "http://")) {
    rest.remove_prefix(7);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host = rest;
  std::string_view port;
  if (StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--api: missing ']' in '" + std::string(api) + "'");
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return MakeError(ErrorCode::kInvalidArgument, "--api: expected ':PORT' after ']'");
    }
    if (!after.empty()) port = after.substr(1);
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (rest.find(':') != colon) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--api: write an IPv6 address in brackets: [fd00::1]:9443");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "--api: no host in '" + std::string(api) + "'");
  }
  options.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--api: invalid port '" + std::string(port) + "' (1-65535)");
    }
    options.port = static_cast<uint16_t>(value);
  }
  return options;
}

Result<std::unique_ptr<Api>> Api::Create(const GlobalOptions& global, std::ostream& err) {
  auto parsed = ParseApiAddress(global.api);
  if (!parsed.ok()) return parsed.error();
  api::client::Options options = std::move(parsed.value());
  options.tls = options.tls || global.tls || !global.ca_file.empty() || global.insecure;
  options.ca_file = global.ca_file;
  options.insecure = global.insecure;
  if (global.timeout_seconds <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "--timeout must be positive");
  }
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(global.timeout_seconds * 1000));
  std::string token_note;
  if (!global.token.empty()) {
    options.token = global.token;
  } else if (auto token = ReadTokenFile(global.token_file); token.ok()) {
    options.token = std::move(token.value());
  } else if (global.token_file_given) {
    return token.error();
  } else {
    token_note =
        "no token was sent (" + token.error().message + "); pass --token-file PATH or --token";
  }
  return std::unique_ptr<Api>(new Api(std::move(options), std::move(token_note), err));
}

Reply Api::Call(std::string_view method, const std::string& target, const Json* body,
                const api::client::Headers& headers) {
  std::string text = body ? body->dump() : "";
  auto result = client_.Request(method, target, text, body ? "application/json" : "", headers);
  Reply reply;
  if (!result.ok()) {
    err_ << "ipsecctl: " << result.error().message << "\n";
    reply.exit_code =
        result.error().code == ErrorCode::kUnavailable ? kExitUnreachable : kExitUsage;
    return reply;
  }
  reply.response = std::move(result.value());
  reply.json = Json::parse(reply.response.body, nullptr, /*allow_exceptions=*/false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  reply.exit_code = ExitCodeForStatus(reply.response.status);
  if (reply.exit_code != kExitOk) PrintHttpError(method, target, reply);
  return reply;
}

void Api::PrintHttpError(std::string_view method, const std::string& target, const Reply& reply) {
  const Json* error = nullptr;
  if (reply.json.is_object() && reply.json.contains("error") && reply.json["error"].is_object()) {
    error = &reply.json["error"];
  }
  auto text = [&](const char* key) -> std::string {
    if (!error || !error->contains(key) || !(*error)[key].is_string()) return "";
    return (*error)[key].get<std::string>();
  };
  std::string code = text("code");
  std::string message = text("message");
  std::string path = text("path");
  if (message.empty()) {
    message = std::string(TrimSpace(reply.response.body)).substr(0, 500);
    if (message.empty()) message = "(no error message)";
  }
  int status = reply.response.status;
  std::string what = std::to_string(status) + (code.empty() ? "" : " " + code);
  if (status == 401) {
    err_ << "ipsecctl: authentication failed (" << what << "): " << message << "\n";
    err_ << "  "
         << (token_note_.empty() ? "check the token: --token-file PATH or --token" : token_note_)
         << "\n";
    return;
  }
  const char* verb = status >= 500 ? "the API failed to serve" : "the API rejected";
  err_ << "ipsecctl: " << verb << " " << method << " " << target << " (" << what << "): " << message
       << "\n";
  if (!path.empty()) err_ << "  at " << path << "\n";
}

}  // namespace ipsec::sidecar::ipsecctl
