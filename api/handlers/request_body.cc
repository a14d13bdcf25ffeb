#include "api/handlers/request_body.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace ipsec::api::handlers {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Application/JSON; charset=utf-8" -> "application/json".
std::string MediaType(std::string_view header) {
  std::string_view type = Trim(header.substr(0, header.find(';')));
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsYaml(const std::string& type) {
  return type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml" ||
         type == "text/x-yaml";
}

// A strong entity tag holding a revision: "12". Anything else (weak, not a number) is nullopt.
std::optional<uint64_t> TagRevision(std::string_view tag) {
  if (tag.size() < 3 || tag.front() != '"' || tag.back() != '"') return std::nullopt;
  std::string_view digits = tag.substr(1, tag.size() - 2);
  if (digits.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

std::variant<Json, Response> ReadBody(const Request& req, BodyFormat format) {
  const std::string& body = req.body();
  if (body.size() > kMaxBodyBytes) {
    return StatusReply(
        req, beast_http::status::payload_too_large, "payload_too_large",
        "the request body is larger than the limit of " + std::to_string(kMaxBodyBytes) + " bytes");
  }
  const char* accepted = format == BodyFormat::kJsonOrYaml
                             ? "application/json or application/yaml"
                             : "application/json";
  auto header = req.find(beast_http::field::content_type);
  if (header == req.end()) {
    return StatusReply(req, beast_http::status::unsupported_media_type,
                       "unsupported_media_type",
                       std::string("the request has no Content-Type; send ") + accepted);
  }
  std::string type = MediaType(header->value());
  const bool yaml = format == BodyFormat::kJsonOrYaml && IsYaml(type);
  if (type != "application/json" && !yaml) {
    // The header's value is not repeated (docs/api.md, "Errors").
    return StatusReply(req, beast_http::status::unsupported_media_type, "unsupported_media_type",
                       std::string("the Content-Type is not supported here; send ") + accepted);
  }
  if (Trim(body).empty()) {
    return ErrorReply(req, MakeError(ErrorCode::kInvalidArgument,
                                     "the request has no body; send a JSON" +
                                         std::string(yaml ? " or YAML" : "") + " document"));
  }
  Result<Json> parsed = yaml ? dto::ParseYaml(body) : dto::ParseJson(body);
  if (!parsed.ok()) return ErrorReply(req, parsed.error());
  return std::move(parsed).value();
}

IfMatch ParseIfMatch(const Request& req) {
  IfMatch out;
  auto header = req.find(beast_http::field::if_match);
  if (header == req.end()) return out;
  out.present = true;
  std::string_view value = header->value();
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view tag = Trim(value.substr(start, end - start));
    if (tag == "*") out.any = true;
    if (auto rev = TagRevision(tag)) out.revisions.push_back(*rev);
    start = end + 1;
  }
  return out;
}

Result<std::optional<uint64_t>> ExpectedRevision(const RequestContext& ctx,
                                                 const std::string& name) {
  IfMatch if_match = ParseIfMatch(ctx.request);
  if (!if_match.present) return std::optional<uint64_t>();
  auto current = ctx.service.GetPolicy(name);
  if (!current.ok()) {
    return MakeError(ErrorCode::kAborted,
                     "If-Match given, but no pod-scope policy named '" + name + "' exists");
  }
  const uint64_t revision = current->revision;
  if (if_match.any || std::find(if_match.revisions.begin(), if_match.revisions.end(),
                                revision) != if_match.revisions.end()) {
    return std::optional<uint64_t>(revision);
  }
  return MakeError(ErrorCode::kAborted,
                   "If-Match does not match policy '" + name + "', which is at revision \"" +
                       std::to_string(revision) + "\": re-read it and apply your change again");
}

}  // namespace ipsec::api::handlers
