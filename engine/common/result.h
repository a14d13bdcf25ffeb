#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ipsec {

// Error categories shared by every module. The API maps them to HTTP status codes; the engine
// uses them for typed failures of untrusted input (../shared/STYLE.md rule 9).
enum class ErrorCode {
  kInvalidArgument,     // bad input: a field, a packet, a file
  kNotFound,            // a named resource does not exist
  kAlreadyExists,       // create of something that exists
  kFailedPrecondition,  // valid request, but the current state forbids it (e.g. in use)
  kAborted,             // optimistic concurrency: the caller's revision is stale
  kUnimplemented,       // accepted by the model, not supported by the engine (yet)
  kUnavailable,         // a dependency (disk, peer) is not reachable now
  kDataLoss,            // stored state is corrupt
  kInternal,            // a broken invariant we report rather than crash on
};

const char* ErrorCodeName(ErrorCode code);

// An error with a message for people and, for structured input, the path of the fault
// ("/rules/2/filter_action", a JSON pointer, or a file name).
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string path;

  Error WithPathPrefix(const std::string& prefix) const {
    return Error{code, message, prefix + path};
  }
  std::string ToString() const;
};

inline Error MakeError(ErrorCode code, std::string message, std::string path = {}) {
  return Error{code, std::move(message), std::move(path)};
}

// Result<T>: a value or an Error. std::expected is C++23; this is the small subset we need.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> state_;
};

// Status: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  static Status Ok() { return Status(); }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace ipsec
