#pragma once

// A test PKI: private keys and X.509 certificates made at test time (OpenSSL underneath, never
// exposed), so no key or certificate file is checked in and none expires. For engine/crypto's
// tests and the IKE tests (CMake target ipsec_test_pki).
//
//   TestChain chain = MakeChain(KeyKind::kEcP256);        // root -> intermediate -> leaf
//   TrustStore store; store.Add(chain.root.cert);
//   store.Verify(chain.leaf.cert, {chain.intermediate.cert}, kTestNow);
//
//   CertOptions expired{.subject = "CN=old", .not_after = kTestNow - kDay};
//   TestCert old = Issue(expired, chain.intermediate);
//
// Certificates carry subjectKeyIdentifier/authorityKeyIdentifier, keyUsage and (CAs)
// critical basicConstraints, like a real CA's. Times are fixed around kTestNow: pass it as
// "now" to TrustStore::Verify.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/crypto/hash.h"
#include "engine/crypto/keys.h"
#include "engine/crypto/x509.h"

namespace ipsec::engine::crypto::testing {

// "Now" for certificate tests: 2026-01-01T00:00:00Z.
inline constexpr int64_t kTestNow = 1767225600;
inline constexpr int64_t kDay = 86400;

enum class KeyKind { kRsa2048, kEcP256, kEcP384, kEcP521, kEd25519 };

// A private key of `kind`, generated once per process for each (kind, index) and then shared
// (RSA generation takes a while). Different indexes give different keys. Thread-safe.
const PrivateKey& TestKey(KeyKind kind, int index = 0);
// The same key as unencrypted PKCS #8 PEM ("-----BEGIN PRIVATE KEY-----").
std::string TestKeyPem(KeyKind kind, int index = 0);
// The same key in OpenSSL's traditional PEM ("RSA PRIVATE KEY", "EC PRIVATE KEY").
std::string TestKeyPemTraditional(KeyKind kind, int index = 0);
// A fresh key of any OpenSSL algorithm as PKCS #8 PEM, e.g. ("EC", "secp256k1") or
// ("RSA", "512"), for tests of keys we refuse.
std::string OtherKeyPem(const char* algorithm, const char* parameter);
// A public key as PEM "PUBLIC KEY".
std::string PublicKeyPem(const PublicKey& key);

struct CertOptions {
  // Subject in dn.h's text form.
  std::string subject = "C=US, O=ipsec-sidecar test, CN=test";
  KeyKind key = KeyKind::kEcP256;
  int key_index = 0;
  int64_t not_before = kTestNow - kDay;
  int64_t not_after = kTestNow + 365 * kDay;
  bool is_ca = false;
  int path_len = -1;  // for a CA: pathLenConstraint, -1 for none
  // subjectAltName entries.
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  std::vector<std::string> emails;
  // The hash the issuer signs with; ignored for Ed25519 issuers.
  Hash signature_hash = Hash::kSha256;
};

// A certificate with its subject's private key.
struct TestCert {
  Certificate cert;
  PrivateKey key;
  std::string key_pem;
  std::string cert_pem() const { return cert.Pem(); }
};

// A self-signed certificate (a root when options.is_ca).
TestCert SelfSigned(const CertOptions& options);
// A certificate for `options` signed by `issuer`. The issuer need not be a CA (for tests of
// paths that must fail).
TestCert Issue(const CertOptions& options, const TestCert& issuer);
// `cert` with its signature damaged (one bit of the last byte flipped).
Certificate WithBadSignature(const Certificate& cert);

// Ready-made: root CA -> intermediate CA -> leaf, all with keys of `kind`. Subjects are
// "C=US, O=<org>, CN=<org> Root CA", "... Intermediate CA", and "... CN=peer.example" with
// SANs dns peer.example, ip 192.0.2.1 and 2001:db8::1, email peer@example.org.
struct TestChain {
  TestCert root;
  TestCert intermediate;
  TestCert leaf;
};
TestChain MakeChain(KeyKind kind, std::string_view org = "Test");

}  // namespace ipsec::engine::crypto::testing
