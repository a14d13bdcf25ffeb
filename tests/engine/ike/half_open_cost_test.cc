// What one half-open responder IKE SA costs in memory, which the global cap's default is derived
// from (dos.h: kHalfOpenMemoryBudget / kHalfOpenBytesPerSa): the heap that 2,000 of them hold,
// counted through this binary's own operator new (malloc_usable_size of every block, so the
// allocator's rounding is in), must stay within kHalfOpenBytesPerSa each. OpenSSL allocates
// through malloc and is not counted: a half-open responder SA holds no OpenSSL object (its DH
// key pair is the shared, reused one, dh_reuse.h); the flood bench's RSS figures check the whole.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "engine/ike/codec/message.h"
#include "engine/ike/dos.h"
#include "tests/support/ike_peers.h"

namespace {
std::atomic<long long> g_live_bytes{0};
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  g_live_bytes.fetch_add(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_live_bytes.fetch_sub(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }

namespace ipsec::engine::ike {
namespace {

using testing::TwoPeers;

TEST(HalfOpenCostTest, AHalfOpenResponderSaFitsTheBytesTheCapIsDerivedFrom) {
  TwoPeers net;
  net.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret"));
  auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
  b->dos.cookie_threshold = static_cast<size_t>(-1);
  b->dos.max_half_open = 0;
  net.b.manager->SetConfig(b);
  ASSERT_TRUE(net.a.manager->Initiate("r", net.a.endpoint(), net.b.endpoint(), net.now).ok());
  const Bytes request = net.wire.back().data;
  net.wire.clear();
  auto flood = [&](uint32_t from, uint32_t to) {
    for (uint32_t i = from; i < to; ++i) {
      auto m = codec::DecodeMessage(request);
      ASSERT_TRUE(m.ok());
      m->header.initiator_spi = 1000 + i;
      net.b.manager->OnDatagram(net.b.endpoint(), Endpoint{IpAddress::V4(0x0a800000u + i), 500},
                                codec::EncodeMessage(*m), net.now);
      net.wire.clear();
    }
    net.sent_log.clear();
    net.sent_log.shrink_to_fit();
  };
  flood(0, 100);  // warm-up: pools, tables and the DH key pair exist from here on
  constexpr uint32_t kSas = 2000;
  const long long before = g_live_bytes.load();
  flood(100, 100 + kSas);
  const long long after = g_live_bytes.load();
  ASSERT_EQ(net.b.manager->Statistics().ike_sas_half_open, 100u + kSas);
  const long long per_sa = (after - before) / kSas;
  std::printf("heap per half-open responder IKE SA: %lld bytes (cap default %zu = %zu MiB / %zu)\n",
              per_sa, kDefaultMaxHalfOpen, kHalfOpenMemoryBudget >> 20, kHalfOpenBytesPerSa);
  EXPECT_GT(per_sa, 0);
  EXPECT_LE(per_sa, static_cast<long long>(kHalfOpenBytesPerSa))
      << "a half-open SA grew: measure again and derive DosLimits::max_half_open's default anew";
}

}  // namespace
}  // namespace ipsec::engine::ike
