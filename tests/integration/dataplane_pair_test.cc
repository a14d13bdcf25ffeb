// The userspace ESP data path end to end (issue 4): two daemons in two lab pods with
// --dataplane=userspace and a policy requiring security between the pods. A ping from pod A
// triggers the negotiation (acquire: the first packets wait in the queue), gets its replies
// through ESP, and the capture on pod A's eth0 shows ESP and no ICMP in clear; GET /v1/sas
// shows the child SA's bytes and packets moving; the metrics show the data path's counters;
// a TCP stream (iperf3, 2 s) completes. Tunnel and transport mode; raw ESP and ESP in UDP
// (--force-udp-encapsulation: the SO_REUSEPORT steering on the NAT-T port).
// Needs root, iproute2, nftables, curl, tcpdump, tshark, iperf3; fails naming what is missing.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/integration_util.h"
#include "tests/integration/pair_policy.h"
#include "tests/sidecar/metrics/metrics_test_util.h"
#include "tests/support/lab.h"
#include "tests/support/tshark.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "dataplane-pair-psk-8d21c7e4";

struct Mode {
  std::string name;
  bool tunnel = true;
  bool udp_encapsulation = false;
};

class DataplanePairTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    const std::string missing = MissingTool({"tcpdump", "tshark", "iperf3", "nft", "ping"});
    ASSERT_TRUE(missing.empty()) << missing;
    std::string error;
    lab_ = Lab::Create(2, &error);
    ASSERT_NE(lab_, nullptr) << error;
    std::vector<std::string> args = {"--dataplane=userspace"};
    if (GetParam().udp_encapsulation) args.push_back("--force-udp-encapsulation");
    for (int i = 0; i < 2; ++i) {
      d_[i] = std::make_unique<Daemon>(*lab_, i, Daemon::Options{.extra_args = args});
      ASSERT_TRUE(d_[i]->Start()) << "daemon " << i << " did not turn ready:\n" << d_[i]->Log();
    }
  }

  void Apply(int i) {
    const json policy = PairPolicy(lab_->PodV4(i), lab_->PodV4(1 - i), GetParam().tunnel, kPsk);
    CommandResult put = d_[i]->Http("PUT", "/v1/policies/pair", policy.dump());
    ASSERT_TRUE(Status(put) == 200 || Status(put) == 201) << put.out << put.err;
    CommandResult assign = d_[i]->Http("PUT", "/v1/assignment", R"({"policy": "pair"})");
    ASSERT_EQ(Status(assign), 200) << assign.out << assign.err;
  }

  json Sas(int i) {
    CommandResult r = d_[i]->Http("GET", "/v1/sas");
    json j = Body(r);
    return j.is_object() && j.contains("ike_sas") ? j["ike_sas"] : json::array();
  }

  // The pods' child SA traffic, summed over every child SA entry: a byte lifetime reached by
  // the TCP stream rekeys the child SA (make-before-break: for a while both pairs are listed),
  // and colliding acquires may leave a second pair. Null while there is none.
  json Child(int i) {
    json out;
    for (const auto& ike : Sas(i)) {
      for (const auto& c : ike["child_sas"]) {
        if (out.is_null()) {
          out = {{"mode", c["mode"]},
                 {"packets_out", 0},
                 {"packets_in", 0},
                 {"bytes_out", 0},
                 {"bytes_in", 0}};
        }
        for (const char* k : {"packets_out", "packets_in", "bytes_out", "bytes_in"}) {
          out[k] = out[k].get<uint64_t>() + c.value(k, uint64_t{0});
        }
      }
    }
    return out;
  }

  std::string Metrics(int i) {
    return lab_
        ->Exec(lab_->node(),
               {"curl", "-sS", "--max-time", "10", "http://" + lab_->PodV4(i) + ":9090/metrics"})
        .out;
  }

  std::string Diagnostics() {
    std::string out;
    for (int i = 0; i < 2; ++i) {
      out += "--- pod " + std::to_string(i) + " daemon log\n" + d_[i]->Log();
      out += "--- ip rule\n" + lab_->Exec(lab_->pod(i), {"ip", "rule"}).out;
      out += "--- routes table 9700\n" +
             lab_->Exec(lab_->pod(i), {"ip", "route", "show", "table", "9700"}).out;
      out += "--- nft\n" + lab_->Exec(lab_->pod(i), {"nft", "list", "ruleset"}).out;
      out += "--- sas\n" + Sas(i).dump() + "\n";
    }
    return out;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> d_[2];
};

TEST_P(DataplanePairTest, PingAndTcpThroughEsp) {
  const Mode& mode = GetParam();
  TempDir dir;
  if (mode.name == "tunnel") {
    // The same-run ceiling for the figure below: the same veths, no policy (nothing in the TUN).
    BackgroundProcess plain_server(
        {"ip", "netns", "exec", lab_->pod(1), "iperf3", "-s", "-1", "-p", "5202"},
        dir.path() + "/iperf3-plain.log");
    ASSERT_TRUE(WaitForTcpListener(lab_->pod(1), 5202)) << ReadFile(dir.path() + "/iperf3-plain.log");
    CommandResult plain = lab_->Exec(
        lab_->pod(0), {"iperf3", "-c", lab_->PodV4(1), "-p", "5202", "-t", "2", "-f", "m"}, "",
        std::chrono::seconds(30));
    std::printf("[ plain veth, no policy ] iperf3 -c %s -t 2:\n%s\n", lab_->PodV4(1).c_str(),
                plain.out.c_str());
  }
  for (int i = 0; i < 2; ++i) Apply(i);
  std::string error;
  auto capture = Capture::Start(lab_->pod(0), "eth0", dir.path() + "/pod0.pcap", &error,
                                "host " + lab_->PodV4(1));
  ASSERT_NE(capture, nullptr) << error;

  // The first packets find no SA: they wait while IKE negotiates (acquire), then go.
  CommandResult first =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "3", "-i", "0.5", "-W", "5", lab_->PodV4(1)});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return !Child(0).is_null() && !Child(1).is_null(); })) << Diagnostics();
  EXPECT_EQ(Child(0)["mode"], mode.tunnel ? "tunnel" : "transport");
  CommandResult ping =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "5", "-i", "0.2", "-W", "2", lab_->PodV4(1)});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << Diagnostics();
  EXPECT_NE(ping.out.find(" 0% packet loss"), std::string::npos) << ping.out;
  // Datagrams larger than the TUN's MTU: each pod's kernel fragments its 3028-octet ICMP
  // packet before the TUN; the data path reassembles it and protects it whole (transport mode
  // applies only to whole datagrams, RFC 4303 §3.1.1), the kernel fragments the outer ESP
  // packet, and the peer's kernel reassembles that.
  CommandResult big = lab_->Exec(lab_->pod(0), {"ping", "-c", "3", "-i", "0.2", "-W", "2", "-M",
                                                "dont", "-s", "3000", lab_->PodV4(1)});
  EXPECT_EQ(big.exit_code, 0) << big.out << Diagnostics();
  EXPECT_NE(big.out.find(" 0% packet loss"), std::string::npos) << big.out;

  // A rekey from each side (POST /v1/sas/{id}/rekey, ipsecctl sa rekey) while pings flow every
  // 50 ms: make-before-break (RFC 7296 §2.8) loses none, and each side's child SA keeps its id
  // with a new inbound SPI.
  auto installed = [&](int i) {
    for (const auto& ike : Sas(i)) {
      for (const auto& c : ike["child_sas"]) {
        if (c["state"] == "installed")
          return std::make_pair(c["id"].get<std::string>(), c["spi_in"]);
      }
    }
    return std::make_pair(std::string(), json());
  };
  const auto before0 = installed(0), before1 = installed(1);
  auto middle1 = before1;
  ASSERT_FALSE(before0.first.empty()) << Sas(0).dump();
  ASSERT_FALSE(before1.first.empty()) << Sas(1).dump();
  {
    BackgroundProcess pings({"ip", "netns", "exec", lab_->pod(0), "ping", "-c", "50", "-i", "0.05",
                             "-W", "2", lab_->PodV4(1)},
                            dir.path() + "/rekey-ping.log");
    // Rekeys while the pings flow: once some replies came, and pod 1's once pod 0's has
    // completed at both ends (a pair still mid-rekey refuses another with 409).
    EXPECT_TRUE(WaitFor([&] {
      return ReadFile(dir.path() + "/rekey-ping.log").find("icmp_seq=5 ") != std::string::npos;
    })) << ReadFile(dir.path() + "/rekey-ping.log");
    CommandResult r0 = d_[0]->Http("POST", "/v1/sas/" + before0.first + "/rekey");
    EXPECT_EQ(Status(r0), 202) << r0.out << r0.err;
    EXPECT_TRUE(WaitFor([&] {
      return installed(0).second != before0.second && installed(1).second != before1.second;
    })) << Sas(0).dump() << "\n" << Sas(1).dump();
    middle1 = installed(1);  // pod 1's pair after pod 0's rekey: pod 1's own replaces it
    CommandResult r1 = d_[1]->Ctl({"sa", "rekey", before1.first});  // the same through ipsecctl
    EXPECT_EQ(r1.exit_code, 0) << r1.out << r1.err;
    EXPECT_EQ(pings.WaitExit(std::chrono::seconds(10)), 0)
        << ReadFile(dir.path() + "/rekey-ping.log");
  }
  const std::string rekey_pings = ReadFile(dir.path() + "/rekey-ping.log");
  EXPECT_NE(rekey_pings.find(" 0% packet loss"), std::string::npos) << rekey_pings << Diagnostics();
  EXPECT_TRUE(WaitFor([&] {
    const auto now0 = installed(0), now1 = installed(1);
    return now0.first == before0.first && now0.second != before0.second &&
           now1.first == before1.first && now1.second != middle1.second;
  })) << Sas(0).dump()
      << "\n"
      << Sas(1).dump();

  // A TCP stream through the SA.
  BackgroundProcess server(
      {"ip", "netns", "exec", lab_->pod(1), "iperf3", "-s", "-1", "-p", "5201"},
      dir.path() + "/iperf3-server.log");
  ASSERT_TRUE(WaitForTcpListener(lab_->pod(1), 5201))
      << ReadFile(dir.path() + "/iperf3-server.log");
  CommandResult iperf =
      lab_->Exec(lab_->pod(0), {"iperf3", "-c", lab_->PodV4(1), "-p", "5201", "-t", "2", "-f", "m"},
                 "", std::chrono::seconds(30));
  EXPECT_EQ(iperf.exit_code, 0) << iperf.out << iperf.err << Diagnostics();
  std::printf("[ %s ] iperf3 -c %s -t 2 through ESP:\n%s\n", mode.name.c_str(),
              lab_->PodV4(1).c_str(), iperf.out.c_str());
  ASSERT_TRUE(capture->Stop(&error)) << error;
  for (int i = 0; i < 2; ++i) {  // for the log: where packets were lost, if anywhere
    std::string m = Metrics(i), lines;
    for (size_t pos = 0; (pos = m.find("\nipsec_dataplane_", pos)) != std::string::npos;) {
      size_t end = m.find('\n', pos + 1);
      std::string line = m.substr(pos + 1, end - pos - 1);
      if (line.find("} 0") == std::string::npos) lines += "  " + line + "\n";
      pos = end;
    }
    std::printf("[ %s ] pod %d data path counters:\n%s", mode.name.c_str(), i, lines.c_str());
  }

  // Enforcement: plaintext that bypasses the TUN (the data path's own mark, 0x1e5ec) leaves pod A,
  // and pod B's nftables drops it (counted), as the policy requires security.
  CommandResult bypass = lab_->Exec(
      lab_->pod(0), {"ping", "-c", "2", "-i", "0.2", "-W", "1", "-m", "124396", lab_->PodV4(1)});
  EXPECT_NE(bypass.exit_code, 0) << "plaintext ping got through: " << bypass.out;
  CommandResult nft =
      lab_->Exec(lab_->pod(1), {"nft", "list", "chain", "inet", "ipsec_ipsec0", "input"});
  std::string m1;  // the exporter reads nftables' counters at most every 2 s: wait for them
  EXPECT_TRUE(WaitFor([&] {
    m1 = Metrics(1);
    return m1.find("ipsec_dataplane_drops_total{reason=\"plaintext\"} 2\n") != std::string::npos;
  })) << m1;
  EXPECT_NE(nft.out.find("counter packets 2 "), std::string::npos)
      << nft.out << bypass.out << bypass.err
      << lab_->Exec(lab_->pod(0), {"nft", "list", "chain", "inet", "ipsec_ipsec0", "output"}).out
      << lab_->Exec(lab_->pod(0), {"ip", "route", "get", lab_->PodV4(1), "mark", "0x1e5ec"}).out;

  // Proof on the wire: ESP (raw, or in UDP 4500), and no ICMP or iperf3 TCP in clear.
  Tshark tshark;
  std::vector<DissectedPacket> esp, icmp, tcp;
  ASSERT_TRUE(tshark.Dissect(capture->path(), "esp", {"esp.spi", "udp.dstport"}, &esp, &error))
      << error;
  ASSERT_TRUE(tshark.Dissect(capture->path(), "icmp && !esp", {"icmp.type"}, &icmp, &error))
      << error;
  ASSERT_TRUE(tshark.Dissect(capture->path(), "tcp.port == 5201", {"tcp.srcport"}, &tcp, &error))
      << error;
  EXPECT_GT(esp.size(), 16u);
  EXPECT_EQ(icmp.size(), 0u) << "ICMP in clear on the wire";
  EXPECT_EQ(tcp.size(), 0u) << "TCP in clear on the wire";
  if (!esp.empty()) {
    EXPECT_EQ(esp[0].Has("udp.dstport"), mode.udp_encapsulation) << esp[0].Get("udp.dstport");
  }

  // The SAs carried traffic, and the per-rule/peer counters (monotonic across the rekeys a
  // byte lifetime may start during the TCP stream; an SA's own counters start again at 0
  // with each rekey) moved on both sides.
  json c0 = Child(0), c1 = Child(1);
  ASSERT_FALSE(c0.is_null());
  ASSERT_FALSE(c1.is_null());
  EXPECT_GT(c0["packets_out"].get<uint64_t>() + c0["packets_in"].get<uint64_t>(), 0u) << c0.dump();
  auto counter = [&](int pod, const char* name, const char* direction) -> double {
    const std::string m = Metrics(pod);
    const std::string series = std::string(name) + "{direction=\"" + direction + "\",peer=\"" +
                               lab_->PodV4(1 - pod) + "\",rule=\"pods\"} ";
    const size_t at = m.find(series);
    if (at == std::string::npos) {
      ADD_FAILURE() << "no " << series << "in\n" << m;
      return 0;
    }
    return std::strtod(m.c_str() + at + series.size(), nullptr);
  };
  EXPECT_GT(counter(0, "ipsec_child_sa_packets_total", "outbound"), 8);
  EXPECT_GT(counter(0, "ipsec_child_sa_packets_total", "inbound"), 8);
  EXPECT_GT(counter(0, "ipsec_child_sa_bytes_total", "outbound"), 100000);
  EXPECT_GT(counter(1, "ipsec_child_sa_bytes_total", "inbound"), 100000);
  const std::string m = Metrics(0);
  EXPECT_NE(m.find("ipsec_dataplane_packets_total{direction=\"outbound\"}"), std::string::npos)
      << m;

  // The kernel's batching shows in the metrics: ESP in UDP goes out in UDP GSO sends and comes
  // in as UDP GRO datagrams; raw ESP can use neither (the families exist, at 0). Decrypted TCP
  // segments of the stream are merged for the TUN in every mode.
  const std::string m1_after = Metrics(1);
  auto sample = [](const std::string& text, const char* name) {
    return sidecar::metrics::testing::SampleValue(text, name).value_or(-1);
  };
  for (const char* name :
       {"ipsec_dataplane_udp_gso_sends_total", "ipsec_dataplane_udp_gro_datagrams_total",
        "ipsec_dataplane_icmp_errors_sent_total"}) {
    EXPECT_GE(sample(m, name), 0) << name << " missing in\n" << m;
  }
  if (mode.udp_encapsulation) {
    EXPECT_GT(sample(m, "ipsec_dataplane_udp_gso_segments_total"),
              sample(m, "ipsec_dataplane_udp_gso_sends_total"));
    EXPECT_GT(sample(m, "ipsec_dataplane_udp_gso_sends_total"), 0);
    EXPECT_GT(sample(m1_after, "ipsec_dataplane_udp_gro_segments_total"), 0) << m1_after;
  } else {
    EXPECT_EQ(sample(m, "ipsec_dataplane_udp_gso_sends_total"), 0);
    EXPECT_EQ(sample(m1_after, "ipsec_dataplane_udp_gro_datagrams_total"), 0);
  }
  EXPECT_GT(sample(m1_after, "ipsec_dataplane_tun_merged_segments_total"), 0) << m1_after;
  // Every link is 1500: nothing needed an ICMP error from the path MTU guard.
  EXPECT_EQ(sample(m, "ipsec_dataplane_icmp_errors_sent_total"), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, DataplanePairTest,
                         ::testing::Values(Mode{"tunnel", true, false},
                                           Mode{"transport", false, false},
                                           Mode{"tunnel_udp", true, true}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace ipsec::testing
