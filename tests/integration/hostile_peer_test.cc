// Hostile peers on the pod network (issue 13, docs/security.md): two daemons in pods 0 and 1
// with an established IKE SA and child SA, and an attacker in pod 2 on the same node. The
// attacker knows the SPIs (they travel in clear; here it reads them from the API) and forges
// datagrams with spoofed sources (tests/support/udp_forge.cc; the node does no reverse-path
// filtering, as a flat pod network often does not):
//  - unprotected INFORMATIONALs (N(AUTHENTICATION_FAILED), N(INVALID_SPI), with and without a
//    Delete of the IKE SA; requests and responses; small and large message IDs) to UDP 500 and
//    4500 (with the RFC 3948 non-ESP marker), as if from the peer and from elsewhere;
//  - short protected-looking datagrams with the responder's last answered message ID, from the
//    attacker's own address (a reflection: a cached response resent to the forger).
// Nothing may change: the same SAs, SPIs, endpoints; pings still pass; rekeys by each side
// still pass (message IDs in step); nothing reaches the attacker; the drops are counted
// (ipsec_ike_datagrams_dropped_total{reason}).
// Needs root, iproute2, nftables, curl, tcpdump, tshark, ping; fails naming what is missing.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/common/byte_io.h"
#include "engine/ike/codec/header.h"
#include "engine/ike/codec/message.h"
#include "tests/integration/integration_util.h"
#include "tests/integration/pair_policy.h"
#include "tests/sidecar/metrics/metrics_test_util.h"
#include "tests/support/lab.h"
#include "tests/support/tshark.h"

namespace ipsec::testing {
namespace {

using engine::ike::codec::ExchangeType;
using engine::ike::codec::PayloadType;
using nlohmann::json;
using namespace std::chrono_literals;
namespace codec = engine::ike::codec;

constexpr const char kPsk[] = "hostile-peer-psk-4c1d9a7e";

// HDR, N(type) [, D(IKE)] without SK.
Bytes Unprotected(const codec::Header& h, codec::NotifyType type, bool with_delete) {
  codec::Message m;
  m.header = h;
  m.payloads.push_back({PayloadType::kNotify, false, codec::Payload(codec::MakeNotify(type))});
  if (with_delete) {
    codec::DeletePayload d;
    d.protocol = codec::ProtocolId::kIke;
    m.payloads.push_back({PayloadType::kDelete, false, codec::Payload(d)});
  }
  return codec::EncodeMessage(m);
}

// HDR, SK{36 octets of garbage}: 68 octets, no key behind its ICV.
Bytes ForgedSk(const codec::Header& h) {
  Bytes out;
  ByteWriter w(out);
  codec::EncodeHeader(h, PayloadType::kSk, codec::kHeaderSize + 40, w);
  w.WriteUint8(static_cast<uint8_t>(PayloadType::kNotify));
  w.WriteUint8(0);
  w.WriteUint16(40);
  for (int i = 0; i < 36; ++i) w.WriteUint8(static_cast<uint8_t>(0x5a ^ i));
  return out;
}

// RFC 3948 §2.2: IKE on UDP 4500 starts with four zero octets.
Bytes WithNonEspMarker(Bytes ike) {
  ike.insert(ike.begin(), 4, 0);
  return ike;
}

class HostilePeerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = MissingTool({"tcpdump", "tshark", "nft", "ping", "curl"});
    ASSERT_TRUE(missing.empty()) << missing;
    std::string error;
    lab_ = Lab::Create(3, &error);  // pod 2: the attacker, no daemon
    ASSERT_NE(lab_, nullptr) << error;
    // A flat pod network: the node forwards whatever source a pod writes.
    CommandResult rp = lab_->Exec(
        lab_->node(),
        {"sh", "-c", "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done"});
    ASSERT_EQ(rp.exit_code, 0) << rp.err;
    for (int i = 0; i < 2; ++i) {
      d_[i] = std::make_unique<Daemon>(
          *lab_, i, Daemon::Options{.extra_args = {"--dataplane=userspace"}});
      ASSERT_TRUE(d_[i]->Start()) << "daemon " << i << " did not turn ready:\n" << d_[i]->Log();
      const json policy = PairPolicy(lab_->PodV4(i), lab_->PodV4(1 - i), true, kPsk);
      ASSERT_TRUE(Status(d_[i]->Http("PUT", "/v1/policies/pair", policy.dump())) / 100 == 2);
      ASSERT_EQ(Status(d_[i]->Http("PUT", "/v1/assignment", R"({"policy": "pair"})")), 200);
    }
    CommandResult first =
        lab_->Exec(lab_->pod(0), {"ping", "-c", "3", "-i", "0.5", "-W", "5", lab_->PodV4(1)});
    ASSERT_EQ(first.exit_code, 0) << first.out << Diagnostics();
    ASSERT_TRUE(WaitFor([&] { return Installed(0) && Installed(1); })) << Diagnostics();
  }

  json IkeSa(int i) {
    json j = Body(d_[i]->Http("GET", "/v1/sas"));
    return j.is_object() && j.contains("ike_sas") && j["ike_sas"].size() == 1 ? j["ike_sas"][0]
                                                                              : json();
  }
  bool Installed(int i) {
    json sa = IkeSa(i);
    return sa.is_object() && sa["state"] == "established" && sa["child_sas"].size() == 1;
  }
  // What must not change: the IKE SA's id, SPIs, endpoints and float, its message IDs, the
  // child SA's id and SPI.
  json Identity(int i) {
    json sa = IkeSa(i);
    if (!sa.is_object()) return json();
    return {sa["id"],
            sa["spi_i"],
            sa["spi_r"],
            sa["local"],
            sa["remote"],
            sa["udp_4500"],
            sa["message_id_out"],
            sa["message_id_in"],
            sa["child_sas"][0]["id"],
            sa["child_sas"][0]["spi_in"]};
  }

  double Dropped(int i, const std::string& reason) {
    const std::string m =
        lab_->Exec(lab_->node(), {"curl", "-sS", "--max-time", "10",
                                  "http://" + lab_->PodV4(i) + ":9090/metrics"})
            .out;
    return sidecar::metrics::testing::SampleValue(m, "ipsec_ike_datagrams_dropped_total{reason=\"" + reason + "\"}")
        .value_or(-1);
  }

  // Sends datagrams from pod 2 with any source.
  void Forge(const std::string& from, uint16_t sport, int to_pod, uint16_t dport,
             const std::vector<Bytes>& datagrams) {
    std::vector<std::string> argv = {IPSEC_UDP_FORGE_BIN, from, std::to_string(sport),
                                     lab_->PodV4(to_pod), std::to_string(dport)};
    for (const Bytes& d : datagrams) argv.push_back(ToHex(d));
    CommandResult r = lab_->Exec(lab_->pod(2), argv);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  std::string Diagnostics() {
    std::string out;
    for (int i = 0; i < 2; ++i) {
      if (!d_[i]) continue;
      out += "--- pod " + std::to_string(i) + " daemon log\n" + d_[i]->Log();
      out += "--- sas\n" + d_[i]->Http("GET", "/v1/sas").out + "\n";
    }
    return out;
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<Daemon> d_[2];
};

TEST_F(HostilePeerIntegrationTest, ForgedDatagramsChangeNothingAndAreCounted) {
  const json sa0 = IkeSa(0);
  ASSERT_EQ(sa0["role"], "initiator") << sa0.dump();  // pod 0 pinged first
  const uint64_t spi_i = std::stoull(sa0["spi_i"].get<std::string>(), nullptr, 16);
  const uint64_t spi_r = std::stoull(sa0["spi_r"].get<std::string>(), nullptr, 16);
  const json before[2] = {Identity(0), Identity(1)};

  TempDir dir;
  std::string error;
  auto capture = Capture::Start(lab_->pod(2), "eth0", dir.path() + "/attacker.pcap", &error,
                                "udp and dst host " + lab_->PodV4(2));
  ASSERT_NE(capture, nullptr) << error;

  // 1. Unprotected INFORMATIONALs, as each peer would send them (pod 0 is the original
  // initiator: its messages carry the I flag), to 500 and 4500, from the peer's address and
  // (to 4500: a "moved" peer) from the attacker's own.
  int per_target = 0;
  auto informationals = [&](bool from_initiator, bool marker) {
    std::vector<Bytes> out;
    for (uint32_t id : {0u, 1u, 2u, 3u, 1000u, 0xffffffffu}) {
      for (bool response : {false, true}) {
        for (bool with_delete : {false, true}) {
          for (auto type :
               {codec::NotifyType::kAuthenticationFailed, codec::NotifyType::kInvalidSpi}) {
            codec::Header h;
            h.initiator_spi = spi_i;
            h.responder_spi = spi_r;
            h.exchange_type = ExchangeType::kInformational;
            h.flags = static_cast<uint8_t>((from_initiator ? codec::kFlagInitiator : 0) |
                                           (response ? codec::kFlagResponse : 0));
            h.message_id = id;
            Bytes d = Unprotected(h, type, with_delete);
            out.push_back(marker ? WithNonEspMarker(std::move(d)) : std::move(d));
          }
        }
      }
    }
    per_target = static_cast<int>(out.size());
    return out;
  };
  for (int to : {0, 1}) {
    const std::string peer = lab_->PodV4(1 - to);
    const bool from_initiator = to == 1;
    Forge(peer, 500, to, 500, informationals(from_initiator, false));
    Forge(peer, 4500, to, 4500, informationals(from_initiator, true));
    Forge(lab_->PodV4(2), 4500, to, 4500, informationals(from_initiator, true));
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(WaitFor([&] { return Dropped(i, "unprotected") >= 3 * per_target; }))
        << "pod " << i << ": " << Dropped(i, "unprotected") << " of " << 3 * per_target
        << " counted as unprotected\n"
        << Diagnostics();
  }

  // 2. Reflection: datagrams shaped like the initiator's requests with the message IDs around
  // the last one the responder (pod 1) answered, from the attacker's own address, to 500 and
  // 4500. None may be answered.
  std::vector<Bytes> short_500, short_4500;
  for (uint32_t id = 0; id < 6; ++id) {
    for (auto exchange : {ExchangeType::kIkeAuth, ExchangeType::kInformational,
                          ExchangeType::kCreateChildSa}) {
      codec::Header h;
      h.initiator_spi = spi_i;
      h.responder_spi = spi_r;
      h.exchange_type = exchange;
      h.flags = codec::kFlagInitiator;
      h.message_id = id;
      short_500.push_back(ForgedSk(h));
      short_4500.push_back(WithNonEspMarker(ForgedSk(h)));
    }
  }
  Forge(lab_->PodV4(2), 500, 1, 500, short_500);
  Forge(lab_->PodV4(2), 4500, 1, 4500, short_4500);
  EXPECT_TRUE(WaitFor([&] { return Dropped(1, "retransmit_mismatch") >= 2; }))
      << Dropped(1, "retransmit_mismatch") << "\n"
      << Diagnostics();

  // Nothing changed, nothing reached the attacker.
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Identity(i), before[i]) << Diagnostics();
  CommandResult ping =
      lab_->Exec(lab_->pod(0), {"ping", "-c", "10", "-i", "0.1", "-W", "2", lab_->PodV4(1)});
  EXPECT_NE(ping.out.find(" 0% packet loss"), std::string::npos) << ping.out << Diagnostics();
  ASSERT_TRUE(capture->Stop(&error)) << error;
  Tshark tshark;
  std::vector<DissectedPacket> reached;
  ASSERT_TRUE(tshark.Dissect(capture->path(), "udp", {"ip.src", "udp.srcport"}, &reached, &error))
      << error;
  EXPECT_TRUE(reached.empty()) << reached.size() << " datagrams reached the attacker:\n"
                               << tshark.Summary(capture->path());

  // Message IDs still in step: each side rekeys the child SA (its next request), then pings.
  for (int i : {1, 0}) {
    const std::string child = IkeSa(i)["child_sas"][0]["id"];
    const std::string spi_in = IkeSa(i)["child_sas"][0]["spi_in"];
    CommandResult r = d_[i]->Http("POST", "/v1/sas/" + child + "/rekey");
    ASSERT_EQ(Status(r), 202) << r.out;
    EXPECT_TRUE(WaitFor([&] {
      json sa = IkeSa(i);
      return sa.is_object() && sa["child_sas"].size() == 1 && sa["child_sas"][0]["id"] == child &&
             sa["child_sas"][0]["spi_in"] != spi_in;
    })) << "the rekey by pod " << i << " did not complete\n"
        << Diagnostics();
  }
  ping = lab_->Exec(lab_->pod(1), {"ping", "-c", "5", "-i", "0.1", "-W", "2", lab_->PodV4(0)});
  EXPECT_NE(ping.out.find(" 0% packet loss"), std::string::npos) << ping.out << Diagnostics();
  for (int i = 0; i < 2; ++i) EXPECT_EQ(IkeSa(i)["id"], before[i][0]) << Diagnostics();
  std::printf("[ hostile peer ] %d forged datagrams per target; drops: pod0 unprotected %.0f, "
              "pod1 unprotected %.0f, retransmit_mismatch %.0f, out_of_window %.0f, "
              "integrity %.0f, unexpected_exchange %.0f\n",
              per_target, Dropped(0, "unprotected"), Dropped(1, "unprotected"),
              Dropped(1, "retransmit_mismatch"), Dropped(1, "out_of_window"),
              Dropped(1, "integrity"), Dropped(1, "unexpected_exchange"));
}

}  // namespace
}  // namespace ipsec::testing
