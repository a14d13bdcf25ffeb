#pragma once

// Strict reading of untrusted JSON: every accessor checks the type, reports the JSON pointer of
// the fault, and remembers which fields it was asked for, so that a field nobody asked for is
// rejected ("unknown field 'filter_lsts' (did you mean 'filter_lists'?)") instead of being
// silently ignored. Nothing here throws.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/common/result.h"

namespace ipsec::api::dto {

using Json = nlohmann::json;

// A reader of one value: gets the value and its JSON pointer, returns an error to stop.
using ValueReader = std::function<Status(const Json& value, const std::string& path)>;

// "/a/b" + key, with the key escaped per RFC 6901 (~ as ~0, / as ~1).
std::string ChildPath(const std::string& base, std::string_view key);
std::string ChildPath(const std::string& base, size_t index);

// "a string", "a number", "null", ... for messages.
std::string TypeName(const Json& j);

Error InvalidAt(std::string path, std::string message);
// "expected a string, got a number".
Error WrongType(const std::string& path, const char* expected, const Json& got);

// 'text', quotes included (built by appending: GCC 12 warns falsely on "'" + std::string). For
// our own words and names that passed validation; never for request values.
std::string Quote(std::string_view text);

// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);
// The closest of `known` to `key` when it is close enough to be a typo, else empty.
std::string ClosestName(std::string_view key, const std::vector<std::string>& known);

Result<std::string> ReadString(const Json& j, const std::string& path);
Result<bool> ReadBool(const Json& j, const std::string& path);
// A non-negative integer no greater than `max`. Floats (even 1.0) are rejected.
Result<uint64_t> ReadUnsigned(const Json& j, const std::string& path, uint64_t max);
// Calls `each` for every element of an array; the first error stops.
Status ReadArray(const Json& j, const std::string& path, const ValueReader& each);

// Reads the fields of one JSON object. Accessors record the first error and keep going (so
// every field gets marked as known); Finish() reports an unknown field first (a typo in a field
// name explains a "missing field" better), then the first error. Messages never repeat a value
// of the request, nor a key that is not one of the API's field names (field_names.h).
class ObjectReader {
 public:
  enum Presence { kOptional, kRequired };

  // `what` names the object in messages ("policy", "rule"). When `j` is not an object, Finish()
  // says so.
  ObjectReader(const Json& j, std::string path, std::string what);
  // The reader keeps a reference to `j`: a temporary would dangle.
  ObjectReader(Json&& j, std::string path, std::string what) = delete;

  // Absent optional fields leave `out` unchanged (its default). null is not absent: it is a
  // type error unless the field reads it itself (Field()).
  void String(std::string_view key, std::string& out, Presence presence = kOptional);
  void Bool(std::string_view key, bool& out);
  void Uint32(std::string_view key, uint32_t& out);
  void Uint64(std::string_view key, uint64_t& out);
  // `read` runs when the field is present and no error has been recorded.
  void Field(std::string_view key, const ValueReader& read, Presence presence = kOptional);
  // An enum by name: "unknown <what> (did you mean 'a'?); expected one of: a, b".
  template <typename E, typename Parse>
  void Enum(std::string_view key, E& out, Parse parse, const std::vector<std::string>& names,
            const char* what, Presence presence = kOptional) {
    Field(
        key,
        [&](const Json& v, const std::string& path) -> Status {
          auto s = ReadString(v, path);
          if (!s.ok()) return s.error();
          std::optional<E> parsed = parse(*s);
          if (!parsed) return UnknownName(path, what, *s, names);
          out = *parsed;
          return Status::Ok();
        },
        presence);
  }

  bool Has(std::string_view key) const;
  const std::string& path() const { return path_; }
  Status Finish() const;

  // `got` only picks the "did you mean" hint: it is not repeated.
  static Error UnknownName(const std::string& path, const char* what, const std::string& got,
                           const std::vector<std::string>& names);

 private:
  void Fail(Error e);

  const Json& json_;
  std::string path_;
  std::string what_;
  std::vector<std::string> known_;
  std::optional<Error> error_;
};

}  // namespace ipsec::api::dto
