#pragma once

// A throw-away PKI for TLS tests, made with OpenSSL's API: a CA and a server certificate for
// 127.0.0.1, ::1 and localhost signed by it, written as PEM files.

#include <string>

namespace ipsec::api::http::testing {

struct TestPki {
  std::string ca_file;        // the CA certificate
  std::string cert_file;      // the server's certificate
  std::string key_file;       // the server's private key
  std::string other_ca_file;  // a CA that did not sign the server certificate
};

// Writes the files into `dir`. Fails the test on an OpenSSL error.
TestPki MakeTestPki(const std::string& dir);

}  // namespace ipsec::api::http::testing
