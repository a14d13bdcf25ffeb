# Test doubles shared by the unit tests (tests/) and the fuzzers (fuzz/), defined once whichever
# includes this first (../shared/STYLE.md rule 13: test doubles in one place).
include_guard(GLOBAL)

# Test PKI (keys and certificates made at test time): engine/crypto's and the IKE tests, the
# certificate fuzzer's seeds.
add_library(ipsec_test_pki STATIC ${PROJECT_SOURCE_DIR}/tests/engine/crypto/test_pki.cc)
target_link_libraries(ipsec_test_pki PUBLIC ipsec_crypto PRIVATE OpenSSL::Crypto)

# OpenSSL's random generator as a fixed stream (key generation made reproducible).
add_library(ipsec_fixed_openssl_random STATIC
  ${PROJECT_SOURCE_DIR}/tests/support/fixed_openssl_random.cc)
target_link_libraries(ipsec_fixed_openssl_random PRIVATE OpenSSL::Crypto)

# Two in-process IKE peers (tests/support/ike_peers.h).
add_library(ipsec_ike_test_support STATIC ${PROJECT_SOURCE_DIR}/tests/support/ike_peers.cc)
target_link_libraries(ipsec_ike_test_support PUBLIC ipsec_ike ipsec_dataplane)
