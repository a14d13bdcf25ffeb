// The DEBUG ONLY key export (--debug-export-keys-dir): Wireshark 4.0's UAT lines for IKEv2 and
// ESP byte for byte, the file writer (append, 0600), the backend decorator (only SAs the data
// path accepted, no AH), and two IkeRuntimes over loopback whose exported keys pair up: what
// one side sends with is what the other receives with. Whether tshark decrypts with them is
// proven against charon in tests/interop/sidecar_charon_test.cc.

#include "engine/service/key_export.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "engine/dataplane/recording_backend.h"
#include "engine/policy/compiler.h"
#include "engine/service/ike_runtime.h"
#include "tests/engine/policy/policy_test_util.h"

namespace ipsec::engine::service {
namespace {

using namespace std::chrono_literals;

Bytes Seq(size_t n, uint8_t start) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(start + i);
  return b;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct TempDirectory {
  std::string path;
  TempDirectory() {
    char tmpl[] = "/tmp/key-export-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDirectory() { std::system(("rm -rf '" + path + "'").c_str()); }
};

TEST(KeyExportTest, IkeLineAesGcm) {
  Bytes ei = Seq(20, 0x00), er = Seq(20, 0x40);
  IkeSaKeyExport k;
  k.spi_i = 0xb71fe2ee9728ed2dULL;
  k.spi_r = 0x00000000000000ffULL;
  k.encryption_id = 20;
  k.encryption_key_bits = 128;
  k.sk_ei = ei;
  k.sk_er = er;
  auto line = IkeDecryptionTableLine(k);
  ASSERT_TRUE(line);
  EXPECT_EQ(*line,
            "b71fe2ee9728ed2d,00000000000000ff,000102030405060708090a0b0c0d0e0f10111213,"
            "404142434445464748494a4b4c4d4e4f50515253,"
            "\"AES-GCM-128 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\"");
}

TEST(KeyExportTest, IkeLineAesCbcWithSha256) {
  Bytes ei = Seq(32, 1), er = Seq(32, 2), ai = Seq(32, 3), ar = Seq(32, 4);
  IkeSaKeyExport k{1, 2, 12, 256, 12, ei, er, ai, ar};
  auto line = IkeDecryptionTableLine(k);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find(",\"AES-CBC-256 [RFC3602]\","), std::string::npos) << *line;
  EXPECT_NE(line->find("\"HMAC_SHA2_256_128 [RFC4868]\""), std::string::npos) << *line;
  EXPECT_EQ(line->rfind("0000000000000001,0000000000000002,0102", 0), 0u) << *line;
  // SK_ai then SK_ar between the two names.
  EXPECT_NE(line->find("[RFC3602]\",030405"), std::string::npos) << *line;
}

TEST(KeyExportTest, AlgorithmsWiresharkCannotDecryptGetNoLine) {
  Bytes key = Seq(36, 0);
  EXPECT_FALSE(IkeDecryptionTableLine({1, 2, 28, 0, 0, key, key, {}, {}}));  // ChaCha20-Poly1305
  EXPECT_FALSE(IkeDecryptionTableLine({1, 2, 12, 100, 12, key, key, key, key}));
  EXPECT_FALSE(EspSaLine({false, 1, 28, 0, key, {}}));
  EXPECT_FALSE(EspSaLine({false, 1, 0, 12, {}, key}));  // AH
}

TEST(KeyExportTest, EspLines) {
  Bytes gcm = Seq(20, 0xa0);
  EXPECT_EQ(*EspSaLine({false, 0xc1234567, 20, 0, gcm, {}}),
            "\"IPv4\",\"*\",\"*\",\"0xc1234567\",\"AES-GCM with 16 octet ICV [RFC4106]\","
            "\"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3\",\"NULL\",\"\"");
  Bytes aes = Seq(16, 0), sha = Seq(32, 0x10);
  auto cbc = EspSaLine({true, 0x10, 12, 12, aes, sha});
  ASSERT_TRUE(cbc);
  EXPECT_EQ(*cbc,
            "\"IPv6\",\"*\",\"*\",\"0x00000010\",\"AES-CBC [RFC3602]\","
            "\"0x000102030405060708090a0b0c0d0e0f\",\"HMAC-SHA-256-128 [RFC4868]\","
            "\"0x101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\"");
}

TEST(KeyExportTest, WriterAppendsPrivateFiles) {
  TempDirectory tmp;
  const std::string dir = tmp.path + "/keys";  // created by Open
  auto writer = KeyFileWriter::Open(dir);
  ASSERT_TRUE(writer.ok()) << writer.error().ToString();
  Bytes key = Seq(20, 0);
  (*writer)->ExportEspSa({false, 1, 20, 0, key, {}});
  (*writer)->ExportEspSa({false, 2, 20, 0, key, {}});
  (*writer)->ExportEspSa({false, 3, 28, 0, key, {}});  // skipped
  (*writer)->ExportIkeSa({1, 2, 20, 128, 0, key, key, {}, {}});
  EXPECT_EQ((*writer)->lines_written(), 3u);
  EXPECT_EQ((*writer)->lines_skipped(), 1u);
  const std::string esp = ReadAll(dir + "/" + kEspKeyFile);
  EXPECT_EQ(std::count(esp.begin(), esp.end(), '\n'), 2) << esp;
  EXPECT_NE(esp.find("\"0x00000001\""), std::string::npos);
  EXPECT_NE(esp.find("\"0x00000002\""), std::string::npos);
  EXPECT_EQ(ReadAll(dir + "/" + kIkeKeyFile).rfind("0000000000000001,0000000000000002,", 0), 0u);
  struct stat st {};
  ASSERT_EQ(stat((dir + "/" + kEspKeyFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_FALSE(KeyFileWriter::Open(dir + "/" + kEspKeyFile).ok()) << "a file, not a directory";
}

// Keeps what it is given, keyed by SPI.
class RecordingSink final : public KeyExportSink {
 public:
  void ExportIkeSa(const IkeSaKeyExport& k) override {
    std::lock_guard lock(mu_);
    ike_lines_.push_back(*IkeDecryptionTableLine(k));
  }
  void ExportEspSa(const EspSaKeyExport& k) override {
    std::lock_guard lock(mu_);
    esp_[k.spi] = Bytes(k.encryption_key.begin(), k.encryption_key.end());
  }
  std::vector<std::string> ike_lines() const {
    std::lock_guard lock(mu_);
    return ike_lines_;
  }
  std::map<uint32_t, Bytes> esp() const {
    std::lock_guard lock(mu_);
    return esp_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> ike_lines_;
  std::map<uint32_t, Bytes> esp_;
};

TEST(KeyExportTest, BackendExportsOnlyAcceptedEspSas) {
  RecordingSink sink;
  auto recording = std::make_unique<dataplane::RecordingBackend>();
  KeyExportingBackend backend(std::move(recording), sink);
  dataplane::SaConfig sa;
  sa.spi = 0x1234;
  sa.algorithms.encryption_id = 20;
  sa.algorithms.encryption_key = SecretBytes(std::string(20, 'k'));
  ASSERT_TRUE(backend.AddSa(sa).ok());
  EXPECT_FALSE(backend.AddSa(sa).ok()) << "a duplicate SPI is refused";
  dataplane::SaConfig ah = sa;
  ah.spi = 0x5678;
  ah.protocol = dataplane::SaProtocol::kAh;
  ah.algorithms.encryption_id = 0;
  (void)backend.AddSa(ah);
  auto esp = sink.esp();
  ASSERT_EQ(esp.size(), 1u);
  EXPECT_EQ(esp.begin()->first, 0x1234u);
}

TEST(KeyExportTest, TwoRuntimesExportKeysThatPairUp) {
  using policy::testing::Ip;
  RecordingSink sinks[2];
  std::unique_ptr<IkeRuntime> rt[2];
  const std::string address[2] = {"127.0.0.1", "127.0.0.2"};
  for (int i : {1, 0}) {
    IkeRuntime::Options o;
    o.listen_addresses = {Ip(address[i])};
    o.ike_port = 0;
    o.nat_t_port = 0;
    o.peer_ike_port = i == 0 ? rt[1]->ike_port() : 500;
    o.key_export = &sinks[i];
    auto started = IkeRuntime::Start(std::move(o));
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    rt[i] = std::move(started).value();
    policy::Policy p = policy::testing::BasePolicy("pair");
    policy::Rule& r = policy::testing::AddRule(
        p, "pair",
        {policy::testing::MakeFilter(policy::testing::One(address[i]),
                                     policy::testing::One(address[1 - i]))},
        "secure");
    r.auth_methods = {policy::AuthMethod{policy::AuthKind::kPreSharedKey,
                                         SecretBytes("key-export-test-psk"), "", ""}};
    policy::CompileContext c;
    c.interfaces = {policy::PodInterface{"lo", {{Ip(address[i]), 8}}}};
    auto table = policy::CompilePolicy(p, c);
    ASSERT_TRUE(table.ok()) << table.error().ToString();
    rt[i]->ApplyPolicy(&p, *table);
  }
  ASSERT_TRUE(rt[0]->Initiate("pair", Ip(address[1])).ok());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline &&
         (sinks[0].esp().size() < 2 || sinks[1].esp().size() < 2 || sinks[0].ike_lines().empty() ||
          sinks[1].ike_lines().empty())) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(sinks[0].ike_lines().size(), 1u);
  ASSERT_EQ(sinks[1].ike_lines().size(), 1u);
  EXPECT_EQ(sinks[0].ike_lines()[0], sinks[1].ike_lines()[0]) << "both sides derive the same";
  auto e0 = sinks[0].esp(), e1 = sinks[1].esp();
  ASSERT_EQ(e0.size(), 2u);
  EXPECT_EQ(e0, e1) << "per SPI, the sender's and the receiver's key are the same";
  EXPECT_NE(e0.begin()->second, e0.rbegin()->second) << "each direction has its own key";
}

}  // namespace
}  // namespace ipsec::engine::service
