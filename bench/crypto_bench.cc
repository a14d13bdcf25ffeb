// engine/crypto benchmark (issues 3 and 4): the per-packet AEAD and CBC+HMAC paths on
// 1400-byte packets against a raw-EVP baseline doing the same OpenSSL calls in the same run
// (the wrapper's overhead), Diffie-Hellman generate + derive per group (the IKE handshake's
// dominant cost), IKE key derivation, and RSA/ECDSA/Ed25519 signatures (IKE_AUTH). Prints
// Google Benchmark's table, then a summary. One thread: every figure is for one core.

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/crypto/aead.h"
#include "engine/crypto/cipher.h"
#include "engine/crypto/integrity.h"
#include "engine/crypto/key_exchange.h"
#include "engine/crypto/prf.h"
#include "engine/crypto/signature.h"
#include "tests/engine/crypto/test_pki.h"

namespace ipsec::engine::crypto {
namespace {

constexpr size_t kPacket = 1400;
constexpr uint8_t kAad[8] = {0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1};  // ESP SPI || sequence

void Abort(const char* what) {
  std::fprintf(stderr, "crypto_bench: %s failed\n", what);
  std::abort();
}

// ---- Per-packet paths ----------------------------------------------------------------------

void BM_AeadSeal(benchmark::State& state, AeadAlgorithm algorithm) {
  Result<Aead> aead = Aead::Create(algorithm, Bytes(AeadKeySize(algorithm), 7));
  if (!aead.ok()) Abort("Aead::Create");
  Bytes buf(kPacket + kAeadTagSize, 0x42);
  uint8_t nonce[kAeadNonceSize] = {0xde, 0xad, 0xbe, 0xef};
  uint64_t seq = 0;
  for (auto _ : state) {
    nonce[11] = static_cast<uint8_t>(++seq);
    if (!aead->Seal(nonce, kAad, ByteSpan(buf.data(), kPacket), buf.data()).ok()) Abort("Seal");
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPacket));
}

void BM_AeadOpen(benchmark::State& state, AeadAlgorithm algorithm) {
  Result<Aead> aead = Aead::Create(algorithm, Bytes(AeadKeySize(algorithm), 7));
  if (!aead.ok()) Abort("Aead::Create");
  const uint8_t nonce[kAeadNonceSize] = {0xde, 0xad, 0xbe, 0xef};
  Bytes plain(kPacket, 0x42), sealed(kPacket + kAeadTagSize), out(kPacket);
  if (!aead->Seal(nonce, kAad, plain, sealed.data()).ok()) Abort("Seal");
  for (auto _ : state) {
    if (!aead->Open(nonce, kAad, sealed, out.data()).ok()) Abort("Open");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPacket));
}

// The same OpenSSL calls as Aead::Seal, made directly: the baseline for the wrapper's cost
// (the loop of `openssl speed -aead -evp <cipher>`, plus reading the tag).
void BM_RawEvpSeal(benchmark::State& state, const char* name, size_t key_size) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const Bytes key(key_size, 7);
  if (EVP_EncryptInit_ex2(ctx, cipher, key.data(), nullptr, nullptr) != 1) Abort("EVP init");
  Bytes buf(kPacket + kAeadTagSize, 0x42);
  uint8_t nonce[12] = {0xde, 0xad, 0xbe, 0xef};
  uint64_t seq = 0;
  int len = 0;
  for (auto _ : state) {
    nonce[11] = static_cast<uint8_t>(++seq);
    if (EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce, nullptr) != 1 ||
        EVP_EncryptUpdate(ctx, nullptr, &len, kAad, sizeof(kAad)) != 1 ||
        EVP_EncryptUpdate(ctx, buf.data(), &len, buf.data(), kPacket) != 1 ||
        EVP_EncryptFinal_ex(ctx, buf.data() + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, buf.data() + kPacket) != 1) {
      Abort("EVP seal");
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPacket));
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
}

// ESP with AES-CBC and HMAC-SHA-256-128 (RFC 3602 + RFC 4868): encrypt, then ICV over
// header || IV || ciphertext.
void BM_CbcHmacSeal(benchmark::State& state, CbcAlgorithm algorithm) {
  Result<CbcCipher> cbc = CbcCipher::Create(algorithm, Bytes(CbcKeySize(algorithm), 3));
  Result<Integrity> integrity =
      Integrity::Create(IntegrityAlgorithm::kHmacSha256_128, Bytes(32, 5));
  if (!cbc.ok() || !integrity.ok()) Abort("CBC/HMAC create");
  const size_t block = CbcBlockSize(algorithm);
  const size_t body = kPacket / block * block;
  Bytes packet(8 + block + body + 16, 0x42);  // header, IV, ciphertext, ICV
  for (auto _ : state) {
    uint8_t* iv = packet.data() + 8;
    uint8_t* data = iv + block;
    if (!cbc->Encrypt(ByteSpan(iv, block), ByteSpan(data, body), data).ok() ||
        !integrity->Compute(ByteSpan(packet.data(), 8 + block + body), data + body).ok()) {
      Abort("CBC+HMAC");
    }
    benchmark::DoNotOptimize(packet.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body));
}

void BM_Hmac(benchmark::State& state, IntegrityAlgorithm algorithm) {
  Result<Integrity> integrity = Integrity::Create(algorithm, Bytes(IntegrityKeySize(algorithm), 5));
  if (!integrity.ok()) Abort("Integrity::Create");
  Bytes packet(kPacket, 0x42);
  uint8_t icv[32];
  for (auto _ : state) {
    if (!integrity->Compute(packet, icv).ok()) Abort("HMAC");
    benchmark::DoNotOptimize(icv);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPacket));
}

// ---- IKE handshake costs -------------------------------------------------------------------

// One side of a handshake: generate our key pair and derive g^ir from the peer's value.
void BM_KeyExchange(benchmark::State& state, Group group) {
  Result<std::unique_ptr<KeyExchange>> peer = KeyExchange::Generate(group);
  if (!peer.ok()) Abort("peer KeyExchange::Generate");
  const Bytes peer_public = (*peer)->PublicValue();
  for (auto _ : state) {
    Result<std::unique_ptr<KeyExchange>> ours = KeyExchange::Generate(group);
    if (!ours.ok()) Abort("KeyExchange::Generate");
    Result<SecretBytes> shared = (*ours)->ComputeShared(peer_public);
    if (!shared.ok()) Abort("ComputeShared");
    benchmark::DoNotOptimize(shared->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// RFC 7296 §2.14 for aes128gcm16-prfsha256: SKEYSEED, then prf+ for SK_d, SK_ai/ar (none with
// AEAD), SK_ei/er (16 + 4 salt each), SK_pi/pr.
void BM_IkeKeyDerivation(benchmark::State& state) {
  const Prf prf(Hash::kSha256);
  const Bytes nonces(64, 0x5a), shared(32, 0xa5), seed(80, 0x3c);
  for (auto _ : state) {
    Result<SecretBytes> skeyseed = prf.ComputeSecret(nonces, shared);
    if (!skeyseed.ok()) Abort("SKEYSEED");
    Result<SecretBytes> keymat = prf.PrfPlus(SecretSpan(*skeyseed), seed, 3 * 32 + 2 * 20);
    if (!keymat.ok()) Abort("prf+");
    benchmark::DoNotOptimize(keymat->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Sign(benchmark::State& state, testing::KeyKind kind, SignatureScheme scheme) {
  const PrivateKey& key = testing::TestKey(kind);
  const Bytes octets(400, 0x61);  // ~ the AUTH octets: a message, a nonce and a MAC
  for (auto _ : state) {
    Result<Bytes> sig = Sign(key, scheme, octets);
    if (!sig.ok()) Abort("Sign");
    benchmark::DoNotOptimize(sig->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Verify(benchmark::State& state, testing::KeyKind kind, SignatureScheme scheme) {
  const PrivateKey& key = testing::TestKey(kind);
  const PublicKey pub = key.Public();
  const Bytes octets(400, 0x61);
  Result<Bytes> sig = Sign(key, scheme, octets);
  if (!sig.ok()) Abort("Sign");
  for (auto _ : state) {
    if (!Verify(pub, scheme, octets, *sig).ok()) Abort("Verify");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// ---- Registration and summary --------------------------------------------------------------

struct Named {
  const char* name;
  std::string label;
  const char* baseline = nullptr;  // the raw-EVP run this one is compared with
};

std::vector<Named> g_packet_rows, g_op_rows;

void Register() {
  using A = AeadAlgorithm;
  auto packet = [](Named row, auto fn, auto... args) {
    benchmark::RegisterBenchmark(row.name, fn, args...);
    g_packet_rows.push_back(std::move(row));
  };
  constexpr const char* kRawGcm = "BM_RawEvpSeal/AES-128-GCM";
  constexpr const char* kRawChaCha = "BM_RawEvpSeal/ChaCha20-Poly1305";
  packet({kRawGcm, "raw EVP AES-128-GCM seal (baseline)", kRawGcm}, BM_RawEvpSeal, "AES-128-GCM",
         size_t{16});
  packet({"BM_AeadSeal/AES-128-GCM", "Aead::Seal AES-128-GCM", kRawGcm}, BM_AeadSeal,
         A::kAes128Gcm16);
  packet({"BM_AeadOpen/AES-128-GCM", "Aead::Open AES-128-GCM", kRawGcm}, BM_AeadOpen,
         A::kAes128Gcm16);
  packet({"BM_AeadSeal/AES-256-GCM", "Aead::Seal AES-256-GCM", kRawGcm}, BM_AeadSeal,
         A::kAes256Gcm16);
  packet({kRawChaCha, "raw EVP ChaCha20-Poly1305 seal (baseline)", kRawChaCha}, BM_RawEvpSeal,
         "ChaCha20-Poly1305", size_t{32});
  packet({"BM_AeadSeal/ChaCha20-Poly1305", "Aead::Seal ChaCha20-Poly1305", kRawChaCha}, BM_AeadSeal,
         A::kChaCha20Poly1305);
  packet({"BM_AeadOpen/ChaCha20-Poly1305", "Aead::Open ChaCha20-Poly1305", kRawChaCha}, BM_AeadOpen,
         A::kChaCha20Poly1305);
  packet({"BM_CbcHmacSeal/AES-128-CBC", "AES-128-CBC + HMAC-SHA-256-128", kRawGcm}, BM_CbcHmacSeal,
         CbcAlgorithm::kAes128);
  packet({"BM_CbcHmacSeal/3DES-CBC", "3DES-CBC + HMAC-SHA-256-128 (legacy)", kRawGcm},
         BM_CbcHmacSeal, CbcAlgorithm::k3Des);
  packet({"BM_Hmac/HMAC-SHA-256-128", "HMAC-SHA-256-128 alone", kRawGcm}, BM_Hmac,
         IntegrityAlgorithm::kHmacSha256_128);

  auto op = [](const char* name, std::string label, auto fn, auto... args) {
    benchmark::RegisterBenchmark(name, fn, args...);
    g_op_rows.push_back({name, std::move(label)});
  };
  op("BM_KeyExchange/Curve25519", "X25519 generate + derive (group 31)", BM_KeyExchange,
     Group::kCurve25519);
  op("BM_KeyExchange/ECP-256", "ECP-256 generate + derive (group 19)", BM_KeyExchange,
     Group::kEcp256);
  op("BM_KeyExchange/ECP-384", "ECP-384 generate + derive (group 20)", BM_KeyExchange,
     Group::kEcp384);
  op("BM_KeyExchange/MODP-2048", "MODP-2048 generate + derive (group 14)", BM_KeyExchange,
     Group::kModp2048);
  op("BM_KeyExchange/MODP-3072", "MODP-3072 generate + derive (group 15)", BM_KeyExchange,
     Group::kModp3072);
  op("BM_IkeKeyDerivation", "SKEYSEED + prf+ (PRF-HMAC-SHA-256)", BM_IkeKeyDerivation);
  using K = testing::KeyKind;
  using S = SignatureScheme;
  op("BM_Sign/RSA-2048-PKCS1-SHA256", "RSA-2048 PKCS#1 SHA-256 sign", BM_Sign, K::kRsa2048,
     S::kRsaPkcs1Sha256);
  op("BM_Verify/RSA-2048-PKCS1-SHA256", "RSA-2048 PKCS#1 SHA-256 verify", BM_Verify, K::kRsa2048,
     S::kRsaPkcs1Sha256);
  op("BM_Sign/RSA-2048-PSS-SHA256", "RSA-2048 PSS SHA-256 sign", BM_Sign, K::kRsa2048,
     S::kRsaPssSha256);
  op("BM_Sign/ECDSA-P256-SHA256", "ECDSA P-256 SHA-256 sign", BM_Sign, K::kEcP256, S::kEcdsaSha256);
  op("BM_Verify/ECDSA-P256-SHA256", "ECDSA P-256 SHA-256 verify", BM_Verify, K::kEcP256,
     S::kEcdsaSha256);
  op("BM_Sign/Ed25519", "Ed25519 sign", BM_Sign, K::kEd25519, S::kEd25519);
  op("BM_Verify/Ed25519", "Ed25519 verify", BM_Verify, K::kEd25519, S::kEd25519);
}

// Keeps each run's rate by name, for the summary after the table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      const std::string name = run.run_name.function_name;
      for (const char* c : {"bytes_per_second", "items_per_second"}) {
        auto it = run.counters.find(c);
        if (it != run.counters.end()) rate_[name] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void PrintSummary() const {
    std::printf("\nSummary (one core, CPU time; medians when repeated)\n");
    std::printf("%-42s %8s %8s  %s\n", "1400-byte packets", "MB/s", "Gbit/s",
                "vs raw EVP (same run)");
    for (const Named& row : g_packet_rows) {
      const double bps = Get(row.name);
      const double base = Get(row.baseline);
      std::printf("%-42s %8.0f %8.2f  %5.2fx %s\n", row.label.c_str(), bps / 1e6, bps * 8 / 1e9,
                  base > 0 ? bps / base : 0.0,
                  row.baseline + sizeof("BM_RawEvpSeal"));  // the algorithm's name
    }
    std::printf("\n%-42s %8s %8s\n", "IKE operations", "ops/s", "us/op");
    for (const Named& row : g_op_rows) {
      const double ops = Get(row.name);
      std::printf("%-42s %8.0f %8.1f\n", row.label.c_str(), ops, ops > 0 ? 1e6 / ops : 0.0);
    }
  }

 private:
  double Get(const std::string& name) const {
    auto it = rate_.find(name);
    return it == rate_.end() ? 0.0 : it->second;
  }
  std::map<std::string, double> rate_;
};

}  // namespace
}  // namespace ipsec::engine::crypto

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ipsec::engine::crypto::Register();
  ipsec::engine::crypto::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  benchmark::Shutdown();
  return 0;
}
