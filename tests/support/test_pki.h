#pragma once

// A throw-away PKI for certificate tests, made with the `openssl` command line (Debian's
// OpenSSL 3): a self-signed CA, and end-entity certificates it signs, RSA or ECDSA. PEM text
// only, so a test hands it to charon (SwanctlConfig::AddCert/AddCaCert/AddPrivateKey) or to
// our engine alike. Keys are unencrypted PKCS#8 ("BEGIN PRIVATE KEY").

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace ipsec::testing {

enum class KeyType { kRsa2048, kEcdsaP256, kEcdsaP384 };

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  std::string subject_dn;  // strongSwan's form: "C=CH, O=ipsec-sidecar lab, CN=a.example"
};

class TestPki {
 public:
  // A CA with subject "C=CH, O=ipsec-sidecar lab, CN=<name>", valid for `days` days.
  static std::unique_ptr<TestPki> CreateCa(const std::string& name, KeyType type,
                                           std::string* error, int days = 2);

  // An end-entity certificate "CN=<cn>" signed by this CA, with subjectAltName DNS:<cn>
  // plus `extra_sans` (e.g. "IP:10.99.1.2"), usable as IKE identity <cn>.
  bool Issue(const std::string& cn, KeyType type, TestCert* out, std::string* error,
             const std::vector<std::string>& extra_sans = {}, int days = 2);

  const TestCert& ca() const { return ca_; }

 private:
  TestPki() = default;
  bool OpenSsl(const std::vector<std::string>& args, std::string* error);
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
  TestCert ca_;
  int serial_ = 0;
};

}  // namespace ipsec::testing
