#include "api/http/token_auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ipsec::api::http {
namespace {

// A token file larger than this is not a token.
constexpr size_t kMaxTokenFileBytes = 64 * 1024;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

std::string_view ParseBearer(std::string_view authorization) {
  std::string_view value = Trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  if (!IsSpace(value[kScheme.size()])) return {};
  return Trim(value.substr(kScheme.size()));
}

bool TokenAuth::FileStamp::operator==(const FileStamp& other) const {
  return exists == other.exists && device == other.device && inode == other.inode &&
         size == other.size && SameTime(mtime, other.mtime) && SameTime(ctime, other.ctime);
}

TokenAuth::TokenAuth(std::string token_file) : token_file_(std::move(token_file)) {}

TokenAuth::Digest TokenAuth::Sha256(std::string_view data) {
  Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

void TokenAuth::RefreshLocked() {
  if (token_file_.empty()) {
    have_token_ = false;
    load_error_ = "the daemon has no API token file configured";
    return;
  }
  FileStamp now;
  struct stat st {};
  if (::stat(token_file_.c_str(), &st) == 0) {
    now = FileStamp{true, st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
  }
  if (loaded_once_ && now == stamp_) return;
  loaded_once_ = true;
  stamp_ = now;
  have_token_ = false;
  token_digest_ = {};
  int fd = ::open(token_file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    load_error_ =
        "the API token file " + token_file_ + " cannot be read (" + std::strerror(errno) + ")";
    return;
  }
  std::string content(kMaxTokenFileBytes + 1, '\0');
  size_t used = 0;
  while (used < content.size()) {
    ssize_t n = ::read(fd, content.data() + used, content.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  std::string_view token = Trim(std::string_view(content.data(), used));
  if (used > kMaxTokenFileBytes) {
    load_error_ = "the API token file " + token_file_ + " is too large to be a token";
  } else if (token.empty()) {
    load_error_ = "the API token file " + token_file_ + " is empty";
  } else {
    token_digest_ = Sha256(token);
    have_token_ = true;
    load_error_.clear();
  }
  OPENSSL_cleanse(content.data(), content.size());
}

TokenAuth::Decision TokenAuth::Check(std::string_view authorization) {
  // Hash outside the lock: it is the only per-request work that is not a syscall.
  std::string_view presented = ParseBearer(authorization);
  Digest presented_digest = Sha256(presented);
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  if (!have_token_) {
    return {Outcome::kNoToken,
            load_error_ + "; every authenticated request is refused until it holds a token"};
  }
  if (presented.empty()) {
    return {Outcome::kMissingCredentials,
            "missing bearer token: send 'Authorization: Bearer <token>' (the content of the "
            "daemon's token file)"};
  }
  if (CRYPTO_memcmp(presented_digest.data(), token_digest_.data(), token_digest_.size()) != 0) {
    return {Outcome::kWrongCredentials, "invalid bearer token"};
  }
  return {Outcome::kOk, ""};
}

}  // namespace ipsec::api::http
