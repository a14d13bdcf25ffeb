#pragma once

// OpenSSL's random generator as a fixed stream, for fuzzers and reproducible tests only (never
// linked into the daemon): the engine's key pairs (crypto::KeyExchange::Generate: DH, ECDH,
// X25519), signatures' nonces and anything else drawn through RAND_bytes/RAND_priv_bytes then
// come out the same in every run, so two in-process IKE peers with seeded Random (ike_peers.h)
// exchange the same bytes each time and recorded datagrams stay valid.

#include <cstdint>

namespace ipsec::testing {

// From now on, OpenSSL's random bytes are the stream of `seed`, restarted by each call.
// Not thread-safe: call it while no other thread uses OpenSSL.
void UseFixedOpenSslRandom(uint64_t seed);
// OpenSSL's own DRBG again.
void UseSystemOpenSslRandom();

}  // namespace ipsec::testing
