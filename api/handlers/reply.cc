#include "api/handlers/reply.h"

#include <string>

namespace ipsec::api::handlers {
namespace {

Response Base(const Request& req, beast_http::status status) {
  Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  return res;
}

}  // namespace

beast_http::status HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return beast_http::status::bad_request;
    case ErrorCode::kNotFound:
      return beast_http::status::not_found;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return beast_http::status::conflict;
    case ErrorCode::kAborted:
      return beast_http::status::precondition_failed;
    case ErrorCode::kUnimplemented:
      return beast_http::status::not_implemented;
    case ErrorCode::kUnavailable:
    case ErrorCode::kDataLoss:
      return beast_http::status::service_unavailable;
    case ErrorCode::kInternal:
      return beast_http::status::internal_server_error;
  }
  return beast_http::status::internal_server_error;
}

Response JsonReply(const Request& req, beast_http::status status, const Json& body) {
  Response res = Base(req, status);
  res.set(beast_http::field::content_type, "application/json");
  res.body() = dto::DumpJson(body);
  res.prepare_payload();
  return res;
}

Response NoContent(const Request& req) {
  Response res = Base(req, beast_http::status::no_content);
  res.prepare_payload();
  return res;
}

Response ErrorReply(const Request& req, const Error& error) {
  return JsonReply(req, HttpStatus(error.code), dto::ErrorToJson(error));
}

Response StatusReply(const Request& req, beast_http::status status, std::string_view code,
                     std::string_view message, std::string_view path) {
  Json body{{"error", {{"code", code}, {"message", message}, {"path", path}}}};
  return JsonReply(req, status, body);
}

void SetETag(Response& res, uint64_t revision) {
  std::string tag = "\"";
  tag += std::to_string(revision);
  tag += '"';
  res.set(beast_http::field::etag, tag);
}

}  // namespace ipsec::api::handlers
