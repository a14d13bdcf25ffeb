#pragma once

// Building responses: JSON bodies, the error shape of docs/api.md
// ({"error": {"code", "message", "path"}}), status codes for ErrorCode, ETag.

#include <cstdint>
#include <string_view>

#include "api/dto/text.h"
#include "api/handlers/route_table.h"
#include "engine/common/result.h"

namespace ipsec::api::handlers {

using Json = dto::Json;

// invalid_argument 400, not_found 404, already_exists and failed_precondition 409, aborted 412,
// unimplemented 501, unavailable and data_loss 503, internal 500.
beast_http::status HttpStatus(ErrorCode code);

// A response in the request's HTTP version, keep-alive as the request asks.
Response JsonReply(const Request& req, beast_http::status status, const Json& body);
Response NoContent(const Request& req);
// An Error: status from its code, the error body.
Response ErrorReply(const Request& req, const Error& error);
// An error the engine has no code for (405, 413, 415, 404 of an unknown path): `code` is the
// body's error code ("method_not_allowed").
Response StatusReply(const Request& req, beast_http::status status, std::string_view code,
                     std::string_view message, std::string_view path = {});

// ETag: "<revision>" (docs/api.md, "Concurrency").
void SetETag(Response& res, uint64_t revision);

}  // namespace ipsec::api::handlers
