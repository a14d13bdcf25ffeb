#pragma once

// Bearer-token authentication against a token file that may change at any time. Kubernetes
// rotates a mounted Secret by swapping a symlink, so the file is stat()ed on every check and
// re-read when its inode, size or modification time changes. Surrounding whitespace (the
// trailing newline of `echo token > file`) is ignored. A missing, unreadable or empty file
// refuses every request: access is never open.
//
// Only a SHA-256 digest of the token is kept in memory; the comparison is constant-time over
// digests, so neither the token's content nor its length leaks through timing.

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>

namespace ipsec::api::http {

class TokenAuth {
 public:
  enum class Outcome {
    kOk,
    kMissingCredentials,  // no Authorization header, or not "Bearer <token>"   → 401
    kWrongCredentials,    // a bearer token that does not match                  → 401
    kNoToken,             // the token file is missing, unreadable or empty      → 503
  };
  struct Decision {
    Outcome outcome = Outcome::kNoToken;
    std::string message;  // for the client and the log; never contains a token
  };

  explicit TokenAuth(std::string token_file);

  // Checks the value of an Authorization header (empty when absent). Thread-safe: any thread.
  Decision Check(std::string_view authorization);

  const std::string& token_file() const { return token_file_; }

 private:
  struct FileStamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    timespec mtime{};
    timespec ctime{};
    bool operator==(const FileStamp& other) const;
  };
  using Digest = std::array<uint8_t, 32>;

  // Re-reads the file when its stamp changed. Must hold mu_.
  void RefreshLocked();
  static Digest Sha256(std::string_view data);

  const std::string token_file_;
  std::mutex mu_;
  bool loaded_once_ = false;  // guarded by mu_
  FileStamp stamp_;           // guarded by mu_
  bool have_token_ = false;   // guarded by mu_
  Digest token_digest_{};     // guarded by mu_
  std::string load_error_;    // guarded by mu_; why have_token_ is false
};

// "Bearer abc" → "abc" (scheme case-insensitive, surrounding whitespace ignored); empty when
// the header is not a bearer credential.
std::string_view ParseBearer(std::string_view authorization);

}  // namespace ipsec::api::http
