#pragma once

// Keys for tshark (Debian 12's Wireshark 4.0), in the two UAT tables it decrypts with:
//
// ikev2_decryption_table, one IKE SA per line (hex without quotes, names quoted):
//   <SPIi 16 hex>,<SPIr 16 hex>,<SK_ei hex>,<SK_er hex>,"<encryption>",<SK_ai hex>,<SK_ar hex>,
//   "<integrity>"
//   e.g. b71fe2ee9728ed2d,e0f2baa309e275c2,4791…4f,b048…31,
//        "AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"
//   AEAD ciphers: SK_ei/SK_er include the 4-byte salt; SK_ai/SK_ar empty, integrity NONE.
//
// esp_sa, one direction of one child SA per line (all fields quoted):
//   "IPv4"|"IPv6","<src or *>","<dst or *>","0x<SPI 8 hex>","<encryption>","0x<key hex>",
//   "<authentication>","0x<key hex>" (or "" with NULL authentication)
//   AES-GCM: "AES-GCM with 16 octet ICV [RFC4106]", key = key || 4-byte salt, authentication
//   "NULL" (tshark then checks the GCM tag itself: esp.icv_good).
//
// Both verified against charon's traffic and keys (tests/interop/tshark_interop_test.cc).
// Algorithms are named by their IANA IKEv2 transform IDs so our engine and charon's log map the
// same way. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipsec::testing {

// IANA IKEv2 Transform Type 1 (encryption) IDs.
enum class EncrId : uint16_t {
  kDes = 2,
  k3Des = 3,
  kNull = 11,
  kAesCbc = 12,
  kAesCtr = 13,
  kAesCcm8 = 14,
  kAesCcm12 = 15,
  kAesCcm16 = 16,
  kAesGcm8 = 18,
  kAesGcm12 = 19,
  kAesGcm16 = 20,
  kChaCha20Poly1305 = 28,
};

// IANA IKEv2 Transform Type 3 (integrity) IDs.
enum class IntegId : uint16_t {
  kNone = 0,
  kHmacMd5_96 = 1,
  kHmacSha1_96 = 2,
  kHmacSha2_256_128 = 12,
  kHmacSha2_384_192 = 13,
  kHmacSha2_512_256 = 14,
};

bool IsAead(EncrId id);

// strongSwan's names as swanctl --list-sas prints them ("AES_GCM_16", "HMAC_SHA2_256_128").
std::optional<EncrId> EncrIdFromStrongswan(std::string_view name);
std::optional<IntegId> IntegIdFromStrongswan(std::string_view name);  // "" -> kNone

// Wireshark 4.0's names; nullopt when tshark cannot decrypt that algorithm (e.g. ChaCha20-
// Poly1305, which 4.0 supports neither for IKEv2 nor for ESP).
std::optional<std::string> TsharkIkeEncryption(EncrId id, int key_bits);
std::optional<std::string> TsharkIkeIntegrity(IntegId id);
std::optional<std::string> TsharkEspEncryption(EncrId id);
std::optional<std::string> TsharkEspAuthentication(EncrId encr, IntegId integ);

struct IkeSaKeys {
  uint64_t spi_i = 0;
  uint64_t spi_r = 0;
  EncrId encr = EncrId::kAesGcm16;
  int encr_key_bits = 128;
  IntegId integ = IntegId::kNone;
  std::string sk_ei, sk_er, sk_ai, sk_ar;  // lowercase hex, no separators
};

// One direction of a child SA: packets from `src` to `dst` with `spi`.
struct EspSaKeys {
  bool ipv6 = false;
  std::string src = "*";  // an address, or * (any: NAT changes addresses along the path)
  std::string dst = "*";
  uint32_t spi = 0;
  EncrId encr = EncrId::kAesGcm16;
  IntegId integ = IntegId::kNone;
  std::string encr_key;  // hex; AES-GCM: key || salt
  std::string integ_key;
};

// One UAT line each (no newline); false with `error` for an algorithm tshark cannot decrypt.
bool IkeDecryptionTableLine(const IkeSaKeys& keys, std::string* line, std::string* error);
bool EspSaLine(const EspSaKeys& keys, std::string* line, std::string* error);

}  // namespace ipsec::testing
