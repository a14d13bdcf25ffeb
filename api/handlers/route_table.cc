#include "api/handlers/route_table.h"

#include <algorithm>

namespace ipsec::api::handlers {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsParam(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

std::vector<std::string> SplitTemplate(const std::string& path_template) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path_template.size()) {
    size_t end = path_template.find('/', start);
    if (end == std::string::npos) end = path_template.size();
    out.push_back(path_template.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

const std::string& RequestContext::Param(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return kEmpty;
}

std::optional<std::string> RequestContext::Query(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [key, value] : query) {
    if (key == name) out = value;
  }
  return out;
}

engine::service::ChangeContext RequestContext::Change() const {
  return engine::service::ChangeContext{
      std::string(beast_http::to_string(request.method())) + " " + std::string(route), "api"};
}

const MethodHandler* Route::Find(beast_http::verb method) const {
  for (const auto& m : methods) {
    if (m.method == method) return &m;
  }
  return nullptr;
}

std::string Route::Allow() const {
  std::string out;
  for (const auto& m : methods) {
    if (!out.empty()) out += ", ";
    out += std::string(beast_http::to_string(m.method));
  }
  return out;
}

void RouteTable::Add(beast_http::verb method, const std::string& path_template,
                     RouteHandler handler, std::vector<std::string> query_params) {
  auto it = std::find_if(routes_.begin(), routes_.end(), [&](const Route& r) {
    return r.path_template == path_template;
  });
  if (it == routes_.end()) {
    routes_.push_back(Route{path_template, SplitTemplate(path_template), {}});
    it = routes_.end() - 1;
  }
  it->methods.push_back(MethodHandler{method, std::move(handler), std::move(query_params)});
}

const Route* RouteTable::Match(const std::vector<std::string>& segments,
                               std::vector<std::pair<std::string, std::string>>& params) const {
  const Route* best = nullptr;
  size_t best_literals = 0;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    size_t literals = 0;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      if (IsParam(route.segments[i])) {
        ok = !segments[i].empty();
      } else {
        ok = route.segments[i] == segments[i];
        ++literals;
      }
    }
    if (ok && (best == nullptr || literals > best_literals)) {
      best = &route;
      best_literals = literals;
    }
  }
  if (best != nullptr) {
    params.clear();
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& s = best->segments[i];
      if (IsParam(s)) params.emplace_back(s.substr(1, s.size() - 2), segments[i]);
    }
  }
  return best;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string PercentEncodeSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

Result<std::vector<std::string>> SplitPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the request target must be a path starting with '/'");
  }
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string> out;
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view raw =
        path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    auto decoded = PercentDecode(raw, false);
    if (!decoded) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "malformed percent-encoding in the path segment '" + std::string(raw) +
                           "'");
    }
    out.push_back(std::move(*decoded));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view part = query.substr(start, end - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      auto key = PercentDecode(part.substr(0, eq), true);
      auto value = PercentDecode(
          eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), true);
      if (!key || !value) {
        return MakeError(ErrorCode::kInvalidArgument, "malformed percent-encoding in the query");
      }
      out.emplace_back(std::move(*key), std::move(*value));
    }
    start = end + 1;
  }
  return out;
}

}  // namespace ipsec::api::handlers
