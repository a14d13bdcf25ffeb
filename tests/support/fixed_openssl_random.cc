// RAND_set_rand_method is deprecated in OpenSSL 3 but still honoured by RAND_bytes_ex and
// RAND_priv_bytes_ex (crypto/rand/rand_lib.c: a method other than RAND_OpenSSL() takes over),
// which is all a test needs; a provider would be far longer.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "tests/support/fixed_openssl_random.h"

#include <openssl/rand.h>

namespace ipsec::testing {
namespace {

uint64_t state = 0;

// SplitMix64 (Steele, Lea, Flood 2014): fast, and plenty for test keys.
uint64_t Next() {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int Bytes(unsigned char* out, int n) {
  for (int i = 0; i < n; i += 8) {
    uint64_t v = Next();
    for (int j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<unsigned char>(v >> (8 * j));
  }
  return 1;
}
int Seed(const void*, int) { return 1; }
int Add(const void*, int, double) { return 1; }
int Status() { return 1; }

const RAND_METHOD kFixed = {Seed, Bytes, nullptr, Add, Bytes, Status};

}  // namespace

void UseFixedOpenSslRandom(uint64_t seed) {
  state = seed;
  RAND_set_rand_method(&kFixed);
}

void UseSystemOpenSslRandom() { RAND_set_rand_method(nullptr); }

}  // namespace ipsec::testing
