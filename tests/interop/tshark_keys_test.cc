#include "tests/support/tshark_keys.h"

#include <gtest/gtest.h>

namespace ipsec::testing {
namespace {

// The exact lines below were accepted by Debian 12's tshark 4.0.17 and decrypted charon's
// traffic (tests/interop/tshark_interop_test.cc repeats that on every run).
TEST(TsharkKeysTest, IkeAeadLine) {
  IkeSaKeys k;
  k.spi_i = 0xb71fe2ee9728ed2dULL;
  k.spi_r = 0xe0f2baa309e275c2ULL;
  k.encr = EncrId::kAesGcm16;
  k.encr_key_bits = 128;
  k.sk_ei = "4791c0bfdf9ee3720e63ac270ddaad2c6cf9334f";
  k.sk_er = "b048be4c52f19e3897a7e6d92e1d2404e7dde831";
  k.sk_ai = "abcd";  // AEAD: no integrity keys in the table, whatever is set
  std::string line, error;
  ASSERT_TRUE(IkeDecryptionTableLine(k, &line, &error)) << error;
  EXPECT_EQ(line,
            "b71fe2ee9728ed2d,e0f2baa309e275c2,4791c0bfdf9ee3720e63ac270ddaad2c6cf9334f,"
            "b048be4c52f19e3897a7e6d92e1d2404e7dde831,\"AES-GCM-128 with 16 octet ICV "
            "[RFC5282]\",,,\"NONE [RFC4306]\"");
}

TEST(TsharkKeysTest, IkeCbcLineWithLeadingZeroSpi) {
  IkeSaKeys k;
  k.spi_i = 0x00000000000000ffULL;
  k.spi_r = 0x1ULL;
  k.encr = EncrId::kAesCbc;
  k.encr_key_bits = 256;
  k.integ = IntegId::kHmacSha2_256_128;
  k.sk_ei = std::string(32, 'a');
  k.sk_er = std::string(32, 'b');
  k.sk_ai = std::string(32, 'c');
  k.sk_ar = std::string(32, 'd');
  std::string line, error;
  ASSERT_TRUE(IkeDecryptionTableLine(k, &line, &error)) << error;
  EXPECT_EQ(line, "00000000000000ff,0000000000000001," + std::string(32, 'a') + "," +
                      std::string(32, 'b') + ",\"AES-CBC-256 [RFC3602]\"," + std::string(32, 'c') +
                      "," + std::string(32, 'd') + ",\"HMAC_SHA2_256_128 [RFC4868]\"");
}

TEST(TsharkKeysTest, IkeRejectsWhatTsharkCannotDecrypt) {
  IkeSaKeys k;
  k.encr = EncrId::kChaCha20Poly1305;
  k.encr_key_bits = 256;
  std::string line, error;
  EXPECT_FALSE(IkeDecryptionTableLine(k, &line, &error));
  EXPECT_NE(error.find("cannot decrypt"), std::string::npos);
  k.encr = EncrId::kAesGcm16;
  k.sk_ei = "xyz";
  EXPECT_FALSE(IkeDecryptionTableLine(k, &line, &error));
}

TEST(TsharkKeysTest, EspGcmLine) {
  EspSaKeys k;
  k.spi = 0x6e34800f;
  k.encr = EncrId::kAesGcm16;
  k.encr_key = "54063f03d80865c64c0523490b12ed91562f4852";
  std::string line, error;
  ASSERT_TRUE(EspSaLine(k, &line, &error)) << error;
  EXPECT_EQ(line,
            "\"IPv4\",\"*\",\"*\",\"0x6e34800f\",\"AES-GCM with 16 octet ICV [RFC4106]\","
            "\"0x54063f03d80865c64c0523490b12ed91562f4852\",\"NULL\",\"\"");
}

TEST(TsharkKeysTest, EspCbcLineWithAddresses) {
  EspSaKeys k;
  k.ipv6 = true;
  k.src = "fd99:1::2";
  k.dst = "fd99:2::2";
  k.spi = 0x0000abcd;
  k.encr = EncrId::kAesCbc;
  k.integ = IntegId::kHmacSha2_256_128;
  k.encr_key = "00ff";
  k.integ_key = "ee11";
  std::string line, error;
  ASSERT_TRUE(EspSaLine(k, &line, &error)) << error;
  EXPECT_EQ(line,
            "\"IPv6\",\"fd99:1::2\",\"fd99:2::2\",\"0x0000abcd\",\"AES-CBC [RFC3602]\","
            "\"0x00ff\",\"HMAC-SHA-256-128 [RFC4868]\",\"0xee11\"");
}

TEST(TsharkKeysTest, Names) {
  EXPECT_EQ(EncrIdFromStrongswan("AES_GCM_16"), EncrId::kAesGcm16);
  EXPECT_EQ(EncrIdFromStrongswan("AES_CBC"), EncrId::kAesCbc);
  EXPECT_EQ(EncrIdFromStrongswan("CHACHA20_POLY1305"), EncrId::kChaCha20Poly1305);
  EXPECT_FALSE(EncrIdFromStrongswan("SERPENT_CBC"));
  EXPECT_EQ(IntegIdFromStrongswan(""), IntegId::kNone);
  EXPECT_EQ(IntegIdFromStrongswan("HMAC_SHA2_512_256"), IntegId::kHmacSha2_512_256);
  EXPECT_EQ(*TsharkIkeEncryption(EncrId::kAesGcm16, 256),
            "AES-GCM-256 with 16 octet ICV [RFC5282]");
  EXPECT_EQ(*TsharkIkeEncryption(EncrId::kAesCbc, 128), "AES-CBC-128 [RFC3602]");
  EXPECT_FALSE(TsharkIkeEncryption(EncrId::kAesCbc, 100));
  EXPECT_EQ(*TsharkIkeIntegrity(IntegId::kHmacSha1_96), "HMAC_SHA1_96 [RFC2404]");
  EXPECT_EQ(*TsharkEspEncryption(EncrId::kAesGcm8), "AES-GCM with 8 octet ICV [RFC4106]");
  EXPECT_EQ(*TsharkEspEncryption(EncrId::k3Des), "TripleDES-CBC [RFC2451]");
  EXPECT_FALSE(TsharkEspEncryption(EncrId::kChaCha20Poly1305));
  EXPECT_EQ(*TsharkEspAuthentication(EncrId::kAesGcm16, IntegId::kNone), "NULL");
  EXPECT_FALSE(TsharkEspAuthentication(EncrId::kAesGcm16, IntegId::kHmacSha1_96));
  EXPECT_EQ(*TsharkEspAuthentication(EncrId::kAesCbc, IntegId::kHmacSha2_384_192),
            "HMAC-SHA-384-192 [RFC4868]");
}

}  // namespace
}  // namespace ipsec::testing
