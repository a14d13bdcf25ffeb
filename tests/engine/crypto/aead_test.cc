#include "engine/crypto/aead.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_hex.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Hex;
using testing::Repeat;
using testing::Text;

struct Vector {
  const char* source;
  AeadAlgorithm algorithm;
  Bytes key;
  Bytes nonce;
  Bytes aad;
  Bytes plaintext;
  Bytes ciphertext_and_tag;
};

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 1-4 (AES-128) and
// 13-16 (AES-256), the ones with 96-bit IVs; RFC 7539 §2.8.2 (ChaCha20-Poly1305).
std::vector<Vector> Vectors() {
  using A = AeadAlgorithm;
  const Bytes k128 = Hex("feffe9928665731c6d6a8f9467308308");
  const Bytes k256 = Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const Bytes iv = Hex("cafebabefacedbaddecaf888");
  const Bytes p64 =
      Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
  const Bytes p60(p64.begin(), p64.begin() + 60);
  const Bytes aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  return {
      {"GCM TC1",
       A::kAes128Gcm16,
       Repeat(0, 16),
       Repeat(0, 12),
       {},
       {},
       Hex("58e2fccefa7e3061367f1d57a4e7455a")},
      {"GCM TC2",
       A::kAes128Gcm16,
       Repeat(0, 16),
       Repeat(0, 12),
       {},
       Repeat(0, 16),
       Hex("0388dace60b6a392f328c2b971b2fe78 ab6e47d42cec13bdf53a67b21257bddf")},
      {"GCM TC3",
       A::kAes128Gcm16,
       k128,
       iv,
       {},
       p64,
       Hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
           "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
           "4d5c2af327cd64a62cf35abd2ba6fab4")},
      {"GCM TC4", A::kAes128Gcm16, k128, iv, aad, p60,
       Hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
           "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
           "5bc94fbc3221a5db94fae95ae7121a47")},
      {"GCM TC13",
       A::kAes256Gcm16,
       Repeat(0, 32),
       Repeat(0, 12),
       {},
       {},
       Hex("530f8afbc74536b9a963b4f1c4cb738b")},
      {"GCM TC14",
       A::kAes256Gcm16,
       Repeat(0, 32),
       Repeat(0, 12),
       {},
       Repeat(0, 16),
       Hex("cea7403d4d606b6e074ec5d3baf39d18 d0d1c8a799996bf0265b98b5d48ab919")},
      {"GCM TC15",
       A::kAes256Gcm16,
       k256,
       iv,
       {},
       p64,
       Hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
           "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
           "b094dac5d93471bdec1a502270e3cc6c")},
      {"GCM TC16", A::kAes256Gcm16, k256, iv, aad, p60,
       Hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
           "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
           "76fc6ece0f4e1768cddf8853bb2d551b")},
      {"RFC 7539 §2.8.2", A::kChaCha20Poly1305,
       Hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
       Hex("070000004041424344454647"), Hex("50515253c0c1c2c3c4c5c6c7"),
       Text("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
            "the future, sunscreen would be it."),
       Hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
           "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
           "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
           "3ff4def08e4b7a9de576d26586cec64b6116"
           "1ae10b594f09e26a7e902ecbd0600691")},
  };
}

TEST(AeadTest, Sizes) {
  EXPECT_EQ(AeadKeySize(AeadAlgorithm::kAes128Gcm16), 16u);
  EXPECT_EQ(AeadKeySize(AeadAlgorithm::kAes256Gcm16), 32u);
  EXPECT_EQ(AeadKeySize(AeadAlgorithm::kChaCha20Poly1305), 32u);
  EXPECT_EQ(kAeadTagSize, 16u);
  EXPECT_EQ(kAeadNonceSize, 12u);
}

TEST(AeadTest, KnownAnswersSealAndOpen) {
  for (const Vector& v : Vectors()) {
    Result<Aead> aead = Aead::Create(v.algorithm, v.key);
    ASSERT_TRUE(aead.ok()) << v.source << ": " << aead.error().ToString();
    for (int round = 0; round < 2; ++round) {  // contexts are reused
      Bytes sealed(v.plaintext.size() + kAeadTagSize);
      ASSERT_TRUE(aead->Seal(v.nonce, v.aad, v.plaintext, sealed.data()).ok()) << v.source;
      EXPECT_EQ(ToHex(sealed), ToHex(v.ciphertext_and_tag)) << v.source;
      Bytes opened(v.plaintext.size() + 1, 0xee);  // one spare byte must stay untouched
      Status s = aead->Open(v.nonce, v.aad, v.ciphertext_and_tag, opened.data());
      ASSERT_TRUE(s.ok()) << v.source << ": " << s.error().ToString();
      EXPECT_EQ(Bytes(opened.begin(), opened.end() - 1), v.plaintext) << v.source;
      EXPECT_EQ(opened.back(), 0xee);
    }
  }
}

TEST(AeadTest, InPlace) {
  for (const Vector& v : Vectors()) {
    Result<Aead> aead = Aead::Create(v.algorithm, v.key);
    ASSERT_TRUE(aead.ok());
    Bytes buf = v.plaintext;
    buf.resize(v.plaintext.size() + kAeadTagSize);
    ASSERT_TRUE(
        aead->Seal(v.nonce, v.aad, ByteSpan(buf).first(v.plaintext.size()), buf.data()).ok());
    EXPECT_EQ(buf, v.ciphertext_and_tag) << v.source;
    ASSERT_TRUE(aead->Open(v.nonce, v.aad, buf, buf.data()).ok()) << v.source;
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<long>(v.plaintext.size())), v.plaintext);
  }
}

// OpenSSL's default provider offers its cipher functions: the per-packet path skips EVP (the
// known-answer tests above then check that path).
TEST(AeadTest, UsesTheProviderFunctionsDirectly) {
  for (const Vector& v : Vectors()) {
    Result<Aead> aead = Aead::Create(v.algorithm, v.key);
    ASSERT_TRUE(aead.ok());
    EXPECT_TRUE(aead->direct()) << v.source;
  }
}

TEST(AeadTest, SealPartsMatchesTheKnownAnswersForEverySplit) {
  for (const Vector& v : Vectors()) {
    Result<Aead> aead = Aead::Create(v.algorithm, v.key);
    ASSERT_TRUE(aead.ok());
    const ByteSpan plain(v.plaintext);
    // Cut points at odd offsets and inside blocks: the stream modes must not care.
    for (size_t a = 0; a <= plain.size(); a += 7) {
      for (size_t b = a; b <= plain.size(); b += 13) {
        const ByteSpan parts[] = {plain.first(a), plain.subspan(a, b - a), plain.subspan(b)};
        Bytes out(plain.size() + kAeadTagSize + 1, 0xee);
        ASSERT_TRUE(aead->SealParts(v.nonce, v.aad, parts, 3, out.data()).ok()) << v.source;
        EXPECT_EQ(out.back(), 0xee);
        out.pop_back();
        ASSERT_EQ(ToHex(out), ToHex(v.ciphertext_and_tag)) << v.source << " cut " << a << "," << b;
      }
    }
    Bytes out(kAeadTagSize);
    EXPECT_FALSE(aead->SealParts(Repeat(0, 13), v.aad, nullptr, 0, out.data()).ok());
  }
}

TEST(AeadTest, TamperingIsAnAuthenticationFailureAndWipesTheOutput) {
  for (const Vector& v : Vectors()) {
    Result<Aead> aead = Aead::Create(v.algorithm, v.key);
    ASSERT_TRUE(aead.ok());
    auto open_fails = [&](ByteSpan nonce, ByteSpan aad, Bytes sealed, const char* what) {
      Bytes out(sealed.size() - kAeadTagSize, 0x5a);
      Status s = aead->Open(nonce, aad, sealed, out.data());
      EXPECT_TRUE(IsAuthFailure(s)) << v.source << " " << what;
      EXPECT_EQ(out, Bytes(out.size(), 0)) << v.source << " " << what << ": output not wiped";
    };
    Bytes bad_tag = v.ciphertext_and_tag;
    bad_tag[bad_tag.size() - 1] ^= 1;
    open_fails(v.nonce, v.aad, bad_tag, "tag");
    if (!v.plaintext.empty()) {
      Bytes bad_ct = v.ciphertext_and_tag;
      bad_ct[0] ^= 0x80;
      open_fails(v.nonce, v.aad, bad_ct, "ciphertext");
    }
    Bytes bad_aad = v.aad;
    bad_aad.push_back(0);
    open_fails(v.nonce, bad_aad, v.ciphertext_and_tag, "aad");
    Bytes bad_nonce = v.nonce;
    bad_nonce[11] ^= 1;
    open_fails(bad_nonce, v.aad, v.ciphertext_and_tag, "nonce");
    // And the same object still opens the genuine message afterwards.
    Bytes out(v.plaintext.size());
    EXPECT_TRUE(aead->Open(v.nonce, v.aad, v.ciphertext_and_tag, out.data()).ok());
    EXPECT_EQ(out, v.plaintext);
  }
}

TEST(AeadTest, AuthFailureIsDistinctFromBadInput) {
  Result<Aead> aead = Aead::Create(AeadAlgorithm::kAes128Gcm16, Repeat(7, 16));
  ASSERT_TRUE(aead.ok());
  Bytes out(64);
  Status short_nonce = aead->Open(Repeat(0, 8), {}, Repeat(0, 32), out.data());
  EXPECT_FALSE(short_nonce.ok());
  EXPECT_FALSE(IsAuthFailure(short_nonce));
  EXPECT_EQ(short_nonce.error().code, ErrorCode::kInvalidArgument);
  Status no_tag = aead->Open(Repeat(0, 12), {}, Repeat(0, 15), out.data());
  EXPECT_EQ(no_tag.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(IsAuthFailure(no_tag));
  Status seal_long_nonce = aead->Seal(Repeat(0, 13), {}, Repeat(0, 16), out.data());
  EXPECT_EQ(seal_long_nonce.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(IsAuthFailure(Status::Ok()));
}

TEST(AeadTest, RefusesWrongKeySizes) {
  using A = AeadAlgorithm;
  for (A a : {A::kAes128Gcm16, A::kAes256Gcm16, A::kChaCha20Poly1305}) {
    // Key plus salt (KEYMAT's layout) is a mistake the caller must not make.
    for (size_t size : {size_t{0}, AeadKeySize(a) - 1, AeadKeySize(a) + kAeadSaltSize}) {
      Result<Aead> aead = Aead::Create(a, Repeat(1, size));
      ASSERT_FALSE(aead.ok()) << AeadName(a) << " " << size;
      EXPECT_EQ(aead.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(aead.error().message.find("without the salt"), std::string::npos);
    }
  }
}

TEST(AeadTest, RoundTripsManyPacketsOnOneObject) {
  for (AeadAlgorithm a : {AeadAlgorithm::kAes128Gcm16, AeadAlgorithm::kAes256Gcm16,
                          AeadAlgorithm::kChaCha20Poly1305}) {
    Result<Aead> sender = Aead::Create(a, Repeat(9, AeadKeySize(a)));
    Result<Aead> receiver = Aead::Create(a, Repeat(9, AeadKeySize(a)));
    ASSERT_TRUE(sender.ok() && receiver.ok());
    for (uint32_t seq = 1; seq <= 200; ++seq) {
      Bytes nonce = Hex("01020304 0000000000000000");  // salt || 8-byte IV (RFC 4106 §4)
      nonce[8] = static_cast<uint8_t>(seq >> 24);
      nonce[11] = static_cast<uint8_t>(seq);
      Bytes aad = Repeat(static_cast<uint8_t>(seq), 8);  // SPI || sequence number
      Bytes packet = Repeat(static_cast<uint8_t>(seq * 7), seq * 7 % 1500);
      Bytes wire(packet.size() + kAeadTagSize);
      ASSERT_TRUE(sender->Seal(nonce, aad, packet, wire.data()).ok());
      Bytes back(packet.size());
      ASSERT_TRUE(receiver->Open(nonce, aad, wire, back.data()).ok()) << seq;
      ASSERT_EQ(back, packet);
    }
  }
}

}  // namespace
}  // namespace ipsec::engine::crypto
