// AH (RFC 4302) through the userspace data path, sidecar <-> sidecar (issue 4): two daemons in
// two lab pods with --dataplane=userspace and a policy whose only security method is AH
// (HMAC-SHA-256-128). A ping from pod A negotiates an AH child SA (IKEv2, protocol AH) and gets
// its replies; a 1 s iperf3 TCP stream completes; the capture on pod A's eth0 (full-size AH
// packets left out to keep tshark quick) shows AH (IP protocol 51) with the child SA's SPIs
// both ways and no ICMP echo or TCP outside AH, and no ESP; GET
// /v1/sas shows the AH child SA's counters moving. Tunnel and transport mode over IPv4 and
// over IPv6 (the raw IPv6 socket does not deliver the IPv6 header: ah_io.cc
// rebuilds it, and the peer's ICV must verify over it). The same with FAQ 46's AH+ESP bundle
// (engine/ike/bundle.h): every packet on the wire is IP | AH | ESP, with the bundle's AH SPIs
// and ESP SPIs, and nothing reaches either SA outside the bundle. An AH-or-ESP policy, and an
// AH+ESP-or-ESP one, across forced UDP encapsulation get ESP (AH cannot cross a NAT). A bundle
// lowers the TUN's MTU on both sides, and deleting it restores the MTU.
// Needs root, iproute2, nftables, curl, tcpdump, tshark, iperf3; fails naming what is missing.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/integration_util.h"
#include "tests/integration/pair_policy.h"
#include "tests/support/lab.h"
#include "tests/support/tshark.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "ah-pair-psk-5c09e1d7";

json Ah() { return {{"protocol", "ah"}, {"ah_integrity", "sha256"}}; }
json AhEsp() {
  return {{"protocol", "ah+esp"},
          {"esp_encryption", "aes128gcm16"},
          {"esp_integrity", "none"},
          {"ah_integrity", "sha256"}};
}

struct Mode {
  std::string name;
  bool tunnel = true;
  bool ipv6 = false;
  bool bundle = false;  // FAQ 46: AH+ESP instead of AH
};

class AhPair {
 public:
  // Starts the lab and both daemons; `error` says what failed.
  bool Start(const std::vector<std::string>& extra, std::string* error) {
    *error = MissingTool({"tcpdump", "tshark", "iperf3", "nft", "ping"});
    if (!error->empty()) return false;
    lab = Lab::Create(2, error);
    if (lab == nullptr) return false;
    std::vector<std::string> args = {"--dataplane=userspace"};
    args.insert(args.end(), extra.begin(), extra.end());
    for (int i = 0; i < 2; ++i) {
      d[i] = std::make_unique<Daemon>(*lab, i, Daemon::Options{.extra_args = args});
      if (!d[i]->Start()) {
        *error = "daemon " + std::to_string(i) + " did not turn ready:\n" + d[i]->Log();
        return false;
      }
    }
    return true;
  }

  std::string Address(int i, bool ipv6) const { return ipv6 ? lab->PodV6(i) : lab->PodV4(i); }

  CommandResult Put(int i, const json& policy) {
    return d[i]->Http("PUT", "/v1/policies/pair", policy.dump());
  }

  ::testing::AssertionResult Apply(int i, const json& policy) {
    CommandResult put = Put(i, policy);
    if (Status(put) != 200 && Status(put) != 201) {
      return ::testing::AssertionFailure() << put.out << put.err;
    }
    CommandResult assign = d[i]->Http("PUT", "/v1/assignment", R"({"policy": "pair"})");
    if (Status(assign) != 200) return ::testing::AssertionFailure() << assign.out << assign.err;
    return ::testing::AssertionSuccess();
  }

  json Child(int i) {
    json j = Body(d[i]->Http("GET", "/v1/sas"));
    if (!j.is_object() || !j.contains("ike_sas")) return json();
    json sas = j["ike_sas"];
    if (sas.size() != 1 || sas[0]["child_sas"].size() != 1) return json();
    return sas[0]["child_sas"][0];
  }

  std::string Metrics(int i) {
    return lab
        ->Exec(lab->node(),
               {"curl", "-sS", "--max-time", "10", "http://" + lab->PodV4(i) + ":9090/metrics"})
        .out;
  }

  // The MTU of pod i's TUN (ipsec0); -1 if unreadable.
  int TunMtu(int i) {
    CommandResult r = lab->Exec(lab->pod(i), {"cat", "/sys/class/net/ipsec0/mtu"});
    return r.exit_code == 0 ? std::atoi(r.out.c_str()) : -1;
  }

  std::string Diagnostics() {
    std::string out;
    for (int i = 0; i < 2; ++i) {
      out += "--- pod " + std::to_string(i) + " daemon log\n" + d[i]->Log();
      out += "--- nft\n" + lab->Exec(lab->pod(i), {"nft", "list", "ruleset"}).out;
      out += "--- sas\n" + Body(d[i]->Http("GET", "/v1/sas")).dump() + "\n";
      std::string m = Metrics(i);
      for (size_t pos = 0; (pos = m.find("\nipsec_dataplane_drops", pos)) != std::string::npos;) {
        const size_t end = m.find('\n', pos + 1);
        out += m.substr(pos + 1, end - pos - 1) + "\n";
        pos = end;
      }
    }
    return out;
  }

  std::unique_ptr<Lab> lab;
  std::unique_ptr<Daemon> d[2];
};

class AhPairTest : public ::testing::TestWithParam<Mode> {};

TEST_P(AhPairTest, PingAndTcpThroughAh) {
  const Mode& mode = GetParam();
  AhPair pair;
  std::string error;
  ASSERT_TRUE(pair.Start({}, &error)) << error;
  const int mtu_at_start[2] = {pair.TunMtu(0), pair.TunMtu(1)};
  ASSERT_GT(mtu_at_start[0], 1280);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        pair.Apply(i, PairPolicy(pair.Address(i, mode.ipv6), pair.Address(1 - i, mode.ipv6),
                                 mode.tunnel, kPsk, json::array({mode.bundle ? AhEsp() : Ah()}))));
  }
  TempDir dir;
  // Everything to and from the peer except full-size AH packets (the TCP stream's data: tshark
  // would spend most of the test's time on them). Clear TCP of any size is still captured.
  auto capture = Capture::Start(pair.lab->pod(0), "eth0", dir.path() + "/pod0.pcap", &error,
                                "host " + pair.Address(1, mode.ipv6) +
                                    " and not (greater 1000 and (ip proto 51 or ip6 proto 51))");
  ASSERT_NE(capture, nullptr) << error;
  const std::string peer = pair.Address(1, mode.ipv6);
  const std::string ping_bin = mode.ipv6 ? "-6" : "-4";

  // The first packets wait while IKE negotiates the AH child SA.
  CommandResult first =
      pair.lab->Exec(pair.lab->pod(0), {"ping", ping_bin, "-c", "3", "-i", "0.5", "-W", "5", peer});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err << pair.Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return !pair.Child(0).is_null() && !pair.Child(1).is_null(); }))
      << pair.Diagnostics();
  const json c0 = pair.Child(0);
  EXPECT_EQ(c0["protocol"], mode.bundle ? "ah+esp" : "ah") << c0.dump();
  EXPECT_EQ(c0["mode"], mode.tunnel ? "tunnel" : "transport") << c0.dump();
  CommandResult ping =
      pair.lab->Exec(pair.lab->pod(0), {"ping", ping_bin, "-c", "5", "-i", "0.2", "-W", "2", peer});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << pair.Diagnostics();
  EXPECT_NE(ping.out.find(" 0% packet loss"), std::string::npos) << ping.out;
  // Larger than the TUN's MTU: the pod's kernel fragments it, the data path reassembles it
  // before AH (RFC 4302 §3.3.2: AH goes on before fragmentation), the kernel fragments the
  // outer packet.
  CommandResult big = pair.lab->Exec(
      pair.lab->pod(0),
      {"ping", ping_bin, "-c", "2", "-i", "0.2", "-W", "2", "-M", "dont", "-s", "3000", peer});
  EXPECT_EQ(big.exit_code, 0) << big.out << pair.Diagnostics();
  EXPECT_NE(big.out.find(" 0% packet loss"), std::string::npos) << big.out;

  // A rekey from each side while pings flow every 50 ms: make-before-break (RFC 7296 §2.8)
  // loses none, with a bundle's AH pair replaced along with its ESP pair.
  const char* spi_key = mode.bundle ? "ah_spi_in" : "spi_in";
  const json before0 = pair.Child(0), before1 = pair.Child(1);
  ASSERT_FALSE(before0.is_null() || before1.is_null()) << pair.Diagnostics();
  {
    BackgroundProcess pings({"ip", "netns", "exec", pair.lab->pod(0), "ping", ping_bin, "-c", "40",
                             "-i", "0.05", "-W", "2", peer},
                            dir.path() + "/rekey-ping.log");
    // Rekeys while the pings flow: once some replies came, and each side's once the one
    // before has completed at both ends (a pair still mid-rekey refuses another with 409).
    EXPECT_TRUE(WaitFor([&] {
      return ReadFile(dir.path() + "/rekey-ping.log").find("icmp_seq=5 ") != std::string::npos;
    })) << ReadFile(dir.path() + "/rekey-ping.log");
    json last0 = before0, last1 = before1;
    for (int i = 0; i < 2; ++i) {
      const json& before = i == 0 ? before0 : before1;
      CommandResult r =
          pair.d[i]->Http("POST", "/v1/sas/" + before["id"].get<std::string>() + "/rekey");
      EXPECT_EQ(Status(r), 202) << r.out << r.err;
      EXPECT_TRUE(WaitFor([&] {
        const json now0 = pair.Child(0), now1 = pair.Child(1);
        return !now0.is_null() && !now1.is_null() && now0[spi_key] != last0[spi_key] &&
               now1[spi_key] != last1[spi_key];
      })) << pair.Diagnostics();
      last0 = pair.Child(0);
      last1 = pair.Child(1);
    }
    EXPECT_EQ(pings.WaitExit(std::chrono::seconds(10)), 0)
        << ReadFile(dir.path() + "/rekey-ping.log");
  }
  const std::string rekey_pings = ReadFile(dir.path() + "/rekey-ping.log");
  EXPECT_NE(rekey_pings.find(" 0% packet loss"), std::string::npos)
      << rekey_pings << pair.Diagnostics();
  EXPECT_TRUE(WaitFor([&] {
    const json now0 = pair.Child(0), now1 = pair.Child(1);
    return !now0.is_null() && !now1.is_null() && now0["id"] == before0["id"] &&
           now1["id"] == before1["id"] && now0[spi_key] != before0[spi_key] &&
           now1[spi_key] != before1[spi_key];
  })) << before0.dump()
      << "\n"
      << pair.Child(0).dump() << "\n"
      << pair.Child(1).dump();

  BackgroundProcess server(
      {"ip", "netns", "exec", pair.lab->pod(1), "iperf3", "-s", "-1", "-p", "5201"},
      dir.path() + "/iperf3-server.log");
  ASSERT_TRUE(WaitForTcpListener(pair.lab->pod(1), 5201))
      << ReadFile(dir.path() + "/iperf3-server.log");
  CommandResult iperf =
      pair.lab->Exec(pair.lab->pod(0), {"iperf3", "-c", peer, "-p", "5201", "-t", "1", "-f", "m"},
                     "", std::chrono::seconds(30));
  EXPECT_EQ(iperf.exit_code, 0) << iperf.out << iperf.err << pair.Diagnostics();
  std::printf("[ %s ] iperf3 -c %s -t 1 through %s:\n%s\n", mode.name.c_str(), peer.c_str(),
              mode.bundle ? "AH+ESP" : "AH", iperf.out.c_str());
  ASSERT_TRUE(capture->Stop(&error)) << error;

  // The wire, in one tshark pass: AH with the child SA's SPIs both ways; no echo request or
  // reply and no TCP outside AH (IPv6 neighbour discovery is clear by design); no ESP, or with
  // a bundle ESP inside every AH packet and nowhere else.
  Tshark tshark;
  std::vector<DissectedPacket> packets;
  ASSERT_TRUE(
      tshark.Dissect(capture->path(), "",
                     {"frame.protocols", "ah.spi", "esp.spi", "icmpv6.type", "ip.src", "ipv6.src"},
                     &packets, &error))
      << error;
  size_t ah = 0, clear_echo = 0, clear_tcp = 0, esp = 0, esp_in_ah = 0, out = 0, in = 0;
  size_t spi_out_seen = 0, spi_in_seen = 0, esp_spi_seen = 0;
  const json c = pair.Child(0);
  const std::string ah_spi_out = c[mode.bundle ? "ah_spi_out" : "spi_out"].get<std::string>();
  const std::string ah_spi_in = c[mode.bundle ? "ah_spi_in" : "spi_in"].get<std::string>();
  for (const auto& p : packets) {
    const std::string protocols = p.Get("frame.protocols");
    const bool in_ah = protocols.find(":ah") != std::string::npos;
    const std::string v6type = p.Get("icmpv6.type");
    const bool icmp4 =
        protocols.find(":icmp:") != std::string::npos || protocols.ends_with(":icmp");
    const bool echo = icmp4 || v6type == "128" || v6type == "129";
    ah += in_ah;
    clear_echo += echo && !in_ah;
    clear_tcp += protocols.find(":tcp") != std::string::npos && !in_ah;
    esp += protocols.find(":esp") != std::string::npos;
    esp_in_ah += protocols.find(":ah:esp") != std::string::npos;
    if (!in_ah) continue;
    const std::string source = mode.ipv6 ? p.Get("ipv6.src") : p.Get("ip.src");
    (source == pair.Address(0, mode.ipv6) ? out : in) += 1;
    const std::string spi = p.Get("ah.spi");
    spi_out_seen += spi == "0x" + ah_spi_out;
    spi_in_seen += spi == "0x" + ah_spi_in;
    const std::string esp_spi = p.Get("esp.spi");
    esp_spi_seen += esp_spi == "0x" + c["spi_out"].get<std::string>() ||
                    esp_spi == "0x" + c["spi_in"].get<std::string>();
  }
  EXPECT_GE(ah, 10u) << tshark.Summary(capture->path());
  EXPECT_EQ(clear_echo, 0u) << "echo outside AH:\n" << tshark.Summary(capture->path(), "!ah");
  EXPECT_EQ(clear_tcp, 0u) << "TCP outside AH:\n" << tshark.Summary(capture->path(), "!ah");
  if (mode.bundle) {
    EXPECT_EQ(esp_in_ah, ah) << "AH without ESP inside:\n" << tshark.Summary(capture->path());
    EXPECT_EQ(esp, ah) << "ESP outside AH:\n" << tshark.Summary(capture->path(), "esp && !ah");
    EXPECT_GE(esp_spi_seen, 1u) << c.dump();
  } else {
    EXPECT_EQ(esp, 0u);
  }
  // AH both ways: at least the pings' 8 echoes each way (small: all captured), and the child
  // SA in place at the end carried some of it (an earlier child SA may have carried the rest:
  // a collision of both sides' acquires leaves one).
  EXPECT_GE(out, 8u) << c.dump();
  EXPECT_GE(in, 8u) << c.dump();
  EXPECT_GE(spi_out_seen, 1u) << c.dump();
  EXPECT_GE(spi_in_seen, 1u) << c.dump();

  // Counters on both sides, per rule and peer (monotonic: an SA's own counters cover only the
  // pair in place at the end, which a collision of acquires may have made late), and nothing
  // dropped for integrity or malformed AH.
  auto counter = [&](int pod, const char* name, const char* direction) -> double {
    const std::string series = std::string(name) + "{direction=\"" + direction + "\",peer=\"" +
                               pair.Address(1 - pod, mode.ipv6) + "\",rule=\"pods\"} ";
    const std::string m = pair.Metrics(pod);
    const size_t at = m.find(series);
    if (at == std::string::npos) return -1;
    return std::strtod(m.c_str() + at + series.size(), nullptr);
  };
  EXPECT_GT(counter(0, "ipsec_child_sa_packets_total", "outbound"), 8) << pair.Metrics(0);
  EXPECT_GT(counter(0, "ipsec_child_sa_packets_total", "inbound"), 8) << pair.Metrics(0);
  EXPECT_TRUE(WaitFor([&] { return counter(1, "ipsec_child_sa_bytes_total", "inbound") > 1e6; }))
      << pair.Metrics(1);
  for (int i = 0; i < 2; ++i) {
    const std::string m = pair.Metrics(i);
    EXPECT_NE(m.find("ipsec_dataplane_drops_total{reason=\"integrity\"} 0\n"), std::string::npos)
        << m;
    EXPECT_NE(m.find("ipsec_dataplane_drops_total{reason=\"malformed\"} 0\n"), std::string::npos)
        << m;
    EXPECT_NE(m.find("ipsec_dataplane_drops_total{reason=\"bundle_mismatch\"} 0\n"),
              std::string::npos)
        << m;
  }

  // The TUN's MTU on both sides: a bundle lowers it, to leave room for AH's header on top of
  // ESP's worst case (LeaveRoomForBundles); AH alone does not change it. Deleting the child SA,
  // the last bundle, brings it back to what it was at start.
  for (int i = 0; i < 2; ++i) {
    if (mode.bundle) {
      EXPECT_LT(pair.TunMtu(i), mtu_at_start[i]) << "pod " << i;
    } else {
      EXPECT_EQ(pair.TunMtu(i), mtu_at_start[i]) << "pod " << i;
    }
  }
  const json child = pair.Child(0);
  ASSERT_FALSE(child.is_null()) << pair.Diagnostics();
  EXPECT_EQ(Status(pair.d[0]->Http("DELETE", "/v1/sas/" + child["id"].get<std::string>())), 204);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(WaitFor([&] { return pair.TunMtu(i) == mtu_at_start[i]; }))
        << "pod " << i << ": TUN MTU " << pair.TunMtu(i) << ", at start " << mtu_at_start[i] << "\n"
        << pair.Diagnostics();
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, AhPairTest,
                         ::testing::Values(Mode{"tunnel", true, false},
                                           Mode{"transport", false, false},
                                           Mode{"transport_v6", false, true},
                                           Mode{"tunnel_v6", true, true},
                                           Mode{"bundle_tunnel", true, false, true},
                                           Mode{"bundle_transport", false, false, true},
                                           Mode{"bundle_transport_v6", false, true, true},
                                           Mode{"bundle_tunnel_v6", true, true, true}),
                         [](const auto& info) { return info.param.name; });

// Across a NAT (here: forced UDP encapsulation) a policy offering AH+ESP, then AH, then ESP
// gets ESP: neither initiator offers nor responder chooses anything with AH (RFC 3715 §2.1),
// and ping works.
TEST(AhPairPolicyTest, AhEspAndAhNotChosenAcrossANat) {
  AhPair pair;
  std::string error;
  ASSERT_TRUE(pair.Start({"--force-udp-encapsulation"}, &error)) << error;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pair.Apply(i, PairPolicy(pair.lab->PodV4(i), pair.lab->PodV4(1 - i), true, kPsk,
                                         json::array({AhEsp(), Ah(), EspGcm128()}))));
  }
  CommandResult ping = pair.lab->Exec(
      pair.lab->pod(0), {"ping", "-c", "3", "-i", "0.5", "-W", "5", pair.lab->PodV4(1)});
  ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err << pair.Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return !pair.Child(0).is_null(); })) << pair.Diagnostics();
  const json c = pair.Child(0);
  EXPECT_EQ(c["protocol"], "esp") << c.dump();
  EXPECT_EQ(c["udp_encapsulation"], true) << c.dump();
}

}  // namespace
}  // namespace ipsec::testing
