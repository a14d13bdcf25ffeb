#pragma once

// Shared helpers for the engine/esp tests: transforms by name with deterministic keys, and a
// packet buffer with head- and tailroom.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/secret_bytes.h"
#include "engine/esp/transform.h"

namespace ipsec::engine::esp::testing {

inline Bytes Hex(std::string_view hex) {
  std::optional<Bytes> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in test: " << hex;
  return bytes.value_or(Bytes());
}

inline SecretBytes Secret(const Bytes& b) {
  return SecretBytes(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

// A key of `n` octets: seed, seed+1, ...
inline Bytes KeyBytes(size_t n, uint8_t seed) {
  Bytes k(n);
  for (size_t i = 0; i < n; ++i) k[i] = static_cast<uint8_t>(seed + i);
  return k;
}

struct NamedTransform {
  std::string name;
  uint16_t encryption_id;
  uint16_t key_bits;
  size_t encryption_key_size;  // with the salt for AEADs
  uint16_t integrity_id;
  size_t integrity_key_size;
};

// Every ESP transform the engine supports.
inline std::vector<NamedTransform> AllEspTransforms() {
  return {
      {"AesGcm128", kEncrAesGcm16, 128, 20, kAuthNone, 0},
      {"AesGcm256", kEncrAesGcm16, 256, 36, kAuthNone, 0},
      {"ChaCha20Poly1305", kEncrChaCha20Poly1305, 256, 36, kAuthNone, 0},
      {"AesCbc128Sha256", kEncrAesCbc, 128, 16, kAuthHmacSha2_256_128, 32},
      {"AesCbc256Sha384", kEncrAesCbc, 256, 32, kAuthHmacSha2_384_192, 48},
      {"AesCbc256Sha512", kEncrAesCbc, 256, 32, kAuthHmacSha2_512_256, 64},
      {"AesCbc192Sha256", kEncrAesCbc, 192, 24, kAuthHmacSha2_256_128, 32},
      {"NullSha256", kEncrNull, 0, 0, kAuthHmacSha2_256_128, 32},
      {"NullSha512", kEncrNull, 0, 0, kAuthHmacSha2_512_256, 64},
      {"TripleDesSha1", kEncr3Des, 192, 24, kAuthHmacSha1_96, 20},
      {"AesCbc128Md5", kEncrAesCbc, 128, 16, kAuthHmacMd5_96, 16},
  };
}

inline SaParams MakeParams(const NamedTransform& t, bool esn, Mode mode = Mode::kTunnel,
                           uint32_t spi = 0x01020304, unsigned workers = 1) {
  SaParams p;
  p.spi = spi;
  p.protocol = Protocol::kEsp;
  p.mode = mode;
  p.workers = workers;
  p.transform.encryption_id = t.encryption_id;
  p.transform.encryption_key_bits = t.key_bits;
  p.transform.integrity_id = t.integrity_id;
  p.transform.esn = esn;
  p.transform.encryption_key = Secret(KeyBytes(t.encryption_key_size, 0x10));
  p.transform.integrity_key = Secret(KeyBytes(t.integrity_key_size, 0x80));
  return p;
}

// A buffer with `headroom` octets, the payload, then `tailroom` octets.
struct PacketBuffer {
  PacketBuffer(const Bytes& payload, size_t headroom, size_t tailroom)
      : bytes(headroom + payload.size() + tailroom, 0xEE),
        offset(headroom),
        length(payload.size()) {
    std::copy(payload.begin(), payload.end(), bytes.begin() + static_cast<long>(headroom));
  }
  Bytes bytes;
  size_t offset;
  size_t length;
};

// A plausible inner IPv4/UDP packet of `size` octets (size >= 28).
inline Bytes SampleIpv4Packet(size_t size, uint8_t fill = 0x5A) {
  Bytes p(size, fill);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(size >> 8);
  p[3] = static_cast<uint8_t>(size);
  p[8] = 64;
  p[9] = 17;
  return p;
}

}  // namespace ipsec::engine::esp::testing
