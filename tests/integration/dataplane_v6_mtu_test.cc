// IPv6 through the userspace ESP data path, and the path MTU (issue 4): two daemons in two lab
// pods (fd99:1::2, fd99:2::2) with a policy requiring security between their IPv6 addresses,
// tunnel and transport mode, IPv6 inside and outside. Pod B's link (its eth0 and the node's
// veth to it) has MTU 1360, pod A's 1500: A's ESP toward B is too big for the node's second
// link, so A's kernel learns the path MTU from the node's ICMP about our ESP, and the data
// path (mtu_guard.h) answers inner packets that no longer fit with ICMPv6 "packet too big"
// (IPv4: "fragmentation needed", the tunnel4 case) written to the TUN.
// Checked: ping6 through ESP (the first packets wait for the negotiation); 4 MB TCP both ways
// (iperf3 -n 4M: no stall while PMTUD runs through us); ping -M do with a size over the path
// gets "packet too big" / "frag needed" with the largest inner size that fits, and the route
// cache shows it; the too_big drop counter; the capture on A's eth0 shows ESP and no ping or
// TCP in clear. ESP in UDP (RFC 3948, --force-udp-encapsulation) across the same 1360 link,
// IPv6 (tunnel, transport) and IPv4: the node's ICMP about our ESP in UDP must reach the route
// our marked ESP sockets use (the NAT-T SO_REUSEPORT group all carries the bypass mark,
// udp_transport.h), and ESP packets over the path MTU that must still go (IPv6 inner packets up
// to 1280 octets, IPv4 without DF) go unsegmented so the kernel fragments them (esp_io.cc
// Flush): no drops{reason="send_error"} on either side, and a 1280-octet IPv6 ping passes.
// Needs root, iproute2, nftables, curl, tcpdump, tshark, iperf3, ping.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/integration_util.h"
#include "tests/integration/pair_policy.h"
#include "tests/support/lab.h"
#include "tests/support/tshark.h"

namespace ipsec::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char kPsk[] = "dataplane-v6-mtu-psk-51c0ae93";
constexpr int kSmallLinkMtu = 1360;  // pod B's link

struct Mode {
  std::string name;
  bool tunnel = true;
  bool v6 = true;
  // The largest inner packet that fits 1360 after ESP (AES-GCM-16: ESP header 8, IV 8, ICV 16,
  // padding to 4 with the 2-octet trailer): outer IPv6 40 -> 1286 (tunnel), + the inner header
  // 40 in transport mode -> 1326; outer IPv4 20 -> 1306. ESP in UDP (8 more): over IPv6 it
  // leaves 1278 in tunnel mode, under IPv6's 1280: the error says 1280 and packets up to 1280
  // are sent with the outer ESP fragmented (RFC 8200 §5); 1318 in transport mode; over IPv4
  // 1298.
  int max_inner = 1286;
  bool udp = false;  // --force-udp-encapsulation (ESP in UDP 4500, RFC 3948)
};

class DataplaneV6MtuTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    const std::string missing = MissingTool({"tcpdump", "tshark", "iperf3", "nft", "ping"});
    ASSERT_TRUE(missing.empty()) << missing;
    std::string error;
    lab_ = Lab::Create(2, &error);
    ASSERT_NE(lab_, nullptr) << error;
    // Pod B's link, both ends: its eth0 and the node's veth toward it ("vn2<suffix>").
    CommandResult links = lab_->Exec(lab_->node(), {"ip", "-o", "link", "show"});
    std::string node_if;
    std::istringstream lines(links.out);
    for (std::string line; std::getline(lines, line);) {
      const size_t at = line.find(": vn2");
      if (at == std::string::npos) continue;
      node_if = line.substr(at + 2, line.find_first_of("@:", at + 2) - at - 2);
    }
    ASSERT_FALSE(node_if.empty()) << links.out;
    const std::string mtu = std::to_string(kSmallLinkMtu);
    ASSERT_EQ(lab_->Exec(lab_->node(), {"ip", "link", "set", node_if, "mtu", mtu}).exit_code, 0);
    ASSERT_EQ(lab_->Exec(lab_->pod(1), {"ip", "link", "set", "eth0", "mtu", mtu}).exit_code, 0);
    for (int i = 0; i < 2; ++i) {
      std::vector<std::string> args = {"--dataplane=userspace"};
      if (GetParam().udp) args.push_back("--force-udp-encapsulation");
      d_[i] = std::make_unique<Daemon>(*lab_, i, Daemon::Options{.extra_args = args});
      ASSERT_TRUE(d_[i]->Start()) << "daemon " << i << " did not turn ready:\n" << d_[i]->Log();
    }
  }

  std::string Addr(int i) const { return GetParam().v6 ? lab_->PodV6(i) : lab_->PodV4(i); }

  void Apply(int i) {
    const json policy = PairPolicy(Addr(i), Addr(1 - i), GetParam().tunnel, kPsk);
    CommandResult put = d_[i]->Http("PUT", "/v1/policies/pair", policy.dump());
    ASSERT_TRUE(Status(put) == 200 || Status(put) == 201) << put.out << put.err;
    CommandResult assign = d_[i]->Http("PUT", "/v1/assignment", R"({"policy": "pair"})");
    ASSERT_EQ(Status(assign), 200) << assign.out << assign.err;
  }

  json Child(int i) {
    json j = Body(d_[i]->Http("GET", "/v1/sas"));
    if (!j.is_object() || !j.contains("ike_sas")) return json();
    json sas = j["ike_sas"];
    if (sas.size() != 1 || sas[0]["child_sas"].size() != 1) return json();
    return sas[0]["child_sas"][0];
  }

  std::string Metrics(int i) {
    return lab_
        ->Exec(lab_->node(),
               {"curl", "-sS", "--max-time", "10", "http://" + lab_->PodV4(i) + ":9090/metrics"})
        .out;
  }

  // The data path's non-zero counters, for failure messages.
  std::string Counters(int i) {
    std::string m = Metrics(i), out = "--- pod " + std::to_string(i) + " data path counters\n";
    for (size_t pos = 0; (pos = m.find("\nipsec_dataplane_", pos)) != std::string::npos;) {
      const size_t end = m.find('\n', pos + 1);
      const std::string line = m.substr(pos + 1, end - pos - 1);
      if (line.find("} 0") == std::string::npos) out += line + "\n";
      pos = end;
    }
    return out;
  }

  // A counter of the daemon's /metrics (0 when absent), e.g.
  // `ipsec_dataplane_drops_total{reason="send_error"}`.
  long long Counter(int i, const std::string& series) {
    const std::string m = Metrics(i);
    const size_t at = m.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::atoll(m.c_str() + at + series.size() + 2);
  }

  std::vector<std::string> Ping(int count) const {
    std::vector<std::string> argv = {"ping"};
    if (GetParam().v6) argv.push_back("-6");
    argv.insert(argv.end(), {"-c", std::to_string(count), "-i", "0.3", "-W", "3"});
    return argv;
  }

  std::string Diagnostics() {
    std::string out;
    for (int i = 0; i < 2; ++i) {
      out += "--- pod " + std::to_string(i) + " daemon log\n" + d_[i]->Log();
      out += "--- ip -6 rule\n" + lab_->Exec(lab_->pod(i), {"ip", "-6", "rule"}).out;
      out += "--- routes table 9700\n" +
             lab_->Exec(lab_->pod(i), {"ip", "-6", "route", "show", "table", "9700"}).out +
             lab_->Exec(lab_->pod(i), {"ip", "route", "show", "table", "9700"}).out;
      out += "--- links\n" + lab_->Exec(lab_->pod(i), {"ip", "-o", "link"}).out;
      out += "--- nft\n" + lab_->Exec(lab_->pod(i), {"nft", "list", "ruleset"}).out;
      out += "--- child\n" + Child(i).dump() + "\n";
    }
    return out;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> d_[2];
};

TEST_P(DataplaneV6MtuTest, PingTcpAndPathMtuThroughEsp) {
  const Mode& mode = GetParam();
  const std::string peer = Addr(1);
  // The TUN leaves room for ESP's worst case on each pod's link (link_mtu.h): 1500 - 121 on A;
  // B's 1360 - 121 would be under IPv6's 1280, so 1280.
  EXPECT_NE(lab_->Exec(lab_->pod(0), {"ip", "link", "show", "ipsec0"}).out.find("mtu 1379 "),
            std::string::npos);
  EXPECT_NE(lab_->Exec(lab_->pod(1), {"ip", "link", "show", "ipsec0"}).out.find("mtu 1280 "),
            std::string::npos);
  // Every member of the NAT-T port's SO_REUSEPORT groups (IKE's sockets and the data path's, per
  // family) carries the bypass mark: an ICMP error about our ESP in UDP is matched to one of them
  // by hash, and the kernel records the path MTU on the route looked up with its mark
  // (udp_transport.h). Without it, whether the data path learns the path MTU depends on the
  // hash (per boot); the ping -M do checks below then fail for one family or the other.
  const std::string nat_t = lab_->Exec(lab_->pod(0), {"ss", "-uanHe", "sport = :4500"}).out;
  std::istringstream nat_t_lines(nat_t);
  int nat_t_sockets = 0;
  for (std::string line; std::getline(nat_t_lines, line);) {
    if (line.empty()) continue;
    ++nat_t_sockets;
    EXPECT_NE(line.find("fwmark:0x1e5ec"), std::string::npos) << "unmarked NAT-T socket: " << line;
  }
  EXPECT_GE(nat_t_sockets, 4) << nat_t;  // IKE's and ours, IPv4 and IPv6
  for (int i = 0; i < 2; ++i) Apply(i);
  TempDir dir;
  std::string error;
  auto capture =
      Capture::Start(lab_->pod(0), "eth0", dir.path() + "/pod0.pcap", &error, "host " + peer);
  ASSERT_NE(capture, nullptr) << error;

  // The first packets wait for the negotiation (acquire), then go through ESP.
  std::vector<std::string> ping = Ping(3);
  ping.push_back(peer);
  CommandResult first = lab_->Exec(lab_->pod(0), ping);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err << Diagnostics();
  ASSERT_TRUE(WaitFor([&] { return !Child(0).is_null() && !Child(1).is_null(); })) << Diagnostics();
  EXPECT_EQ(Child(0)["mode"], mode.tunnel ? "tunnel" : "transport");

  // 4 MB of TCP each way. A -> B runs into the 1360 link: the node's ICMP about our ESP teaches
  // A's kernel the path MTU, the data path then answers TCP's too-big segments with ICMP, and
  // TCP sends smaller ones. No stall: it completes well within the timeout.
  for (const bool reverse : {false, true}) {
    BackgroundProcess server(
        {"ip", "netns", "exec", lab_->pod(1), "iperf3", "-s", "-1", "-p", "5201"},
        dir.path() + "/iperf3-server.log");
    ASSERT_TRUE(WaitForTcpListener(lab_->pod(1), 5201))
        << ReadFile(dir.path() + "/iperf3-server.log");
    std::vector<std::string> argv = {"timeout", "15", "iperf3", "-c", peer, "-p",
                                     "5201",    "-n", "4M",     "-f", "m"};
    if (reverse) argv.push_back("-R");
    const auto start = std::chrono::steady_clock::now();
    CommandResult iperf = lab_->Exec(lab_->pod(0), argv, "", std::chrono::seconds(30));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(iperf.exit_code, 0) << iperf.out << iperf.err << Counters(0) << Counters(1)
                                  << Diagnostics();
    std::printf("[ %s ] 4 MB TCP %s in %.2f s:\n%s\n", mode.name.c_str(),
                reverse ? "B -> A" : "A -> B", seconds, iperf.out.c_str());
  }

  {
    // A ping with DF over the path: the answer is the ICMP error the data path wrote to the TUN,
    // with the largest inner size that fits; the kernel caches that MTU for the peer.
    const int size = mode.v6 ? 1300 : 1320;  // 1348 octets with the header: > max_inner, < 1379
    // TCP stayed under B's TUN MTU (its MSS clamp), so nothing has crossed the 1360 link at this
    // size yet (ESP in UDP over IPv6: B's 1280-octet segments did, B -> A, fragmented by B's
    // kernel for its own link): the first such ESP packet is dropped by the node, whose ICMP
    // teaches A's kernel the path MTU; the data path reads it within a second
    // (MtuGuard::Options::refresh). IPv4 primes without DF: such packets are never dropped for
    // size; once A's kernel knows the path MTU it fragments the outer ESP packet (RFC 4301 §7), and
    // the echoes come back.
    std::vector<std::string> prime = Ping(mode.v6 ? 1 : 3);
    if (!mode.v6) prime.insert(prime.end(), {"-M", "dont"});
    prime.insert(prime.end(), {"-s", std::to_string(size), peer});
    CommandResult primed = lab_->Exec(lab_->pod(0), prime);
    if (!mode.v6) {
      EXPECT_EQ(primed.exit_code, 0) << primed.out << primed.err;
    }
    std::this_thread::sleep_for(1500ms);
    std::vector<std::string> big = Ping(3);
    big.insert(big.end(), {"-M", "do", "-s", std::to_string(size), peer});
    CommandResult too_big = lab_->Exec(lab_->pod(0), big);
    std::vector<std::string> get = {"ip"};
    if (mode.v6) get.push_back("-6");
    get.insert(get.end(), {"route", "get", peer});
    const std::string want = std::to_string(mode.max_inner);
    std::vector<std::string> marked = get;
    marked.insert(marked.end(), {"mark", "0x1e5ec"});
    const std::string pmtu_info =
        "--- ESP's route (bypass mark): " + lab_->Exec(lab_->pod(0), marked).out +
        "--- pod A ICMP counters: " +
        lab_->Exec(lab_->pod(0),
                   {"sh", "-c", "nstat -az | grep -i -E 'toobig|fragfail|Icmp6In|DestUnreach'"})
            .out +
        "--- node ICMP counters: " +
        lab_->Exec(lab_->node(),
                   {"sh", "-c", "nstat -az | grep -i -E 'toobig|fragfail|OutDestUnreach'"})
            .out;
    EXPECT_NE((too_big.out + too_big.err).find(want), std::string::npos)
        << too_big.out << too_big.err << pmtu_info << Diagnostics();
    CommandResult route = lab_->Exec(lab_->pod(0), get);
    EXPECT_NE(route.out.find("mtu " + want), std::string::npos) << route.out << too_big.out;
    std::printf("[ %s ] ping -M do -s %d:\n%s%s\nroute: %s\n", mode.name.c_str(), size,
                too_big.out.c_str(), too_big.err.c_str(), route.out.c_str());
    // Pings that fit still go (ESP in UDP over IPv6: 1280 octets, whose outer packet A's kernel
    // fragments). In transport mode B's echo reply of one over 1280 is fragmented by B's kernel
    // (B's TUN MTU is 1280): B's data path reassembles it and protects it whole (RFC 4303
    // §3.1.1), and B's kernel fragments the outer packet (reassembly.h).
    const int fit = mode.max_inner;
    std::vector<std::string> fits = Ping(3);
    fits.insert(fits.end(), {"-M", "do", "-s", std::to_string(fit - (mode.v6 ? 48 : 28)), peer});
    CommandResult ok = lab_->Exec(lab_->pod(0), fits);
    EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;

    const std::string m = Metrics(0);
    const size_t at = m.find("ipsec_dataplane_drops_total{reason=\"too_big\"} ");
    ASSERT_NE(at, std::string::npos) << m;
    EXPECT_GE(std::atoll(m.c_str() + at + 46), 1) << m.substr(at, 60);
  }
  // ESP packets over the path MTU were sent (fragmented), never refused: no send errors. (Before
  // the fix, UDP GSO messages with segments over the path MTU failed with EMSGSIZE: hundreds.)
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Counter(i, "ipsec_dataplane_drops_total{reason=\"send_error\"}"), 0)
        << "pod " << i << "\n"
        << Counters(i);
  }

  // On the wire: ESP only; no echo or iperf3 TCP in clear.
  ASSERT_TRUE(capture->Stop(&error)) << error;
  Tshark tshark;
  std::vector<DissectedPacket> esp, echo, tcp;
  ASSERT_TRUE(tshark.Dissect(capture->path(), "esp", {"esp.spi"}, &esp, &error)) << error;
  ASSERT_TRUE(tshark.Dissect(capture->path(),
                             mode.v6 ? "!esp && (icmpv6.type == 128 || icmpv6.type == 129)"
                                     : "!esp && (icmp.type == 8 || icmp.type == 0)",
                             {"frame.number"}, &echo, &error))
      << error;
  ASSERT_TRUE(
      tshark.Dissect(capture->path(), "!esp && tcp.port == 5201", {"frame.number"}, &tcp, &error))
      << error;
  // (ESP in UDP: the capture sees UDP GSO super-packets, fewer frames.)
  EXPECT_GT(esp.size(), mode.udp ? 100u : 1000u);
  const std::string outer_protocol = mode.udp ? "17" : "50";
  if (!mode.v6) {
    // The outer ESP fragmented after IPsec (the DF-less pings above).
    std::vector<DissectedPacket> fragments;
    ASSERT_TRUE(tshark.Dissect(capture->path(), "ip.flags.mf == 1 && ip.src == " + Addr(0),
                               {"ip.proto"}, &fragments, &error))
        << error;
    EXPECT_GT(fragments.size(), 0u) << "no outer ESP fragment from A";
    if (!fragments.empty()) {
      EXPECT_EQ(fragments[0].Get("ip.proto"), outer_protocol);
    }
  } else if (mode.udp && mode.tunnel) {
    // The 1280-octet pings: A's kernel fragmented their outer ESP-in-UDP packets (RFC 8200 §5).
    std::vector<DissectedPacket> fragments;
    ASSERT_TRUE(tshark.Dissect(capture->path(), "ipv6.fraghdr.more == 1 && ipv6.src == " + Addr(0),
                               {"ipv6.fraghdr.nxt"}, &fragments, &error))
        << error;
    EXPECT_GT(fragments.size(), 0u) << "no outer ESP-in-UDP fragment from A";
    if (!fragments.empty()) {
      EXPECT_EQ(fragments[0].Get("ipv6.fraghdr.nxt"), outer_protocol);
    }
  }
  EXPECT_EQ(echo.size(), 0u) << "echo in clear on the wire";
  EXPECT_EQ(tcp.size(), 0u) << "TCP in clear on the wire";
}

INSTANTIATE_TEST_SUITE_P(Modes, DataplaneV6MtuTest,
                         ::testing::Values(Mode{"tunnel6", true, true, 1286},
                                           Mode{"transport6", false, true, 1326},
                                           Mode{"tunnel4", true, false, 1306},
                                           Mode{"tunnel6_udp", true, true, 1280, true},
                                           Mode{"transport6_udp", false, true, 1318, true},
                                           Mode{"tunnel4_udp", true, false, 1298, true}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace ipsec::testing
