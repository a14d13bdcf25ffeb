// engine/esp benchmark (issue 4): OutboundSa::Protect and InboundSa::Unprotect per packet, 1400-
// and 64-byte payloads, per algorithm, against the raw keyed crypto doing the same cipher work
// in the same run (crypto::Aead::Seal; CbcCipher::Encrypt + Integrity::Compute; Integrity
// alone for ESP-null): the ratio is what ESP framing, sequence numbers, padding and the replay
// window cost on top of the crypto. Also Protect on one SA from 2 threads (the atomic counter).
// Prints Google Benchmark's table, then a summary in Gbit/s of payload.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/crypto/aead.h"
#include "engine/crypto/cipher.h"
#include "engine/crypto/integrity.h"
#include "engine/esp/inbound_sa.h"
#include "engine/esp/outbound_sa.h"

namespace ipsec::engine::esp {
namespace {

void Abort(const char* what) {
  std::fprintf(stderr, "esp_bench: %s failed\n", what);
  std::abort();
}

struct Algo {
  const char* name;
  uint16_t encryption_id, key_bits;
  size_t key_size;
  uint16_t integrity_id;
  size_t integrity_key_size;
};

const Algo kAlgos[] = {
    {"AES-128-GCM", kEncrAesGcm16, 128, 20, kAuthNone, 0},
    {"AES-256-GCM", kEncrAesGcm16, 256, 36, kAuthNone, 0},
    {"ChaCha20-Poly1305", kEncrChaCha20Poly1305, 256, 36, kAuthNone, 0},
    {"AES-128-CBC+SHA256", kEncrAesCbc, 128, 16, kAuthHmacSha2_256_128, 32},
    {"NULL+SHA256", kEncrNull, 0, 0, kAuthHmacSha2_256_128, 32},
};

SecretBytes Key(size_t n) { return SecretBytes(std::string(n, '\x07')); }

SaParams Params(const Algo& a, unsigned workers = 1) {
  SaParams p;
  p.spi = 0x11223344;
  p.mode = Mode::kTunnel;
  p.workers = workers;
  p.transform.encryption_id = a.encryption_id;
  p.transform.encryption_key_bits = a.key_bits;
  p.transform.integrity_id = a.integrity_id;
  p.transform.esn = true;  // no 2^32 limit however long the run
  p.transform.encryption_key = Key(a.key_size);
  p.transform.integrity_key = Key(a.integrity_key_size);
  return p;
}

void BM_Protect(benchmark::State& state, const Algo* a, size_t size) {
  auto sa = OutboundSa::Create(Params(*a));
  if (!sa.ok()) Abort("OutboundSa::Create");
  const size_t head = (*sa)->headroom();
  std::vector<uint8_t> buf(head + size + (*sa)->max_tailroom(), 0x42);
  for (auto _ : state) {
    auto p = (*sa)->Protect(0, buf.data(), buf.size(), head, size, kNextHeaderIpv4);
    if (!p.ok()) Abort("Protect");
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Packets are made in batches outside the timing (each is used once: the window rejects
// replays) and decrypted in place.
void BM_Unprotect(benchmark::State& state, const Algo* a, size_t size) {
  auto out = OutboundSa::Create(Params(*a));
  auto in = InboundSa::Create(Params(*a));
  if (!out.ok() || !in.ok()) Abort("SA Create");
  constexpr size_t kBatch = 1024;
  const size_t head = (*out)->headroom();
  const size_t stride = head + size + (*out)->max_tailroom();
  std::vector<uint8_t> batch(kBatch * stride);
  std::vector<size_t> lengths(kBatch);
  size_t next = kBatch;
  for (auto _ : state) {
    if (next == kBatch) {
      state.PauseTiming();
      for (size_t i = 0; i < kBatch; ++i) {
        auto p = (*out)->Protect(0, &batch[i * stride], stride, head, size, kNextHeaderIpv4);
        if (!p.ok() || p->offset != 0) Abort("Protect");
        lengths[i] = p->length;
      }
      next = 0;
      state.ResumeTiming();
    }
    auto r = (*in)->Unprotect(0, &batch[next * stride], lengths[next]);
    if (!std::holds_alternative<InboundSa::Unprotected>(r)) Abort("Unprotect");
    ++next;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// The baseline: the same cipher work with the keyed crypto contexts directly.
void BM_RawCrypto(benchmark::State& state, const Algo* a, size_t size) {
  std::vector<uint8_t> buf(size + 64, 0x42);
  uint8_t nonce[crypto::kAeadNonceSize] = {1, 2, 3, 4};
  const uint8_t aad[8] = {0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1};
  const uint8_t iv[16] = {};
  uint64_t n = 0;
  if (a->encryption_id == kEncrAesGcm16 || a->encryption_id == kEncrChaCha20Poly1305) {
    const auto alg = a->encryption_id == kEncrChaCha20Poly1305
                         ? crypto::AeadAlgorithm::kChaCha20Poly1305
                         : (a->key_bits == 128 ? crypto::AeadAlgorithm::kAes128Gcm16
                                               : crypto::AeadAlgorithm::kAes256Gcm16);
    auto aead = crypto::Aead::Create(alg, Bytes(crypto::AeadKeySize(alg), 7));
    if (!aead.ok()) Abort("Aead::Create");
    for (auto _ : state) {
      nonce[11] = static_cast<uint8_t>(++n);
      if (!aead->Seal(nonce, aad, ByteSpan(buf.data(), size), buf.data()).ok()) Abort("Seal");
      benchmark::DoNotOptimize(buf.data());
    }
  } else {
    auto mac = crypto::Integrity::Create(crypto::IntegrityAlgorithm::kHmacSha256_128, Bytes(32, 7));
    if (!mac.ok()) Abort("Integrity::Create");
    std::optional<crypto::CbcCipher> cbc;
    if (a->encryption_id == kEncrAesCbc) {
      auto c = crypto::CbcCipher::Create(crypto::CbcAlgorithm::kAes128, Bytes(16, 7));
      if (!c.ok()) Abort("CbcCipher::Create");
      cbc.emplace(std::move(c).value());
    }
    const size_t blocks = (size + 15) / 16 * 16;
    for (auto _ : state) {
      if (cbc && !cbc->Encrypt(iv, ByteSpan(buf.data(), blocks), buf.data()).ok()) Abort("CBC");
      if (!mac->Compute(ByteSpan(buf.data(), blocks), buf.data() + blocks).ok()) Abort("HMAC");
      benchmark::DoNotOptimize(buf.data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Several threads protecting on one SA, each with its own worker contexts.
std::unique_ptr<OutboundSa> g_shared;
void BM_ProtectShared(benchmark::State& state) {
  constexpr size_t kSize = 1400;
  if (state.thread_index() == 0) {
    auto sa = OutboundSa::Create(Params(kAlgos[0], 2));
    if (!sa.ok()) Abort("OutboundSa::Create");
    g_shared = std::move(sa).value();
  }
  // Google Benchmark starts the timed loop on all threads together, after setup.
  std::vector<uint8_t> buf(64 + kSize + 64, 0x42);
  const unsigned worker = static_cast<unsigned>(state.thread_index());
  for (auto _ : state) {
    auto p = g_shared->Protect(worker, buf.data(), buf.size(), 64, kSize, kNextHeaderIpv4);
    if (!p.ok()) Abort("Protect");
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kSize));
}

struct Row {
  std::string name;
  std::string baseline;
  std::string label;
  size_t size;
};
std::vector<Row> g_rows;

// Best of the repetitions: on a shared machine other work only ever slows a run down, so the
// fastest repetition is the least disturbed estimate (medians are printed in the table too).
double Min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

void Register() {
  auto add = [](const std::string& name, auto fn, auto... args) {
    return benchmark::RegisterBenchmark(name.c_str(), fn, args...)->ComputeStatistics("min", Min);
  };
  for (size_t size : {size_t{1400}, size_t{64}}) {
    for (const Algo& a : kAlgos) {
      const std::string suffix = std::string(a.name) + "/" + std::to_string(size);
      const std::string raw = "BM_RawCrypto/" + suffix;
      add(raw, BM_RawCrypto, &a, size);
      add("BM_Protect/" + suffix, BM_Protect, &a, size);
      add("BM_Unprotect/" + suffix, BM_Unprotect, &a, size);
      g_rows.push_back({raw, raw, std::string("raw crypto ") + a.name + " (baseline)", size});
      g_rows.push_back({"BM_Protect/" + suffix, raw, std::string("Protect ") + a.name, size});
      g_rows.push_back({"BM_Unprotect/" + suffix, raw, std::string("Unprotect ") + a.name, size});
    }
  }
  add("BM_ProtectShared", BM_ProtectShared)->Threads(1)->Threads(2)->UseRealTime();
}

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const std::string name = run.run_name.str();
      auto it = run.counters.find("bytes_per_second");
      if (run.run_type == Run::RT_Iteration && it != run.counters.end()) {
        rate_[name] = it->second.value;  // single runs (no --benchmark_repetitions)
      }
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "min") {
        ns_[name] = name.rfind("BM_ProtectShared", 0) == 0 ? run.GetAdjustedRealTime()
                                                           : run.GetAdjustedCPUTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void PrintSummary() const {
    std::printf(
        "\nSummary (one core unless noted; CPU time, best of the repetitions; Gbit/s of "
        "payload)\n");
    std::printf("%-42s %6s %8s %8s  %s\n", "", "bytes", "Mpps", "Gbit/s", "vs raw crypto");
    for (const Row& row : g_rows) {
      const double bps = Rate(row.name, row.size), base = Rate(row.baseline, row.size);
      std::printf("%-42s %6zu %8.2f %8.2f  %5.2fx\n", row.label.c_str(), row.size,
                  bps / static_cast<double>(row.size) / 1e6, bps * 8 / 1e9,
                  base > 0 ? bps / base : 0.0);
    }
    for (const char* name :
         {"BM_ProtectShared/real_time/threads:1", "BM_ProtectShared/real_time/threads:2"}) {
      const double bps = Rate(name, 1400);
      std::printf("%-42s %6d %8.2f %8.2f  (wall clock, all threads)\n", name, 1400,
                  bps / 1400 / 1e6, bps * 8 / 1e9);
    }
  }

 private:
  // Bytes per second: from the best repetition's time per packet, else the single run's rate.
  double Rate(const std::string& name, size_t size) const {
    if (auto it = ns_.find(name); it != ns_.end() && it->second > 0) {
      return static_cast<double>(size) / (it->second * 1e-9);
    }
    auto it = rate_.find(name);
    return it == rate_.end() ? 0.0 : it->second;
  }
  std::map<std::string, double> rate_, ns_;
};

}  // namespace
}  // namespace ipsec::engine::esp

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ipsec::engine::esp::Register();
  ipsec::engine::esp::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  benchmark::Shutdown();
  return 0;
}
