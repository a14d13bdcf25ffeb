#include "tests/api/http/test_cert.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace ipsec::api::http::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer_key` (issuer null: self-signed).
Cert MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
              bool ca) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost");
    AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
  }
  EXPECT_GT(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()), 0);
  return cert;
}

void WriteCert(const std::string& path, X509* cert) {
  BIO* bio = BIO_new_file(path.c_str(), "w");
  ASSERT_NE(bio, nullptr);
  PEM_write_bio_X509(bio, cert);
  BIO_free(bio);
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  BIO* bio = BIO_new_file(path.c_str(), "w");
  ASSERT_NE(bio, nullptr);
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO_free(bio);
}

}  // namespace

TestPki MakeTestPki(const std::string& dir) {
  TestPki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key", dir + "/other-ca.pem"};
  Key ca_key(EVP_EC_gen("P-256"));
  Key server_key(EVP_EC_gen("P-256"));
  Key other_key(EVP_EC_gen("P-256"));
  EXPECT_TRUE(ca_key && server_key && other_key);
  Cert ca = MakeCert(ca_key.get(), "test CA", nullptr, nullptr, 1, true);
  Cert server = MakeCert(server_key.get(), "ipsec-sidecar", ca.get(), ca_key.get(), 2, false);
  Cert other = MakeCert(other_key.get(), "other CA", nullptr, nullptr, 3, true);
  WriteCert(pki.ca_file, ca.get());
  WriteCert(pki.cert_file, server.get());
  WriteKey(pki.key_file, server_key.get());
  WriteCert(pki.other_ca_file, other.get());
  return pki;
}

}  // namespace ipsec::api::http::testing
