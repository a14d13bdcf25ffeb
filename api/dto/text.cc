#include "api/dto/text.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <set>
#include <vector>

#include "api/dto/json_reader.h"
#include "api/dto/yaml_documents.h"

namespace ipsec::api::dto {
namespace {

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// ---- JSON ---------------------------------------------------------------------------------

// Raised from the parser callback to stop parsing; never leaves this file.
struct StopParse {
  std::string message;
  std::string path;
};

// Follows the parser's events to know where it is (for the path of a duplicate key) and how
// deep (nlohmann's parser is iterative, but what consumes the value need not be).
class JsonGuard {
 public:
  bool operator()(int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        frames_.push_back(Frame{event == Json::parse_event_t::object_start, {}, {}, 0});
        if (frames_.size() > static_cast<size_t>(kMaxDepth)) {
          throw StopParse{"the document nests deeper than " + std::to_string(kMaxDepth) +
                              " levels",
                          Path()};
        }
        break;
      case Json::parse_event_t::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          throw StopParse{"duplicate field '" + top.key + "'; give each field once", Path()};
        }
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        frames_.pop_back();
        ElementDone();
        break;
      case Json::parse_event_t::value:
        ElementDone();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool object = false;
    std::string key;
    std::set<std::string> keys;
    size_t index = 0;
  };

  void ElementDone() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }

  std::string Path() const {
    std::string path;
    for (const Frame& f : frames_) {
      path = f.object ? ChildPath(path, f.key) : ChildPath(path, f.index);
    }
    return path;
  }

  std::vector<Frame> frames_;
};

std::string WithoutExceptionPrefix(const char* what) {
  std::string s(what);
  if (s.rfind("[json.exception.", 0) == 0) {
    size_t end = s.find("] ");
    if (end != std::string::npos) s = s.substr(end + 2);
  }
  return s;
}

// ---- YAML ---------------------------------------------------------------------------------

std::string At(const YAML::Mark& mark) {
  if (mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ", column " +
         std::to_string(mark.column + 1) + ")";
}

bool IsDigits(std::string_view s, std::string_view digits) {
  if (s.empty()) return false;
  for (char c : s) {
    if (digits.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// A plain integer of YAML 1.2's core schema: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+.
std::optional<Json> PlainInteger(const std::string& s) {
  int base = 10;
  std::string_view digits = s;
  bool negative = false;
  if (s.rfind("0x", 0) == 0) {
    base = 16;
    digits.remove_prefix(2);
    if (!IsDigits(digits, "0123456789abcdefABCDEF")) return std::nullopt;
  } else if (s.rfind("0o", 0) == 0) {
    base = 8;
    digits.remove_prefix(2);
    if (!IsDigits(digits, "01234567")) return std::nullopt;
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (!IsDigits(digits, "0123456789")) return std::nullopt;
  }
  std::string text(digits);
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, base);
  if (errno == ERANGE) return Json(std::strtod(s.c_str(), nullptr));
  if (!negative) return Json(static_cast<uint64_t>(v));
  if (v > static_cast<unsigned long long>(INT64_MAX) + 1) return Json(-static_cast<double>(v));
  return Json(static_cast<int64_t>(0 - v));
}

// A plain float of the core schema, including .inf and .nan (kept as strings: JSON has no
// such numbers).
std::optional<Json> PlainFloat(const std::string& s) {
  bool digit_seen = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      digit_seen = true;
    } else if (!(c == '.' || c == 'e' || c == 'E' || ((c == '-' || c == '+') &&
                                                      (i == 0 || s[i - 1] == 'e' ||
                                                       s[i - 1] == 'E')))) {
      return std::nullopt;
    }
  }
  if (!digit_seen) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return Json(d);
}

Json PlainScalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) return nullptr;
  if (auto i = PlainInteger(s)) return *i;
  if (auto f = PlainFloat(s)) return *f;
  return s;
}

class YamlConverter {
 public:
  Result<Json> Convert(const YAML::Node& node, const std::string& path, int depth) {
    if (++nodes_ > kMaxYamlNodes) {
      return Error{ErrorCode::kInvalidArgument,
                   "the YAML document expands to more than " + std::to_string(kMaxYamlNodes) +
                       " values (aliases?)",
                   path};
    }
    if (depth > kMaxDepth) {
      return Error{ErrorCode::kInvalidArgument,
                   "the document nests deeper than " + std::to_string(kMaxDepth) + " levels",
                   path};
    }
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node, path);
      case YAML::NodeType::Sequence:
        return Sequence(node, path, depth);
      case YAML::NodeType::Map:
        return Map(node, path, depth);
    }
    return Json(nullptr);
  }

 private:
  Result<Json> Scalar(const YAML::Node& node, const std::string& path) {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return Json(text);
    Json value = PlainScalar(text);
    if (tag == "?" || tag.empty()) return value;
    bool fits = (tag == "tag:yaml.org,2002:int" && value.is_number_integer()) ||
                (tag == "tag:yaml.org,2002:float" && value.is_number()) ||
                (tag == "tag:yaml.org,2002:bool" && value.is_boolean()) ||
                (tag == "tag:yaml.org,2002:null" && value.is_null());
    if (!fits) {
      return Error{ErrorCode::kInvalidArgument,
                   "unsupported YAML tag '" + tag + "' for '" + text + "'" + At(node.Mark()),
                   path};
    }
    return value;
  }

  Result<Json> Sequence(const YAML::Node& node, const std::string& path, int depth) {
    Json out = Json::array();
    size_t i = 0;
    for (const YAML::Node& item : node) {
      auto v = Convert(item, ChildPath(path, i++), depth + 1);
      if (!v.ok()) return v.error();
      out.push_back(std::move(v).value());
    }
    return out;
  }

  Result<Json> Map(const YAML::Node& node, const std::string& path, int depth) {
    Json out = Json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        return Error{ErrorCode::kInvalidArgument,
                     "a mapping key must be a plain name, not a list or mapping" +
                         At(key.Mark()),
                     path};
      }
      const std::string& name = key.Scalar();
      if (out.contains(name)) {
        return Error{ErrorCode::kInvalidArgument,
                     "duplicate field '" + name + "'" + At(key.Mark()) + "; give each field once",
                     ChildPath(path, name)};
      }
      auto v = Convert(value, ChildPath(path, name), depth + 1);
      if (!v.ok()) return v.error();
      out[name] = std::move(v).value();
    }
    return out;
  }

  size_t nodes_ = 0;
};

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  try {
    JsonGuard guard;
    Json::parser_callback_t callback = [&guard](int depth, Json::parse_event_t event,
                                                Json& parsed) {
      return guard(depth, event, parsed);
    };
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const StopParse& stop) {
    return MakeError(ErrorCode::kInvalidArgument, "invalid JSON: " + stop.message, stop.path);
  } catch (const Json::exception& e) {
    return Invalid("invalid JSON: " + WithoutExceptionPrefix(e.what()));
  } catch (const std::exception& e) {
    return Invalid(std::string("invalid JSON: ") + e.what());
  }
}

Result<Json> ParseYaml(std::string_view text) {
  try {
    std::vector<YAML::Node> docs = LoadYamlDocuments(std::string(text));
    if (docs.size() > 1) {
      return Invalid("the YAML holds " + std::to_string(docs.size()) +
                     " documents; send one document");
    }
    if (docs.empty()) return Json(nullptr);
    YamlConverter converter;
    return converter.Convert(docs[0], "", 1);
  } catch (const YAML::Exception& e) {
    return Invalid("invalid YAML" + At(e.mark) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Invalid(std::string("invalid YAML: ") + e.what());
  }
}

Result<Json> ParseJsonOrYaml(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    return ParseJson(text);
  }
  return ParseYaml(text);
}

Json ErrorToJson(const Error& e) {
  return Json{{"error", {{"code", ErrorCodeName(e.code)}, {"message", e.message},
                         {"path", e.path}}}};
}

std::string DumpJson(const Json& j, int indent) {
  try {
    return j.dump(indent, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception&) {
    return R"({"error":{"code":"internal","message":"response could not be serialized","path":""}})";
  }
}

}  // namespace ipsec::api::dto
