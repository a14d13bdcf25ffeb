#pragma once

// What a write request carries besides its path: the body (Content-Type, size, JSON or YAML)
// and the If-Match precondition (docs/api.md, "Concurrency").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/handlers/reply.h"
#include "api/handlers/route_table.h"
#include "engine/common/result.h"

namespace ipsec::api::handlers {

// Bodies above this get 413 payload_too_large (the HTTP server enforces the same limit before
// reading, with the same code and message: api/http/session.cc).
inline constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;

enum class BodyFormat {
  kJson,          // application/json only
  kJsonOrYaml,    // policy bodies: also application/yaml (docs/api.md)
};

// The body parsed to JSON, or the response to send instead: 413 (too large), 415 (missing or
// unsupported Content-Type), 400 (empty or malformed, with line and column).
std::variant<Json, Response> ReadBody(const Request& req, BodyFormat format);

// Reads the body (ReadBody) and decodes it with `decode` (a dto::*FromJson). With
// `name_from_path`, an object body without "name" gets the path's name (PUT .../{name}).
template <typename T, typename Decode>
std::variant<T, Response> DecodeBody(const Request& req, BodyFormat format, Decode decode,
                                     const std::string* name_from_path = nullptr) {
  std::variant<Json, Response> body = ReadBody(req, format);
  if (auto* error = std::get_if<Response>(&body)) return std::move(*error);
  Json& json = std::get<Json>(body);
  if (name_from_path != nullptr && json.is_object() && !json.contains("name")) {
    json["name"] = *name_from_path;
  }
  Result<T> decoded = decode(json);
  if (!decoded.ok()) return ErrorReply(req, decoded.error());
  return std::move(decoded).value();
}

// If-Match: absent, "*", or a list of entity tags ("3", "4").
struct IfMatch {
  bool present = false;
  bool any = false;                 // "*"
  std::vector<uint64_t> revisions;  // strong tags that name a revision; others never match
};
IfMatch ParseIfMatch(const Request& req);

// The revision to hand the service as `expected_revision` for a write to policy `name`:
// nullopt without If-Match (unconditional); the current revision when If-Match is "*" or lists
// it; an aborted error (412) when the policy does not exist or If-Match names another revision.
Result<std::optional<uint64_t>> ExpectedRevision(const RequestContext& ctx,
                                                 const std::string& name);

}  // namespace ipsec::api::handlers
