#include "tests/support/test_pki.h"

namespace ipsec::testing {
namespace {

constexpr char kOrganization[] = "ipsec-sidecar lab";

std::vector<std::string> NewKeyArgs(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256:
      return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"};
    case KeyType::kEcdsaP384:
      return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"};
    case KeyType::kRsa2048:
      break;
  }
  return {"-newkey", "rsa:2048"};
}

std::string OpenSslSubject(const std::string& cn) {
  return std::string("/C=CH/O=") + kOrganization + "/CN=" + cn;
}

std::string StrongswanDn(const std::string& cn) {
  return std::string("C=CH, O=") + kOrganization + ", CN=" + cn;
}

}  // namespace

bool TestPki::OpenSsl(const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = Run(argv);
  if (r.exit_code == 0) return true;
  std::string command;
  for (const auto& a : argv) command += a + " ";
  *error = "test PKI: " + command + "failed (" + std::to_string(r.exit_code) + "): " + r.err;
  return false;
}

std::unique_ptr<TestPki> TestPki::CreateCa(const std::string& name, KeyType type,
                                           std::string* error, int days) {
  if (Shell("command -v openssl >/dev/null").exit_code != 0) {
    *error = "the openssl command line tool is missing: run scripts/install-deps.sh";
    return nullptr;
  }
  std::unique_ptr<TestPki> pki(new TestPki());
  std::vector<std::string> args = {"req", "-x509", "-new", "-nodes"};
  for (const auto& a : NewKeyArgs(type)) args.push_back(a);
  args.insert(
      args.end(),
      {"-keyout", pki->Path("ca.key"), "-out", pki->Path("ca.pem"), "-days", std::to_string(days),
       "-subj", OpenSslSubject(name), "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
       "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash"});
  if (!pki->OpenSsl(args, error)) return nullptr;
  pki->ca_ = {ReadFile(pki->Path("ca.pem")), ReadFile(pki->Path("ca.key")), StrongswanDn(name)};
  return pki;
}

bool TestPki::Issue(const std::string& cn, KeyType type, TestCert* out, std::string* error,
                    const std::vector<std::string>& extra_sans, int days) {
  std::string base = "ee" + std::to_string(++serial_);
  std::string sans = "DNS:" + cn;
  for (const auto& san : extra_sans) sans += "," + san;
  std::string usage =
      type == KeyType::kRsa2048 ? "digitalSignature,keyEncipherment" : "digitalSignature";
  WriteFile(Path(base + ".ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical," + usage +
                                     "\nsubjectAltName=" + sans +
                                     "\nsubjectKeyIdentifier=hash\n"
                                     "authorityKeyIdentifier=keyid\n");
  std::vector<std::string> req = {"req", "-new", "-nodes"};
  for (const auto& a : NewKeyArgs(type)) req.push_back(a);
  req.insert(req.end(), {"-keyout", Path(base + ".key"), "-out", Path(base + ".csr"), "-subj",
                         OpenSslSubject(cn)});
  if (!OpenSsl(req, error)) return false;
  if (!OpenSsl({"x509", "-req", "-in", Path(base + ".csr"), "-CA", Path("ca.pem"), "-CAkey",
                Path("ca.key"), "-set_serial", std::to_string(1000 + serial_), "-days",
                std::to_string(days), "-extfile", Path(base + ".ext"), "-out", Path(base + ".pem")},
               error)) {
    return false;
  }
  *out = {ReadFile(Path(base + ".pem")), ReadFile(Path(base + ".key")), StrongswanDn(cn)};
  return true;
}

}  // namespace ipsec::testing
