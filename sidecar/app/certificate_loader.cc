#include "sidecar/app/certificate_loader.h"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace ipsec::sidecar::app {
namespace {

namespace fs = std::filesystem;
using engine::crypto::Certificate;

constexpr std::uintmax_t kMaxFileSize = 1 << 20;  // a PEM bundle, not a disk image

bool ReadFile(const fs::path& path, std::string* out, std::string* error) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) {
    *error = ec.message();
    return false;
  }
  if (size > kMaxFileSize) {
    *error = "larger than 1 MiB";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open";
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// The visible entries of `dir`, sorted by name (deterministic "first certificate").
std::vector<fs::directory_entry> Entries(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind('.', 0) == 0) continue;
    out.push_back(e);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  return out;
}

void AddBundle(engine::ike::CertificateStore& store, const std::string& name, const fs::path& file,
               std::vector<std::string>* warnings) {
  std::string text, error;
  if (!ReadFile(file, &text, &error)) {
    warnings->push_back("CA bundle " + file.string() + ": " + error);
    return;
  }
  auto certs = Certificate::ParsePemChain(text);
  if (!certs.ok()) {
    warnings->push_back("CA bundle " + file.string() + ": " + certs.error().message);
    return;
  }
  auto& bundle = store.trust_bundles[name];
  for (auto& c : *certs) bundle.push_back(std::move(c));
}

void AddLocal(engine::ike::CertificateStore& store, const std::string& name, const fs::path& dir,
              std::vector<std::string>* warnings) {
  const fs::path crt = dir / "tls.crt", key_file = dir / "tls.key";
  std::string text, key_pem, error;
  if (!ReadFile(crt, &text, &error)) {
    warnings->push_back("certificate " + crt.string() + ": " + error);
    return;
  }
  auto chain = Certificate::ParsePemChain(text);
  if (!chain.ok()) {
    warnings->push_back("certificate " + crt.string() + ": " + chain.error().message);
    return;
  }
  if (!ReadFile(key_file, &key_pem, &error)) {
    warnings->push_back("private key " + key_file.string() + ": " + error);
    return;
  }
  auto key = engine::crypto::PrivateKey::FromPem(key_pem);
  explicit_bzero(key_pem.data(), key_pem.size());
  if (!key.ok()) {
    // The parser's message names the PEM block kind, never key material.
    warnings->push_back("private key " + key_file.string() + ": " + key.error().message);
    return;
  }
  if (!key->Matches(chain->front().Key())) {
    warnings->push_back("private key " + key_file.string() + " does not match certificate \"" +
                        chain->front().SubjectDn() + "\"");
    return;
  }
  store.local.push_back(std::make_shared<engine::ike::LocalCertificate>(
      engine::ike::LocalCertificate{name, std::move(chain).value(), std::move(key).value()}));
}

}  // namespace

engine::ike::CertificateStore LoadCertificates(const std::string& cert_dir,
                                               const std::string& ca_dir,
                                               std::vector<std::string>* warnings) {
  engine::ike::CertificateStore store;
  std::error_code ec;
  if (!cert_dir.empty()) {
    for (const auto& e : Entries(cert_dir)) {
      if (!e.is_directory(ec)) continue;
      const std::string name = e.path().filename().string();
      if (fs::exists(e.path() / "tls.crt", ec)) AddLocal(store, name, e.path(), warnings);
      if (fs::exists(e.path() / "ca.crt", ec))
        AddBundle(store, name, e.path() / "ca.crt", warnings);
    }
  }
  if (!ca_dir.empty()) {
    for (const auto& e : Entries(ca_dir)) {
      const std::string name = e.path().filename().string();
      if (e.is_directory(ec)) {
        if (fs::exists(e.path() / "ca.crt", ec)) {
          AddBundle(store, name, e.path() / "ca.crt", warnings);
        }
      } else if (e.path().extension() == ".crt" || e.path().extension() == ".pem") {
        AddBundle(store, e.path().stem().string(), e.path(), warnings);
      }
    }
  }
  return store;
}

}  // namespace ipsec::sidecar::app
