#pragma once

// Error responses the server produces itself, in the error shape of docs/api.md:
//   {"error": {"code": "unauthenticated", "message": "…", "path": ""}}
// This module does not use nlohmann/json (STYLE.md (c)), so the few bodies are written here.

#include <string>
#include <string_view>

#include "api/http/types.h"

namespace ipsec::api::http {

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view text);

// A response with the error body, Content-Type application/json and the given HTTP version.
Response MakeErrorResponse(beast_http::status status, std::string_view code,
                           std::string_view message, unsigned version = 11);

}  // namespace ipsec::api::http
