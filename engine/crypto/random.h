#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/random.h"
#include "engine/common/result.h"

namespace ipsec::engine::crypto {

// The engine's real source of randomness (SPIs, nonces, IVs, cookies): OpenSSL's DRBG
// (RAND_bytes), which the kernel seeds. Thread-safe; owns nothing but two counters.
//
// It never aborts. When RAND_bytes fails (it practically cannot once seeded), the fill is
// retried, then taken from the kernel directly (getrandom(2)) and counted in
// drbg_failures(). Only if both sources fail is the buffer zeroed and counted in
// total_failures(); Fill() cannot report that, so code that must not continue without
// randomness calls TryFill(). A health check alarms when either counter leaves zero.
class SystemRandom final : public Random {
 public:
  SystemRandom() = default;
  SystemRandom(const SystemRandom&) = delete;
  SystemRandom& operator=(const SystemRandom&) = delete;

  void Fill(uint8_t* out, size_t n) override;
  // Like Fill(), but a total failure is an ErrorCode::kUnavailable error.
  Status TryFill(MutableByteSpan out);

  // Fills served by the kernel because OpenSSL's DRBG failed three times in a row.
  uint64_t drbg_failures() const { return drbg_failures_.load(std::memory_order_relaxed); }
  // Fills that failed entirely (output zeroed).
  uint64_t total_failures() const { return total_failures_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> drbg_failures_{0};
  std::atomic<uint64_t> total_failures_{0};
};

}  // namespace ipsec::engine::crypto
