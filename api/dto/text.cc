#include "api/dto/text.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iterator>
#include <set>
#include <string_view>
#include <vector>

#include "api/dto/field_names.h"
#include "api/dto/json_reader.h"
#include "api/dto/yaml_documents.h"

namespace ipsec::api::dto {
namespace {

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// ---- JSON ---------------------------------------------------------------------------------
//
// Errors never quote the input (docs/api.md, "Errors"): nlohmann's syntax errors end with the
// token it last read ("last read: '…'"), which could be a key pasted in the wrong place. What
// replaces it is a position: line, column and byte offset, and a path of the API's own field
// names (field_names.h).

// "line 3, column 17 (byte 52)" for the byte at `offset` (0-based) of `text`.
std::string Position(std::string_view text, size_t offset) {
  offset = std::min(offset, text.empty() ? 0 : text.size() - 1);
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1) +
         " (byte " + std::to_string(offset + 1) + ")";
}

// An input iterator over the text for nlohmann's parser that records how far the parser has
// read, so that faults found in the parser callback (a duplicate key, too deep) have a
// position. The parser reads one character at a time and never looks back.
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* at, const char** read_to) : at_(at), read_to_(read_to) {}
  reference operator*() const { return *at_; }
  TrackingIterator& operator++() {
    ++at_;
    if (at_ > *read_to_) *read_to_ = at_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const TrackingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char** read_to_;  // not owned: the furthest character read
};

// Raised from the parser callback to stop parsing; never leaves this file.
struct StopParse {
  std::string message;
  std::string path;
};

// Follows the parser's events to know where it is (for the path of a duplicate key) and how
// deep (nlohmann's parser is iterative, but what consumes the value need not be).
class JsonGuard {
 public:
  // `position` says where the parser is, for messages.
  explicit JsonGuard(std::function<std::string()> position) : position_(std::move(position)) {}

  bool operator()(int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        frames_.push_back(Frame{event == Json::parse_event_t::object_start, {}, {}, 0});
        if (frames_.size() > static_cast<size_t>(kMaxDepth)) {
          throw StopParse{"the document nests deeper than " + std::to_string(kMaxDepth) +
                              " levels (at " + position_() + ")",
                          Path()};
        }
        break;
      case Json::parse_event_t::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          // Named only when it is one of ours (then the path reaches it too).
          std::string field = IsFieldName(top.key) ? " " + Quote(top.key) : "";
          throw StopParse{
              "duplicate field" + field + " (at " + position_() + "); give each field once",
              Path()};
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

  // The JSON pointer of where the parser is, up to the first key that is not one of ours.
  std::string Path() const {
    std::string path;
    for (const Frame& f : frames_) {
      if (f.object && !IsFieldName(f.key)) break;  // also: no key read yet in this object
      path = f.object ? ChildPath(path, f.key) : ChildPath(path, f.index);
    }
    return path;
  }

  std::function<std::string()> position_;
  std::vector<Frame> frames_;
};

// The names nlohmann gives token kinds in "; expected <kind>" (lexer::token_type_name).
constexpr const char* kTokenKinds[] = {"<uninitialized>",
                                       "true literal",
                                       "false literal",
                                       "null literal",
                                       "string literal",
                                       "number literal",
                                       "'['",
                                       "'{'",
                                       "']'",
                                       "'}'",
                                       "':'",
                                       "','",
                                       "<parse error>",
                                       "end of input",
                                       "'[', '{', or a literal",
                                       "unknown token"};

bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// nlohmann's reason for a syntax error without the input it quotes: from "syntax error while
// parsing object - invalid literal; last read: '<input>'; expected '}'" keeps "syntax error
// while parsing object - invalid literal; expected '}'". Everything before "; last read: '" is
// the parser's context and the lexer's fixed message; the only tail kept is a token kind from
// the fixed list above. Anything else becomes "syntax error".
std::string SyntaxReason(const std::string& what) {
  size_t start = what.find("syntax error");
  if (start == std::string::npos) return "syntax error";
  std::string reason = what.substr(start);
  size_t quoted = reason.find("; last read: '");
  if (quoted == std::string::npos) return reason;  // "unexpected <token kind>": no input in it
  std::string out = reason.substr(0, quoted);
  for (const char* kind : kTokenKinds) {
    std::string tail = std::string("; expected ") + kind;
    if (EndsWith(reason, tail)) {
      out += tail;
      break;
    }
  }
  return out;
}

// ---- YAML ---------------------------------------------------------------------------------

std::string At(const YAML::Mark& mark) {
  if (mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ", column " +
         std::to_string(mark.column + 1) + ")";
}

// yaml-cpp's message without the input some of them append ("unknown escape character: x",
// "invalid unicode: …", "bad YAML version: …"): its fixed messages are kept as they are, the
// others cut at their ": " (yaml-cpp's ErrorMsg texts hold no other colon-space).
std::string YamlReason(const std::string& msg) {
  size_t colon = msg.find(": ");
  std::string reason = colon == std::string::npos ? msg : msg.substr(0, colon);
  for (char c : reason) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return "syntax error";
    }
  }
  return reason.empty() ? "syntax error" : reason;
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). JSON
// input is checked by its parser; YAML's is not, and a policy is stored and served as JSON.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < n + 1) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
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

// YAML nodes to JSON values. Faults are reported by line and column (yaml-cpp's marks), with a
// path of the API's own field names only (field_names.h): never a key or value of the input.
class YamlConverter {
 public:
  // `path` is where `node` is; `extend`: whether the path still follows the nodes (it stops
  // under a key that is not one of ours).
  Result<Json> Convert(const YAML::Node& node, const std::string& path, int depth, bool extend) {
    if (++nodes_ > kMaxYamlNodes) {
      return Error{ErrorCode::kInvalidArgument,
                   "the YAML document expands to more than " + std::to_string(kMaxYamlNodes) +
                       " values (aliases?)" + At(node.Mark()),
                   path};
    }
    if (depth > kMaxDepth) {
      return Error{ErrorCode::kInvalidArgument,
                   "the document nests deeper than " + std::to_string(kMaxDepth) + " levels" +
                       At(node.Mark()),
                   path};
    }
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node, path);
      case YAML::NodeType::Sequence:
        return Sequence(node, path, depth, extend);
      case YAML::NodeType::Map:
        return Map(node, path, depth, extend);
    }
    return Json(nullptr);
  }

 private:
  Result<Json> Scalar(const YAML::Node& node, const std::string& path) {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    if (!IsUtf8(text)) {
      return Error{ErrorCode::kInvalidArgument, "a value is not valid UTF-8" + At(node.Mark()),
                   path};
    }
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return Json(text);
    Json value = PlainScalar(text);
    if (tag == "?" || tag.empty()) return value;
    bool fits = (tag == "tag:yaml.org,2002:int" && value.is_number_integer()) ||
                (tag == "tag:yaml.org,2002:float" && value.is_number()) ||
                (tag == "tag:yaml.org,2002:bool" && value.is_boolean()) ||
                (tag == "tag:yaml.org,2002:null" && value.is_null());
    if (!fits) {
      return Error{ErrorCode::kInvalidArgument,
                   "unsupported YAML tag" + At(node.Mark()) +
                       "; only !!str, !!int, !!float, !!bool and !!null, on a value that fits",
                   path};
    }
    return value;
  }

  Result<Json> Sequence(const YAML::Node& node, const std::string& path, int depth, bool extend) {
    Json out = Json::array();
    size_t i = 0;
    for (const YAML::Node& item : node) {
      auto v = Convert(item, extend ? ChildPath(path, i) : path, depth + 1, extend);
      ++i;
      if (!v.ok()) return v.error();
      out.push_back(std::move(v).value());
    }
    return out;
  }

  Result<Json> Map(const YAML::Node& node, const std::string& path, int depth, bool extend) {
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
      if (!IsUtf8(name)) {
        return Error{ErrorCode::kInvalidArgument, "a key is not valid UTF-8" + At(key.Mark()),
                     path};
      }
      const bool ours = IsFieldName(name);
      const bool follow = extend && ours;
      const std::string child = follow ? ChildPath(path, name) : path;
      if (out.contains(name)) {
        return Error{ErrorCode::kInvalidArgument,
                     "duplicate field" + (ours ? " " + Quote(name) : std::string()) +
                         At(key.Mark()) + "; give each field once",
                     child};
      }
      auto v = Convert(value, child, depth + 1, follow);
      if (!v.ok()) return v.error();
      out[name] = std::move(v).value();
    }
    return out;
  }

  size_t nodes_ = 0;
};

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  const char* read_to = text.data();
  auto position = [&] {
    size_t read = static_cast<size_t>(read_to - text.data());
    return Position(text, read == 0 ? 0 : read - 1);
  };
  try {
    JsonGuard guard(position);
    Json::parser_callback_t callback = [&guard](int depth, Json::parse_event_t event,
                                                Json& parsed) {
      return guard(depth, event, parsed);
    };
    TrackingIterator begin(text.data(), &read_to);
    TrackingIterator end(text.data() + text.size(), &read_to);
    return Json::parse(begin, end, callback);
  } catch (const StopParse& stop) {
    return MakeError(ErrorCode::kInvalidArgument, "invalid JSON: " + stop.message, stop.path);
  } catch (const Json::parse_error& e) {
    // e.byte: how many bytes were read, the last one being the fault.
    return Invalid("invalid JSON at " + Position(text, e.byte == 0 ? 0 : e.byte - 1) + ": " +
                   SyntaxReason(e.what()));
  } catch (const Json::out_of_range&) {
    return Invalid("invalid JSON at " + position() + ": a number is out of range");
  } catch (const std::exception&) {
    return Invalid("invalid JSON at " + position());
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
    return converter.Convert(docs[0], "", 1, true);
  } catch (const YAML::Exception& e) {
    return Invalid("invalid YAML" + At(e.mark) + ": " + YamlReason(e.msg));
  } catch (const std::exception&) {
    return Invalid("invalid YAML");
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
