// The ESP hot path makes no heap allocation of its own (issue 4): Protect and Unprotect with
// every transform make no operator new call, and with the AEADs no OpenSSL allocation either.
// HMAC-based transforms inherit OpenSSL 3.0's re-initialisation cost (two malloc/free pairs
// per message, engine/crypto/hash.h), which is counted and bounded here, not hidden.

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "engine/esp/inbound_sa.h"
#include "engine/esp/outbound_sa.h"
#include "tests/engine/esp/esp_test_util.h"

namespace {

std::atomic<long> g_openssl_allocations{0};
std::atomic<long> g_new_allocations{0};

void* CountingMalloc(size_t n, const char*, int) {
  g_openssl_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n);
}
void* CountingRealloc(void* p, size_t n, const char*, int) {
  g_openssl_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(p, n);
}
void CountingFree(void* p, const char*, int) { std::free(p); }

const bool g_counting_installed =
    CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) == 1;

}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  g_new_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace ipsec::engine::esp {
namespace {

TEST(EspNoAllocationTest, ProtectAndUnprotect) {
  ASSERT_TRUE(g_counting_installed);
  constexpr int kPackets = 500;
  for (const auto& t : testing::AllEspTransforms()) {
    SCOPED_TRACE(t.name);
    const SaParams params = testing::MakeParams(t, true);
    auto out = OutboundSa::Create(params);
    auto in = InboundSa::Create(params);
    ASSERT_TRUE(out.ok() && in.ok());
    const size_t head = (*out)->headroom();
    const size_t stride = head + 1400 + (*out)->max_tailroom();
    std::vector<uint8_t> batch(kPackets * stride, 0x42);
    std::vector<size_t> lengths(kPackets);
    // Warm-up: a thread's first use of OpenSSL state may allocate once.
    {
      std::vector<uint8_t> w(stride);
      auto p = (*out)->Protect(0, w.data(), w.size(), head, 1400, 4);
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE(
          std::holds_alternative<InboundSa::Unprotected>((*in)->Unprotect(0, w.data(), p->length)));
    }
    const long openssl0 = g_openssl_allocations.load(), cxx0 = g_new_allocations.load();
    bool ok = true;
    for (int i = 0; i < kPackets; ++i) {
      auto p = (*out)->Protect(0, &batch[i * stride], stride, head, 1400, 4);
      ok = ok && p.ok();
      if (p.ok()) lengths[i] = p->length;
    }
    for (int i = 0; i < kPackets && ok; ++i) {
      ok = std::holds_alternative<InboundSa::Unprotected>(
          (*in)->Unprotect(0, &batch[i * stride], lengths[i]));
    }
    const long openssl = g_openssl_allocations.load() - openssl0;
    const long cxx = g_new_allocations.load() - cxx0;
    ASSERT_TRUE(ok);
    EXPECT_EQ(cxx, 0) << "operator new on the hot path";
    if (t.integrity_id == kAuthNone) {
      EXPECT_EQ(openssl, 0) << "OpenSSL allocations with an AEAD";
    } else {
      // OpenSSL 3.0's HMAC re-init (+ nothing from us): at most 2 per ICV, + 2 per CBC IV.
      EXPECT_LE(openssl, 2L * 2 * kPackets * 2) << "HMAC allocations";
      std::printf("  %-18s OpenSSL allocations per packet (protect+unprotect): %.1f\n",
                  t.name.c_str(), static_cast<double>(openssl) / kPackets);
    }
  }
}

}  // namespace
}  // namespace ipsec::engine::esp
