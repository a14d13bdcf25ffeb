#include "api/dto/json_reader.h"

#include <algorithm>
#include <limits>

#include "api/dto/field_names.h"

namespace ipsec::api::dto {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string ChildPath(const std::string& base, std::string_view key) {
  std::string out = base + "/";
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string ChildPath(const std::string& base, size_t index) {
  return base + "/" + std::to_string(index);
}

std::string TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

Error InvalidAt(std::string path, std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(path));
}

Error WrongType(const std::string& path, const char* expected, const Json& got) {
  return InvalidAt(path, std::string("expected ") + expected + ", got " + TypeName(got));
}

std::string Quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out.append(text);
  out += '\'';
  return out;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string ClosestName(std::string_view key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& name : known) {
    size_t d = EditDistance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  size_t limit = std::max<size_t>(2, key.size() / 3);
  return best_distance <= limit && best_distance < key.size() ? best : std::string();
}

Result<std::string> ReadString(const Json& j, const std::string& path) {
  if (!j.is_string()) return WrongType(path, "a string", j);
  return j.get_ref<const std::string&>();
}

Result<bool> ReadBool(const Json& j, const std::string& path) {
  if (!j.is_boolean()) return WrongType(path, "true or false", j);
  return j.get<bool>();
}

Result<uint64_t> ReadUnsigned(const Json& j, const std::string& path, uint64_t max) {
  if (j.is_number_float()) {
    return InvalidAt(path, "expected a whole number from 0 to " + std::to_string(max) +
                               ", got " + j.dump());
  }
  if (!j.is_number_integer()) return WrongType(path, "a number", j);
  // Parsed text gives unsigned numbers for non-negative values; values built in code may be
  // signed.
  if (!j.is_number_unsigned() && j.get<int64_t>() < 0) {
    return InvalidAt(path, "expected a number from 0 to " + std::to_string(max) + ", got " +
                               std::to_string(j.get<int64_t>()));
  }
  uint64_t v = j.is_number_unsigned() ? j.get<uint64_t>() : static_cast<uint64_t>(j.get<int64_t>());
  if (v > max) {
    return InvalidAt(path, std::to_string(v) + " is too large; the maximum is " +
                               std::to_string(max));
  }
  return v;
}

Status ReadArray(const Json& j, const std::string& path, const ValueReader& each) {
  if (!j.is_array()) return WrongType(path, "an array", j);
  for (size_t i = 0; i < j.size(); ++i) {
    if (Status s = each(j[i], ChildPath(path, i)); !s.ok()) return s;
  }
  return Status::Ok();
}

ObjectReader::ObjectReader(const Json& j, std::string path, std::string what)
    : json_(j), path_(std::move(path)), what_(std::move(what)) {
  if (!json_.is_object()) {
    const bool vowel = !what_.empty() && std::string_view("aeiouAEIOU").find(what_[0]) !=
                                             std::string_view::npos;
    const char* article = vowel ? "an " : "a ";
    Fail(InvalidAt(path_, std::string("expected ") + article + what_ + " (a JSON object), got " +
                              TypeName(json_)));
  }
}

void ObjectReader::Fail(Error e) {
  if (!error_) error_ = std::move(e);
}

bool ObjectReader::Has(std::string_view key) const {
  return json_.is_object() && json_.contains(key);
}

void ObjectReader::Field(std::string_view key, const ValueReader& read, Presence presence) {
  known_.emplace_back(key);
  if (!json_.is_object()) return;
  auto it = json_.find(key);
  if (it == json_.end()) {
    if (presence == kRequired) {
      Fail(InvalidAt(ChildPath(path_, key),
                     "missing required field '" + std::string(key) + "' of the " + what_));
    }
    return;
  }
  if (error_) return;
  if (Status s = read(*it, ChildPath(path_, key)); !s.ok()) Fail(s.error());
}

void ObjectReader::String(std::string_view key, std::string& out, Presence presence) {
  Field(
      key,
      [&](const Json& v, const std::string& path) -> Status {
        auto s = ReadString(v, path);
        if (!s.ok()) return s.error();
        out = std::move(s).value();
        return Status::Ok();
      },
      presence);
}

void ObjectReader::Bool(std::string_view key, bool& out) {
  Field(key, [&](const Json& v, const std::string& path) -> Status {
    auto b = ReadBool(v, path);
    if (!b.ok()) return b.error();
    out = *b;
    return Status::Ok();
  });
}

void ObjectReader::Uint32(std::string_view key, uint32_t& out) {
  Field(key, [&](const Json& v, const std::string& path) -> Status {
    auto n = ReadUnsigned(v, path, std::numeric_limits<uint32_t>::max());
    if (!n.ok()) return n.error();
    out = static_cast<uint32_t>(*n);
    return Status::Ok();
  });
}

void ObjectReader::Uint64(std::string_view key, uint64_t& out) {
  Field(key, [&](const Json& v, const std::string& path) -> Status {
    auto n = ReadUnsigned(v, path, std::numeric_limits<uint64_t>::max());
    if (!n.ok()) return n.error();
    out = *n;
    return Status::Ok();
  });
}

// An unknown key is named only when it is a field of the API (in the wrong object): any other
// key is request content (field_names.h), reported at its object with a hint.
Status ObjectReader::Finish() const {
  if (json_.is_object()) {
    for (auto it = json_.begin(); it != json_.end(); ++it) {
      if (std::find(known_.begin(), known_.end(), it.key()) != known_.end()) continue;
      const bool ours = IsFieldName(it.key());
      std::string message = ours ? "unknown field '" + it.key() + "' in the " + what_
                                 : "the " + what_ + " has an unknown field";
      std::string closest = ClosestName(it.key(), known_);
      if (!closest.empty()) {
        message += " (did you mean '" + closest + "'?)";
      } else {
        message += "; known fields: " + JoinNames(known_);
      }
      return InvalidAt(ours ? ChildPath(path_, it.key()) : path_, message);
    }
  }
  if (error_) return *error_;
  return Status::Ok();
}

Error ObjectReader::UnknownName(const std::string& path, const char* what,
                                const std::string& got, const std::vector<std::string>& names) {
  std::string message = "unknown " + std::string(what);
  std::string closest = ClosestName(got, names);
  if (!closest.empty()) message += " (did you mean '" + closest + "'?)";
  return InvalidAt(path, message + "; expected one of: " + JoinNames(names));
}

}  // namespace ipsec::api::dto
