#include "api/http/error_response.h"

#include <boost/beast/http/field.hpp>
#include <cstdio>

namespace ipsec::api::http {

std::string JsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

Response MakeErrorResponse(beast_http::status status, std::string_view code,
                           std::string_view message, unsigned version) {
  Response response(status, version);
  response.set(beast_http::field::content_type, "application/json");
  response.body() = "{\"error\":{\"code\":" + JsonQuote(code) +
                    ",\"message\":" + JsonQuote(message) + ",\"path\":\"\"}}";
  response.prepare_payload();
  return response;
}

}  // namespace ipsec::api::http
