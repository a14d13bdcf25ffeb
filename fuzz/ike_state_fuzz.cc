// libFuzzer target: the IKE state machine (two in-process peers) under a program of operations
// (ike_state_harness.h says which, and what is checked after every step).
//
// Input: octet 0 picks the Scenario, the rest are operations. Each input starts from fresh
// peers with the same seeds and OpenSSL's random restarted, so it replays exactly.

#include <cstdint>

#include "fuzz/ike_state_harness.h"
#include "tests/support/fixed_openssl_random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ipsec::testing::UseFixedOpenSslRandom(0x5eed);
  const auto scenario = static_cast<ipsec::fuzz::Scenario>(
      data[0] % static_cast<uint8_t>(ipsec::fuzz::Scenario::kCount));
  ipsec::fuzz::StateHarness harness(scenario);
  harness.Run(ipsec::ByteSpan(data + 1, size - 1));
  harness.Teardown();
  return 0;
}
