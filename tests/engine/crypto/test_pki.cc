#include "tests/engine/crypto/test_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "engine/crypto/dn.h"

namespace ipsec::engine::crypto::testing {
namespace {

// Test helpers fail loudly: a broken test PKI is a broken test, not a condition to handle.
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "test_pki: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

template <typename T>
T* Check(T* p, const char* what) {
  if (p == nullptr) Die(what);
  return p;
}

void Check(int rc, const char* what) {
  if (rc <= 0) Die(what);
}

std::string PemOf(EVP_PKEY* key) {
  BIO* bio = Check(BIO_new(BIO_s_mem()), "BIO_new");
  Check(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), "PEM key");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

EVP_PKEY* Generate(KeyKind kind) {
  switch (kind) {
    case KeyKind::kRsa2048:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
    case KeyKind::kEcP256:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    case KeyKind::kEcP384:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    case KeyKind::kEcP521:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
    case KeyKind::kEd25519:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  return nullptr;
}

struct CachedKey {
  std::string pem;
  PrivateKey key;
};

const CachedKey& Cached(KeyKind kind, int index) {
  static std::mutex mu;
  static auto* cache = new std::map<std::pair<KeyKind, int>, std::unique_ptr<CachedKey>>();
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = (*cache)[{kind, index}];
  if (slot == nullptr) {
    EVP_PKEY* pkey = Check(Generate(kind), "key generation");
    std::string pem = PemOf(pkey);
    EVP_PKEY_free(pkey);
    Result<PrivateKey> key = PrivateKey::FromPem(pem);
    if (!key.ok()) Die("PrivateKey::FromPem of a generated key");
    slot = std::make_unique<CachedKey>(CachedKey{pem, std::move(key).value()});
  }
  return *slot;
}

void AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext =
      Check(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()), "X509V3_EXT_nconf_nid");
  Check(X509_add_ext(cert, ext, -1), "X509_add_ext");
  X509_EXTENSION_free(ext);
}

std::string AltNames(const CertOptions& options) {
  std::string out;
  auto add = [&out](const char* type, const std::string& value) {
    out += (out.empty() ? "" : ",") + std::string(type) + ":" + value;
  };
  for (const std::string& v : options.dns) add("DNS", v);
  for (const std::string& v : options.ips) add("IP", v);
  for (const std::string& v : options.emails) add("email", v);
  return out;
}

X509_NAME* NameFromText(const std::string& text) {
  Result<Bytes> der = DnFromString(text);
  if (!der.ok()) Die("DnFromString of a test subject");
  const unsigned char* p = der->data();
  return Check(d2i_X509_NAME(nullptr, &p, static_cast<long>(der->size())), "d2i_X509_NAME");
}

const EVP_MD* DigestFor(Hash hash) {
  switch (hash) {
    case Hash::kMd5:
      return EVP_md5();
    case Hash::kSha1:
      return EVP_sha1();
    case Hash::kSha256:
      return EVP_sha256();
    case Hash::kSha384:
      return EVP_sha384();
    case Hash::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

Certificate ToCertificate(X509* x509) {
  unsigned char* der = nullptr;
  int len = i2d_X509(x509, &der);
  Check(len, "i2d_X509");
  Result<Certificate> cert = Certificate::FromDer(ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  if (!cert.ok()) Die("Certificate::FromDer of a generated certificate");
  return std::move(cert).value();
}

// Builds and signs a certificate. `issuer` null means self-signed.
TestCert Build(const CertOptions& options, const TestCert* issuer) {
  static std::atomic<long> next_serial{1000};
  const CachedKey& subject_key = Cached(options.key, options.key_index);
  X509* cert = Check(X509_new(), "X509_new");
  Check(X509_set_version(cert, X509_VERSION_3), "X509_set_version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(cert), next_serial++), "serial");
  X509_NAME* subject = NameFromText(options.subject);
  Check(X509_set_subject_name(cert, subject), "subject");
  Check(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert.get()) : subject),
        "issuer");
  X509_NAME_free(subject);
  Check(X509_set_pubkey(cert, subject_key.key.get()), "X509_set_pubkey");
  Check(ASN1_TIME_set(X509_getm_notBefore(cert), options.not_before) != nullptr, "notBefore");
  Check(ASN1_TIME_set(X509_getm_notAfter(cert), options.not_after) != nullptr, "notAfter");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : cert, cert, nullptr, nullptr, 0);
  if (options.is_ca) {
    std::string bc = "critical,CA:TRUE";
    if (options.path_len >= 0) bc += ",pathlen:" + std::to_string(options.path_len);
    AddExtension(cert, &ctx, NID_basic_constraints, bc);
    AddExtension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert, &ctx, NID_key_usage, "critical,digitalSignature");
  }
  AddExtension(cert, &ctx, NID_subject_key_identifier, "hash");
  AddExtension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
  if (std::string san = AltNames(options); !san.empty()) {
    AddExtension(cert, &ctx, NID_subject_alt_name, san);
  }
  EVP_PKEY* signer = issuer ? issuer->key.get() : subject_key.key.get();
  const EVP_MD* md = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519
                         ? nullptr
                         : DigestFor(options.signature_hash);
  Check(X509_sign(cert, signer, md), "X509_sign");
  Certificate result = ToCertificate(cert);
  X509_free(cert);
  return TestCert{std::move(result), subject_key.key, subject_key.pem};
}

}  // namespace

const PrivateKey& TestKey(KeyKind kind, int index) { return Cached(kind, index).key; }

std::string TestKeyPem(KeyKind kind, int index) { return Cached(kind, index).pem; }

std::string TestKeyPemTraditional(KeyKind kind, int index) {
  BIO* bio = Check(BIO_new(BIO_s_mem()), "BIO_new");
  Check(PEM_write_bio_PrivateKey_traditional(bio, TestKey(kind, index).get(), nullptr, nullptr, 0,
                                             nullptr, nullptr),
        "traditional PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

std::string OtherKeyPem(const char* algorithm, const char* parameter) {
  EVP_PKEY* key =
      std::string_view(algorithm) == "RSA"
          ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(std::atoi(parameter)))
          : EVP_PKEY_Q_keygen(nullptr, nullptr, algorithm, parameter);
  std::string pem = PemOf(Check(key, "OtherKeyPem keygen"));
  EVP_PKEY_free(key);
  return pem;
}

std::string PublicKeyPem(const PublicKey& key) {
  BIO* bio = Check(BIO_new(BIO_s_mem()), "BIO_new");
  Check(PEM_write_bio_PUBKEY(bio, key.get()), "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

TestCert SelfSigned(const CertOptions& options) { return Build(options, nullptr); }

TestCert Issue(const CertOptions& options, const TestCert& issuer) {
  return Build(options, &issuer);
}

Certificate WithBadSignature(const Certificate& cert) {
  Bytes der = cert.Der();
  der.back() ^= 0x01;  // the signature BIT STRING ends the certificate
  Result<Certificate> bad = Certificate::FromDer(der);
  if (!bad.ok()) Die("Certificate::FromDer of a damaged certificate");
  return std::move(bad).value();
}

TestChain MakeChain(KeyKind kind, std::string_view org) {
  const std::string prefix = "C=US, O=" + std::string(org) + ", CN=";
  // Keys distinct per organisation, so that two chains never share a key.
  const int base = 100 + 3 * static_cast<int>(std::hash<std::string_view>{}(org) % 1000);
  CertOptions root{.subject = prefix + std::string(org) + " Root CA",
                   .key = kind,
                   .key_index = base,
                   .not_before = kTestNow - 30 * kDay,
                   .not_after = kTestNow + 3650 * kDay,
                   .is_ca = true};
  TestCert root_cert = SelfSigned(root);
  CertOptions intermediate = root;
  intermediate.subject = prefix + std::string(org) + " Intermediate CA";
  intermediate.key_index = base + 1;
  intermediate.path_len = 0;
  TestCert intermediate_cert = Issue(intermediate, root_cert);
  CertOptions leaf{.subject = prefix + "peer.example",
                   .key = kind,
                   .key_index = base + 2,
                   .dns = {"peer.example"},
                   .ips = {"192.0.2.1", "2001:db8::1"},
                   .emails = {"peer@example.org"}};
  TestCert leaf_cert = Issue(leaf, intermediate_cert);
  return TestChain{std::move(root_cert), std::move(intermediate_cert), std::move(leaf_cert)};
}

}  // namespace ipsec::engine::crypto::testing
