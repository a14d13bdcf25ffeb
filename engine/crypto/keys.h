#pragma once

#include <string>
#include <string_view>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/openssl_types.h"

namespace ipsec::engine::crypto {

// The asymmetric key types IKEv2 authentication uses here: RSA (RFC 7296 auth method 1, RFC
// 7427), ECDSA on the NIST curves (RFC 4754 methods 9-11, RFC 7427), Ed25519 (RFC 8420).
enum class KeyType { kRsa, kEcdsaP256, kEcdsaP384, kEcdsaP521, kEd25519 };

const char* KeyTypeName(KeyType type);  // "RSA", "ECDSA P-256", ..., "Ed25519"

// RSA keys shorter than this are refused (FromPem, FromSpkiDer, certificates' keys).
inline constexpr int kMinRsaBits = 1024;

// A public key. Shares one reference-counted, immutable OpenSSL key: copies are cheap and
// may be used from several threads at once.
class PublicKey {
 public:
  // From a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
  static Result<PublicKey> FromSpkiDer(ByteSpan der);
  // From PEM "PUBLIC KEY" text.
  static Result<PublicKey> FromPem(std::string_view pem);

  PublicKey(const PublicKey& other);
  PublicKey& operator=(const PublicKey& other);
  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;
  ~PublicKey() = default;

  KeyType type() const { return type_; }
  int bits() const;                 // RSA modulus bits, curve bits, 256 for Ed25519
  std::string Description() const;  // "RSA-2048", "ECDSA P-256", "Ed25519"
  Bytes SpkiDer() const;
  bool operator==(const PublicKey& other) const;

  // The OpenSSL key, for engine/crypto's own use (other modules cannot include OpenSSL).
  evp_pkey_st* get() const { return key_.get(); }

 private:
  friend class PrivateKey;
  friend class CertificateFactory;
  static Result<PublicKey> Adopt(OpenSslPtr<evp_pkey_st> key);
  PublicKey(OpenSslPtr<evp_pkey_st> key, KeyType type) : key_(std::move(key)), type_(type) {}

  OpenSslPtr<evp_pkey_st> key_;
  KeyType type_;
};

// A private key (ours, for AUTH signatures). The caller reads the file; this parses it.
// Copies share one immutable OpenSSL key. Never printed: there is no way to get the key
// material back out.
class PrivateKey {
 public:
  // PEM "PRIVATE KEY" (PKCS #8), "RSA PRIVATE KEY" or "EC PRIVATE KEY"; other PEM blocks in
  // the text (a certificate before the key) are skipped. Encrypted keys are refused (the
  // sidecar reads keys from mounted Secrets, unencrypted), and OpenSSL never prompts.
  static Result<PrivateKey> FromPem(std::string_view pem);

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;
  ~PrivateKey() = default;

  KeyType type() const { return type_; }
  int bits() const;
  // The matching public key (a separate OpenSSL object without the private part).
  PublicKey Public() const;
  // True iff `key` is this key's public half (a certificate's key must match ours).
  bool Matches(const PublicKey& key) const;

  evp_pkey_st* get() const { return key_.get(); }

 private:
  PrivateKey(OpenSslPtr<evp_pkey_st> key, KeyType type) : key_(std::move(key)), type_(type) {}

  OpenSslPtr<evp_pkey_st> key_;
  KeyType type_;
};

}  // namespace ipsec::engine::crypto
