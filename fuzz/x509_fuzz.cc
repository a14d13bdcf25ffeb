// libFuzzer target: bytes as a certificate, through what IKE's certificate method does with a
// peer's CERT payloads and a mounted certificate (engine/crypto x509, dn; engine/ike identity,
// auth_cert, certificate_store).
//
// Input: octet 0 picks the form (0: DER, 1: PEM, 2: a PEM chain, leaf first), the rest is it.
// For every certificate parsed: subject, issuer, subjectAltNames, serial, validity, key, CA
// flags, the PEM form; path building to a fixed test root (crypto::TrustStore); identity
// matching (auth_cert.h); a trust bundle naming it as CA (CertificateResolver).
// Invariants (abort = finding):
//  - no crash, leak or UB; the DER re-read from its PEM form is the same certificate;
//  - DN text round-trips (parse -> print -> parse): the subject's and issuer's text, parsed
//    back (crypto::DnFromString), is the same Name (DnEqual) and prints the same text (a
//    multi-valued RDN may come out in DER's order of its values, once; a value outside its
//    attribute's X.520 size, which the parser refuses by design, is left out); as an
//    identity (ID_DER_ASN1_DN, Identity::ToString, Identity::Parse: how a policy names a
//    peer) it still names the certificate's holder;
//  - the certificate's own subject DN and each of its subjectAltNames name it (MatchIdentity);
//  - a path verifies only for a certificate the test CA really issued (same subject and key).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/crypto/dn.h"
#include "engine/crypto/trust_store.h"
#include "engine/crypto/x509.h"
#include "engine/ike/auth_cert.h"
#include "engine/ike/certificate_store.h"
#include "engine/ike/identity.h"
#include "tests/engine/crypto/test_pki.h"

namespace {

namespace crypto = ipsec::engine::crypto;
namespace ike = ipsec::engine::ike;
using crypto::testing::kTestNow;
using ipsec::Result;

[[noreturn]] void Fail(const std::string& what, const std::string& detail) {
  std::fprintf(stderr, "x509 invariant broken: %s\n  %s\n", what.c_str(), detail.c_str());
  std::abort();
}

struct Pki {
  crypto::testing::TestChain chain = crypto::testing::MakeChain(crypto::testing::KeyKind::kEcP256);
  crypto::TrustStore trust;
  Pki() {
    if (!trust.Add(chain.root.cert).ok()) Fail("the test root is refused", "");
  }
};

// parse -> print -> parse of a Name (`der`, printed by the certificate as `text`).
void CheckDn(ipsec::ByteSpan der, const std::string& text, const char* which) {
  auto printed = crypto::DnToString(der);
  if (!printed.ok()) Fail(std::string(which) + " DER does not print", text);
  if (*printed != text) Fail(std::string(which) + " prints two ways", text + " | " + *printed);
  auto parsed = crypto::DnFromString(text);
  if (!parsed.ok() && (parsed.error().message.find("string too short") != std::string::npos ||
                       parsed.error().message.find("string too long") != std::string::npos)) {
    // The parser holds written names to the attributes' sizes (X.520: a country is two
    // characters), which a certificate's encoding need not respect ("C=" one BMP character).
    return;
  }
  if (!parsed.ok()) {
    Fail(std::string(which) + " text does not parse back: " + parsed.error().ToString(), text);
  }
  if (!crypto::DnEqual(der, *parsed))
    Fail(std::string(which) + " parsed back is another Name", text);
  auto again = crypto::DnToString(*parsed);
  if (!again.ok()) Fail(std::string(which) + " parsed back does not print", text);
  if (*again == text) return;
  // A multi-valued RDN is a SET OF, which DER sorts (X.690 §11.6): a certificate may list its
  // values in another order than our encoding does, so the text may change once, then not.
  if (text.find(" + ") == std::string::npos) {
    Fail(std::string(which) + " parsed back prints otherwise", text + " | " + *again);
  }
  auto reparsed = crypto::DnFromString(*again);
  auto stable =
      reparsed.ok() ? crypto::DnToString(*reparsed) : Result<std::string>(reparsed.error());
  if (!stable.ok() || *stable != *again) {
    Fail(std::string(which) + " does not settle after one round trip", text + " | " + *again);
  }
}

void CheckCertificate(const crypto::Certificate& cert, const std::vector<crypto::Certificate>& all,
                      const Pki& pki) {
  auto from_pem = crypto::Certificate::FromPem(cert.Pem());
  if (!from_pem.ok() || !(*from_pem == cert)) Fail("PEM form does not read back", cert.SubjectDn());
  (void)cert.SerialHex();
  (void)cert.NotBefore();
  (void)cert.NotAfter();
  (void)cert.Key();
  (void)cert.SubjectPublicKeyInfoSha1();
  (void)cert.IsCa();
  (void)cert.IsSelfIssued();
  const std::string subject = cert.SubjectDn();
  const ipsec::Bytes subject_der = cert.SubjectDer();
  CheckDn(subject_der, subject, "subject");
  CheckDn(cert.IssuerDer(), cert.IssuerDn(), "issuer");

  // Identities (RFC 7296 §3.5): the subject as ID_DER_ASN1_DN, and as a policy writes it.
  const ike::Identity dn = ike::Identity::DerDn(subject_der);
  if (!subject.empty()) {
    if (auto s = ike::MatchIdentity(dn, cert); !s.ok())
      Fail("its own subject does not name it", subject);
    auto configured = ike::Identity::Parse(dn.ToString());
    if (!configured.ok()) Fail("its subject as an identity does not parse", dn.ToString());
    if (auto s = ike::MatchIdentity(*configured, cert); !s.ok()) {
      Fail("its subject, written as an identity, no longer names it: " + s.error().ToString(),
           dn.ToString());
    }
  }
  const crypto::SubjectAltNames names = cert.AltNames();
  for (const auto& d : names.dns) {
    if (!ike::MatchIdentity(ike::Identity::Fqdn(d), cert).ok())
      Fail("its DNS name does not name it", d);
  }
  for (const auto& e : names.email) {
    if (!ike::MatchIdentity(ike::Identity::Email(e), cert).ok())
      Fail("its email does not name it", e);
  }
  for (const auto& ip : names.ip) {
    if (!ike::MatchIdentity(ike::Identity::FromAddress(ip), cert).ok()) {
      Fail("its address does not name it", ip.ToString());
    }
  }

  // Path building to the fixed root, the other certificates as intermediates.
  std::vector<crypto::Certificate> others;
  for (const auto& c : all) {
    if (!(c == cert)) others.push_back(c);
  }
  others.push_back(pki.chain.intermediate.cert);
  if (auto path = pki.trust.Verify(cert, others, kTestNow); path.ok()) {
    bool issued = false;
    for (const auto* real : {&pki.chain.root, &pki.chain.intermediate, &pki.chain.leaf}) {
      issued |= real->cert.SubjectDer() == subject_der &&
                real->cert.SubjectPublicKeyInfoSha1() == cert.SubjectPublicKeyInfoSha1();
    }
    if (!issued) Fail("a path verifies for a certificate the test CA did not issue", subject);
  }

  // A trust bundle holding it, and a rule naming it as CA by its subject (certificate_store.h).
  ike::CertificateStore store;
  store.trust_bundles["fuzz"] = {cert};
  ike::CertificateResolver resolver(store);
  ike::Credential credential;
  credential.kind = ipsec::engine::policy::AuthKind::kCertificate;
  credential.certificate_authority = subject;
  std::vector<std::string> warnings;
  resolver.Resolve(credential, "rule 'fuzz'", &warnings);
  (void)ike::CertificateUsable(credential);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Pki* pki = new Pki();
  if (size < 1) return 0;
  const ipsec::ByteSpan body(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<crypto::Certificate> certs;
  switch (data[0] % 3) {
    case 0:
      if (auto c = crypto::Certificate::FromDer(body); c.ok()) certs.push_back(*c);
      break;
    case 1:
      if (auto c = crypto::Certificate::FromPem(text); c.ok()) certs.push_back(*c);
      break;
    case 2:
      if (auto c = crypto::Certificate::ParsePemChain(text); c.ok()) certs = *c;
      break;
  }
  for (const auto& cert : certs) CheckCertificate(cert, certs, *pki);
  return 0;
}
