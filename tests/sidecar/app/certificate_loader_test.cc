// Loading certificates from mounted Secrets (docs/ike.md): layouts, faults, and the rule's CA
// name resolving to the loaded bundle.
#include "sidecar/app/certificate_loader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/engine/crypto/test_pki.h"
#include "tests/sidecar/temp_dir.h"

namespace ipsec::sidecar::app {
namespace {

namespace fs = std::filesystem;
using engine::crypto::testing::CertOptions;
using engine::crypto::testing::Issue;
using engine::crypto::testing::KeyKind;
using engine::crypto::testing::MakeChain;
using engine::crypto::testing::TestChain;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// As the kubelet mounts a Secret: the files are links into a hidden "..data" directory.
void WriteSecret(const fs::path& dir, const std::map<std::string, std::string>& files) {
  fs::create_directories(dir / "..2026_01_01");
  for (const auto& [name, text] : files) Write(dir / "..2026_01_01" / name, text);
  fs::create_directory_symlink("..2026_01_01", dir / "..data");
  for (const auto& [name, text] : files) fs::create_symlink(fs::path("..data") / name, dir / name);
}

bool Contains(const std::vector<std::string>& warnings, const std::string& needle) {
  for (const auto& w : warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(CertificateLoaderTest, TlsSecretsAndCaBundles) {
  testing::TempDir tmp;
  TestChain chain = MakeChain(KeyKind::kEcP256, "Corp");
  const fs::path certs = fs::path(tmp.path()) / "certs", cas = fs::path(tmp.path()) / "ca";
  WriteSecret(certs / "pod-cert",
              {{"tls.crt", chain.leaf.cert_pem() + chain.intermediate.cert_pem()},
               {"tls.key", chain.leaf.key_pem},
               {"ca.crt", chain.root.cert_pem()}});
  WriteSecret(cas / "corp-ca", {{"ca.crt", chain.root.cert_pem()}});
  Write(cas / "other.crt", chain.intermediate.cert_pem());
  std::vector<std::string> warnings;
  auto store = LoadCertificates(certs.string(), cas.string(), &warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  ASSERT_EQ(store.local.size(), 1u);
  EXPECT_EQ(store.local[0]->name, "pod-cert");
  ASSERT_EQ(store.local[0]->chain.size(), 2u);  // leaf, then the intermediate
  EXPECT_EQ(store.local[0]->chain[0], chain.leaf.cert);
  EXPECT_TRUE(store.local[0]->key.Matches(chain.leaf.cert.Key()));
  ASSERT_EQ(store.trust_bundles.size(), 3u);  // pod-cert (its ca.crt), corp-ca, other
  EXPECT_EQ(store.trust_bundles.at("corp-ca").at(0), chain.root.cert);
  EXPECT_EQ(store.trust_bundles.at("other").at(0), chain.intermediate.cert);

  // A rule naming "corp-ca" trusts that bundle and authenticates with the pod's certificate.
  engine::ike::CertificateResolver resolver(store);
  engine::ike::Credential c;
  c.kind = engine::policy::AuthKind::kCertificate;
  c.certificate_authority = "corp-ca";
  resolver.Resolve(c, "rule 'r'", &warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  ASSERT_NE(c.trust, nullptr);
  EXPECT_EQ(c.trust->anchors().at(0), chain.root.cert);
  ASSERT_NE(c.local_certificate, nullptr);
  EXPECT_EQ(c.local_certificate->name, "pod-cert");
}

TEST(CertificateLoaderTest, FaultsAreWarnedAboutAndSkipped) {
  testing::TempDir tmp;
  TestChain chain = MakeChain(KeyKind::kRsa2048, "Corp");
  TestChain other = MakeChain(KeyKind::kEcP256, "Other");
  const fs::path certs = fs::path(tmp.path()) / "certs";
  Write(certs / "mismatch" / "tls.crt", chain.leaf.cert_pem());
  Write(certs / "mismatch" / "tls.key", other.leaf.key_pem);
  Write(certs / "nokey" / "tls.crt", chain.leaf.cert_pem());
  Write(certs / "garbage" / "tls.crt", "not a certificate");
  Write(certs / "garbage" / "tls.key", chain.leaf.key_pem);
  Write(certs / "badkey" / "tls.crt", chain.leaf.cert_pem());
  Write(certs / "badkey" / "tls.key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  Write(certs / "good" / "tls.crt", chain.leaf.cert_pem());
  Write(certs / "good" / "tls.key", chain.leaf.key_pem);
  std::vector<std::string> warnings;
  auto store =
      LoadCertificates(certs.string(), (fs::path(tmp.path()) / "missing").string(), &warnings);
  ASSERT_EQ(store.local.size(), 1u);
  EXPECT_EQ(store.local[0]->name, "good");
  EXPECT_EQ(warnings.size(), 4u);
  EXPECT_TRUE(Contains(warnings, "mismatch/tls.key does not match certificate"));
  EXPECT_TRUE(Contains(warnings, "nokey/tls.key"));
  EXPECT_TRUE(Contains(warnings, "garbage/tls.crt"));
  EXPECT_TRUE(Contains(warnings, "badkey/tls.key"));
  for (const auto& w : warnings) EXPECT_EQ(w.find("AAAA"), std::string::npos) << w;
  // Nothing at all: no certificates, no warnings.
  std::vector<std::string> none;
  auto empty = LoadCertificates("/nonexistent-ipsec-dir", "", &none);
  EXPECT_TRUE(empty.local.empty());
  EXPECT_TRUE(empty.trust_bundles.empty());
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace ipsec::sidecar::app
