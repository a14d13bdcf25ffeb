#include "engine/crypto/keys.h"

#include <openssl/ec.h>
#include <openssl/pem.h>

#include <climits>
#include <cstring>
#include <optional>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

using internal::BioPtr;
using internal::PkeyPtr;

// The key type of an OpenSSL key, or an error naming what is not supported.
Result<KeyType> TypeOf(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                             " bits is too short (minimum " + std::to_string(kMinRsaBits) + ")");
      }
      return KeyType::kRsa;
    case EVP_PKEY_EC: {
      char curve[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, curve, sizeof(curve), &len) != 1) break;
      switch (OBJ_sn2nid(curve)) {
        case NID_X9_62_prime256v1:
          return KeyType::kEcdsaP256;
        case NID_secp384r1:
          return KeyType::kEcdsaP384;
        case NID_secp521r1:
          return KeyType::kEcdsaP521;
        default:
          return MakeError(ErrorCode::kUnimplemented, std::string("EC curve ") + curve +
                                                          " is not supported (P-256, P-384 "
                                                          "and P-521 are)");
      }
    }
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    default:
      break;
  }
  internal::ClearOpenSslErrors();
  return MakeError(ErrorCode::kUnimplemented, std::string("key type ") +
                                                  EVP_PKEY_get0_type_name(key) +
                                                  " is not supported (RSA, ECDSA and Ed25519 are)");
}

BioPtr MemBio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Refuses to ask for a passphrase: keys come unencrypted from mounted Secrets.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

const char* KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEcdsaP256:
      return "ECDSA P-256";
    case KeyType::kEcdsaP384:
      return "ECDSA P-384";
    case KeyType::kEcdsaP521:
      return "ECDSA P-521";
    case KeyType::kEd25519:
      return "Ed25519";
  }
  return "unknown";
}

Result<PublicKey> PublicKey::Adopt(OpenSslPtr<EVP_PKEY> key) {
  Result<KeyType> type = TypeOf(key.get());
  if (!type.ok()) return type.error();
  return PublicKey(std::move(key), *type);
}

Result<PublicKey> PublicKey::FromSpkiDer(ByteSpan der) {
  if (der.size() > INT_MAX) return MakeError(ErrorCode::kInvalidArgument, "SPKI too long");
  const unsigned char* p = der.data();
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument, "bad SubjectPublicKeyInfo");
  }
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "trailing bytes after SubjectPublicKeyInfo");
  }
  return Adopt(std::move(key));
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio = MemBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (key == nullptr) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument, "no PEM public key");
  }
  return Adopt(std::move(key));
}

PublicKey::PublicKey(const PublicKey& other)
    : key_(internal::UpRef(other.key_.get())), type_(other.type_) {}

PublicKey& PublicKey::operator=(const PublicKey& other) {
  if (this != &other) {
    key_ = internal::UpRef(other.key_.get());
    type_ = other.type_;
  }
  return *this;
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

std::string PublicKey::Description() const {
  if (type_ == KeyType::kRsa) return "RSA-" + std::to_string(bits());
  return KeyTypeName(type_);
}

Bytes PublicKey::SpkiDer() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) {
    internal::ClearOpenSslErrors();
    return {};
  }
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

bool PublicKey::operator==(const PublicKey& other) const {
  bool equal = EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
  if (!equal) internal::ClearOpenSslErrors();  // keys of different types leave an entry
  return equal;
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "encrypted private keys are not supported: provide the key unencrypted "
                     "(e.g. as a Kubernetes Secret)");
  }
  BioPtr bio = MemBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (key == nullptr) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument, "no PEM private key");
  }
  Result<KeyType> type = TypeOf(key.get());
  if (!type.ok()) return type.error();
  return PrivateKey(std::move(key), *type);
}

PrivateKey::PrivateKey(const PrivateKey& other)
    : key_(internal::UpRef(other.key_.get())), type_(other.type_) {}

PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  if (this != &other) {
    key_ = internal::UpRef(other.key_.get());
    type_ = other.type_;
  }
  return *this;
}

int PrivateKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

PublicKey PrivateKey::Public() const {
  // Through the SPKI encoding, so that the public key holds no private material.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_.get(), &der);
  const unsigned char* p = der;
  PkeyPtr pub(len > 0 ? d2i_PUBKEY(nullptr, &p, len) : nullptr);
  OPENSSL_free(der);
  if (pub == nullptr) {  // out of memory: share the key object rather than fail
    internal::ClearOpenSslErrors();
    return PublicKey(internal::UpRef(key_.get()), type_);
  }
  return PublicKey(std::move(pub), type_);
}

bool PrivateKey::Matches(const PublicKey& key) const {
  bool equal = EVP_PKEY_eq(key_.get(), key.get()) == 1;
  if (!equal) internal::ClearOpenSslErrors();
  return equal;
}

}  // namespace ipsec::engine::crypto
