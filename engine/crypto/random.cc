#include "engine/crypto/random.h"

#include <openssl/rand.h>
#include <string.h>  // explicit_bzero
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

constexpr int kDrbgAttempts = 3;

bool DrbgFill(uint8_t* out, size_t n) {
  while (n > 0) {
    size_t chunk = std::min<size_t>(n, INT_MAX);
    if (RAND_bytes(out, static_cast<int>(chunk)) != 1) return false;
    out += chunk;
    n -= chunk;
  }
  return true;
}

bool KernelFill(uint8_t* out, size_t n) {
  while (n > 0) {
    ssize_t got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

void SystemRandom::Fill(uint8_t* out, size_t n) { (void)TryFill(MutableByteSpan(out, n)); }

Status SystemRandom::TryFill(MutableByteSpan out) {
  for (int attempt = 0; attempt < kDrbgAttempts; ++attempt) {
    if (DrbgFill(out.data(), out.size())) return Status::Ok();
  }
  Error drbg_error = internal::OpenSslError(ErrorCode::kUnavailable, "RAND_bytes");
  drbg_failures_.fetch_add(1, std::memory_order_relaxed);
  if (KernelFill(out.data(), out.size())) return Status::Ok();
  total_failures_.fetch_add(1, std::memory_order_relaxed);
  if (!out.empty()) explicit_bzero(out.data(), out.size());
  return MakeError(ErrorCode::kUnavailable,
                   "no randomness: " + drbg_error.message + ", and getrandom(2) failed too");
}

}  // namespace ipsec::engine::crypto
