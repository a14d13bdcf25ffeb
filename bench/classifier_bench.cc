// Classifier benchmark (issue 2): lookups per second of the tuple-space classifier against a
// linear scan of the same compiled table, in the same run, at 1k, 10k and 100k filters; and the
// time to compile those policies and to build the classifier. Prints Google Benchmark's table,
// then a summary with the ratios.
//
// The policy is a realistic mix for a pod: mostly "me" <-> one address or a subnet, some
// ranges, ports and IPv6, rules of 250 filters with secure/permit/block actions, two any <-> any
// rules, and the built-in exemptions. Packets: 80% aimed at a random entry of the table, 20%
// from the pod to random addresses (which mostly fall through to any <-> any).

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/policy/classifier.h"
#include "engine/policy/compiler.h"
#include "engine/policy/model.h"

namespace ipsec::engine::policy {
namespace {

constexpr int kSizes[] = {1000, 10000, 100000};
constexpr int kFiltersPerRule = 250;
constexpr size_t kPackets = 1 << 16;
const IpAddress kMyV4 = IpAddress::V4(0x0a630102u);  // 10.99.1.2
const IpAddress kMyV6 = IpAddress(IpFamily::kV6, (Uint128{0xfd00009900010000ULL} << 64) | 2);

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  uint32_t Pick(uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng_);
  }
  IpAddress V4() { return IpAddress::V4(0x0a000000u | Pick(0, 0xffffff)); }  // 10/8
  IpAddress V6() {
    return IpAddress(IpFamily::kV6, (Uint128{0xfd00} << 112) | (Uint128{rng_()} << 32) | Pick(0, ~0u));
  }
  Filter MakeFilter() {
    Filter f;
    f.mirrored = true;
    const uint32_t kind = Pick(0, 99);
    const bool v6 = kind >= 90 && kind < 99;
    f.source = AddressSpec::Me(v6 ? IpFamily::kV6 : IpFamily::kV4);
    if (kind < 60) {
      f.destination = AddressSpec::Single(V4());
    } else if (kind < 80) {
      f.destination = AddressSpec::Subnet(V4(), 24);
    } else if (kind < 85) {
      f.destination = AddressSpec::Subnet(V4(), 16);
    } else if (kind < 90) {
      IpAddress a = V4();
      f.destination = AddressSpec::Range(a, IpAddress::V4(static_cast<uint32_t>(a.value()) +
                                                           Pick(2, 50)));
    } else if (kind < 95) {
      f.destination = AddressSpec::Single(V6());
    } else if (kind < 99) {
      f.destination = AddressSpec::Subnet(V6(), 64);
    } else {
      f.destination = AddressSpec::Subnet(V4(), 20);
      f.protocol = kProtoUdp;
      f.destination_ports = PortRange{1000, 1999};
      return f;
    }
    if (Pick(0, 1)) {
      static constexpr uint16_t kPorts[] = {443, 5432, 8080, 6379};
      f.protocol = kProtoTcp;
      f.destination_ports = PortRange::Single(kPorts[Pick(0, 3)]);
    }
    return f;
  }
  // A packet inside `e`, or (for `e` null) from the pod to a random address.
  PacketKey MakePacket(const TableEntry* e) {
    PacketKey p;
    p.interface = "eth0";
    if (e == nullptr) {
      p.source = kMyV4;
      p.destination = V4();
      p.protocol = kProtoTcp;
      p.source_port = static_cast<uint16_t>(Pick(32768, 60999));
      p.destination_port = static_cast<uint16_t>(Pick(1, 9000));
      return p;
    }
    p.direction = e->direction;
    p.source = Inside(e->source);
    p.destination = Inside(e->destination);
    p.protocol = e->protocol.value_or(kProtoTcp);
    p.source_port = static_cast<uint16_t>(Pick(e->source_ports.first, e->source_ports.last));
    p.destination_port =
        static_cast<uint16_t>(Pick(e->destination_ports.first, e->destination_ports.last));
    return p;
  }

 private:
  IpAddress Inside(const IpRange& r) {
    const Uint128 span = r.last.value() - r.first.value();
    const uint64_t limit = span > Uint128{~0ULL - 1} ? ~0ULL - 1 : static_cast<uint64_t>(span);
    return IpAddress(r.family(), r.first.value() + (rng_() % (limit + 1)));
  }
  std::mt19937_64 rng_;
};

FilterAction MakeAction(const char* name, ActionType type) {
  FilterAction a;
  a.name = name;
  a.type = type;
  return a;
}

Rule MakeRule(const std::string& name, const std::string& action) {
  Rule r;
  r.name = name;
  r.filter_list = name;
  r.filter_action = action;
  return r;
}

Policy MakePolicy(int filters, uint64_t seed) {
  Generator gen(seed);
  Policy p;
  p.name = "bench";
  p.filter_actions = {MakeAction("secure", ActionType::kNegotiate),
                      MakeAction("permit", ActionType::kPermit),
                      MakeAction("block", ActionType::kBlock)};
  static const char* kRotation[] = {"secure", "secure", "secure", "permit", "block"};
  for (int i = 0; i < filters; i += kFiltersPerRule) {
    std::string name = "r";
    name += std::to_string(i / kFiltersPerRule);
    FilterList list{name, "", {}};
    for (int j = i; j < filters && j < i + kFiltersPerRule; ++j) {
      list.filters.push_back(gen.MakeFilter());
    }
    p.filter_lists.push_back(std::move(list));
    p.rules.push_back(MakeRule(name, kRotation[(i / kFiltersPerRule) % 5]));
  }
  Filter all;  // any <-> any
  p.filter_lists.push_back(FilterList{"all", "", {all}});
  p.rules.push_back(MakeRule("all", "permit"));
  Filter telnet;
  telnet.destination = AddressSpec::Me();
  telnet.protocol = kProtoTcp;
  telnet.destination_ports = PortRange::Single(23);
  telnet.mirrored = false;
  p.filter_lists.push_back(FilterList{"telnet", "", {telnet}});
  p.rules.push_back(MakeRule("telnet", "block"));
  return p;
}

CompileContext MakeContext() {
  CompileContext c;
  c.interfaces = {PodInterface{"eth0", {{kMyV4, 24}, {kMyV6, 64}}}};
  c.node_address = IpAddress::V4(0x0a630101u);
  return c;
}

// "100k single-address <-> subnet filters, mirrored": from "me" (one address per family).
Policy MakeSingleToSubnetPolicy(int filters, bool from_me) {
  Policy p;
  p.name = "single-subnet";
  p.filter_actions = {MakeAction("secure", ActionType::kNegotiate)};
  FilterList list{"l", "", {}};
  for (int i = 0; i < filters; ++i) {
    Filter f;
    f.source = from_me ? AddressSpec::Me(IpFamily::kV4) : AddressSpec::Single(kMyV4);
    // Distinct /24s from 11.0.0.0 on, so no two filters merge.
    f.destination = AddressSpec::Subnet(IpAddress::V4(0x0b000000u + (uint32_t(i) << 8)), 24);
    list.filters.push_back(f);
  }
  p.filter_lists.push_back(std::move(list));
  p.rules.push_back(MakeRule("l", "secure"));
  return p;
}

// ---- Workloads, built once per size -----------------------------------------------------

struct Workload {
  Policy policy;
  std::unique_ptr<Classifier> classifier;
  std::vector<PacketKey> packets;
};

// The linear baseline: the table is in rank order, so the first match decides.
Classifier::Verdict LinearLookup(const FilterTable& t, const PacketKey& p) {
  Classifier::Verdict v;
  for (const TableEntry& e : t.entries) {
    if (!Matches(e, p)) continue;
    v.entry = &e;
    v.action = e.action;
    if (v.action == Action::kNegotiate && NeverSecured(t, p.destination)) {
      v.action = Action::kPermit;
      v.never_secured = true;
    }
    break;
  }
  return v;
}

Workload& GetWorkload(int filters) {
  static std::map<int, std::unique_ptr<Workload>> cache;
  auto& slot = cache[filters];
  if (slot) return *slot;
  slot = std::make_unique<Workload>();
  slot->policy = MakePolicy(filters, 42);
  Result<FilterTable> table = CompilePolicy(slot->policy, MakeContext());
  if (!table.ok()) {
    std::fprintf(stderr, "compile failed: %s\n", table.error().ToString().c_str());
    std::abort();
  }
  slot->classifier = std::make_unique<Classifier>(std::move(table).value());
  Generator gen(filters);
  const auto& entries = slot->classifier->table().entries;
  for (size_t i = 0; i < kPackets; ++i) {
    const bool aimed = gen.Pick(0, 9) < 8;
    slot->packets.push_back(
        gen.MakePacket(aimed ? &entries[gen.Pick(0, static_cast<uint32_t>(entries.size() - 1))]
                             : nullptr));
  }
  // Both classifiers must agree before their speeds mean anything.
  for (size_t i = 0; i < kPackets; i += 61) {
    const PacketKey& p = slot->packets[i];
    if (slot->classifier->Lookup(p).entry != LinearLookup(slot->classifier->table(), p).entry) {
      std::fprintf(stderr, "classifier and linear scan disagree on packet %zu\n", i);
      std::abort();
    }
  }
  return *slot;
}

void BM_LookupTupleSpace(benchmark::State& state) {
  Workload& w = GetWorkload(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.classifier->Lookup(w.packets[i]));
    i = (i + 1) & (kPackets - 1);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["entries"] = static_cast<double>(w.classifier->table().entries.size());
  state.counters["tuples"] = static_cast<double>(w.classifier->TupleCount());
}

void BM_LookupLinear(benchmark::State& state) {
  Workload& w = GetWorkload(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(LinearLookup(w.classifier->table(), w.packets[i]));
    i = (i + 1) & (kPackets - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

// Classify() also formats the reason for people (the API's /v1/match), so it allocates.
void BM_ClassifyWithReason(benchmark::State& state) {
  Workload& w = GetWorkload(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.classifier->Classify(w.packets[i]));
    i = (i + 1) & (kPackets - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Compile(benchmark::State& state) {
  const Policy& policy = GetWorkload(static_cast<int>(state.range(0))).policy;
  const CompileContext context = MakeContext();
  for (auto _ : state) benchmark::DoNotOptimize(CompilePolicy(policy, context));
}

void BM_BuildClassifier(benchmark::State& state) {
  Workload& w = GetWorkload(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    FilterTable copy = w.classifier->table();
    state.ResumeTiming();
    auto c = std::make_unique<Classifier>(std::move(copy));
    benchmark::DoNotOptimize(c.get());
    state.PauseTiming();  // freeing the copy is not building
    c.reset();
    state.ResumeTiming();
  }
}

void CompileSingleToSubnet(benchmark::State& state, bool from_me) {
  const Policy policy = MakeSingleToSubnetPolicy(static_cast<int>(state.range(0)), from_me);
  const CompileContext context = MakeContext();
  size_t entries = 0;
  for (auto _ : state) {
    Result<FilterTable> t = CompilePolicy(policy, context);
    entries = t.ok() ? t->entries.size() : 0;
    benchmark::DoNotOptimize(t);
  }
  state.counters["entries"] = static_cast<double>(entries);
}
void BM_CompileMeToSubnet(benchmark::State& state) { CompileSingleToSubnet(state, true); }
void BM_CompileSingleToSubnet(benchmark::State& state) { CompileSingleToSubnet(state, false); }

// ---- Summary ------------------------------------------------------------------------------

// Keeps each run's rate (items/s) or time (ms) by name, for the summary after the table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  // Plain text: the output is committed under bench/results/.
  SummaryReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      // With --benchmark_repetitions, the summary uses the medians.
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      const std::string name = run.run_name.str();
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) rate_[name] = it->second.value;
      ms_[name] = run.GetAdjustedRealTime() *
                  (run.time_unit == benchmark::kMillisecond ? 1.0 : 1e-6);
      for (const char* c : {"entries", "tuples"}) {
        auto ct = run.counters.find(c);
        if (ct != run.counters.end()) counters_[name + "." + c] = ct->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void PrintSummary() const {
    std::printf("\nSummary (one core; lookups via Classifier::Lookup; medians when repeated):\n");
    std::printf("%8s %8s %7s %16s %16s %9s %11s %11s\n", "filters", "entries", "tuples",
                "tuple-space/s", "linear/s", "ratio", "compile ms", "index ms");
    for (int n : kSizes) {
      const std::string s = "/" + std::to_string(n);
      const double tuple = Get(rate_, "BM_LookupTupleSpace" + s);
      const double linear = Get(rate_, "BM_LookupLinear" + s);
      std::printf("%8d %8.0f %7.0f %16.0f %16.0f %8.0fx %11.1f %11.1f\n", n,
                  Get(counters_, "BM_LookupTupleSpace" + s + ".entries"),
                  Get(counters_, "BM_LookupTupleSpace" + s + ".tuples"), tuple, linear,
                  linear > 0 ? tuple / linear : 0.0, Get(ms_, "BM_Compile" + s + "/real_time"),
                  Get(ms_, "BM_BuildClassifier" + s + "/real_time"));
    }
  }

 private:
  static double Get(const std::map<std::string, double>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? 0.0 : it->second;
  }
  std::map<std::string, double> rate_, ms_, counters_;
};

void Register() {
  for (int n : kSizes) {
    benchmark::RegisterBenchmark("BM_LookupTupleSpace", BM_LookupTupleSpace)->Arg(n);
    benchmark::RegisterBenchmark("BM_LookupLinear", BM_LookupLinear)->Arg(n);
    benchmark::RegisterBenchmark("BM_ClassifyWithReason", BM_ClassifyWithReason)->Arg(n);
  }
  for (int n : kSizes) {
    benchmark::RegisterBenchmark("BM_Compile", BM_Compile)
        ->Arg(n)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("BM_BuildClassifier", BM_BuildClassifier)
        ->Arg(n)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_CompileMeToSubnet", BM_CompileMeToSubnet)
      ->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("BM_CompileSingleToSubnet", BM_CompileSingleToSubnet)
      ->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace
}  // namespace ipsec::engine::policy

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ipsec::engine::policy::Register();
  ipsec::engine::policy::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  benchmark::Shutdown();
  return 0;
}
