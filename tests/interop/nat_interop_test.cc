// The NAT topology and loss helpers: charon behind a masquerading NAT router negotiates with
// charon on the other side (NAT-T: IKE floats to UDP 4500, ESP in UDP, RFC 3948), and random
// drop rules drop and go away. Needs root, strongSwan, nftables, tshark; fails without.

#include <gtest/gtest.h>

#include "tests/interop/lab_configs.h"
#include "tests/support/lab.h"
#include "tests/support/lab_nat.h"
#include "tests/support/strongswan.h"
#include "tests/support/tshark.h"

namespace ipsec::testing {
namespace {

using std::chrono::milliseconds;

class NatInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = MissingStrongswanPrerequisites();
    ASSERT_TRUE(missing.empty()) << missing;
    lab_ = Lab::Create(2, &error_);
    ASSERT_TRUE(lab_) << error_;
    nat_ = NatPod::Create(*lab_, 0, &error_);  // lab pod 0 is the NAT router
    ASSERT_TRUE(nat_) << error_;
  }

  std::string error_;
  TempDir dir_;
  std::unique_ptr<Lab> lab_;
  std::unique_ptr<NatPod> nat_;
};

TEST_F(NatInteropTest, CharonBehindNatUsesUdp4500) {
  const std::string inner_nat = "10.199.9.1";
  ASSERT_TRUE(AddAddress(nat_->netns(), inner_nat + "/32", &error_)) << error_;
  ASSERT_TRUE(AddAddress(lab_->pod(1), InnerV4(1) + "/32", &error_)) << error_;
  PeerSpec behind{nat_->address(), "nat.lab", inner_nat};
  PeerSpec outside{lab_->PodV4(1), "b.lab", InnerV4(1)};
  SwanctlConfig responder = PskConfig(outside, behind);
  responder.connections[0].remote_addrs.clear();  // %any: the peer arrives from the NAT

  auto capture = Capture::Start(lab_->pod(1), "eth0", dir_.path() + "/nat.pcap", &error_);
  ASSERT_TRUE(capture) << error_;
  auto a = Charon::Start(nat_->netns(), "behind-nat", {}, &error_);
  ASSERT_TRUE(a) << error_;
  auto b = Charon::Start(lab_->pod(1), "outside", {}, &error_);
  ASSERT_TRUE(b) << error_;
  ASSERT_TRUE(a->Load(PskConfig(behind, outside), &error_)) << error_;
  ASSERT_TRUE(b->Load(responder, &error_)) << error_;
  ASSERT_TRUE(a->Initiate("net", &error_)) << error_;

  auto ike_b = b->WaitForChild("host", "net", milliseconds(5000), &error_);
  ASSERT_TRUE(ike_b) << error_;
  EXPECT_EQ(ike_b->remote_host, nat_->public_address()) << "the NAT must translate";
  EXPECT_TRUE(ike_b->nat_remote);
  auto ike_a = a->WaitForChild("host", "net", milliseconds(1000), &error_);
  ASSERT_TRUE(ike_a) << error_;
  EXPECT_EQ(ike_a->local_host, nat_->address());
  EXPECT_TRUE(ike_a->nat_local) << "charon behind the NAT must detect it";
  EXPECT_TRUE(ike_a->InstalledChild("net")->encap);

  CommandResult ping = ipsec::testing::Run({"ip", "netns", "exec", nat_->netns(), "ping", "-c", "3",
                                            "-i", "0.2", "-W", "2", "-I", inner_nat, InnerV4(1)});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err << nat_->NatTable();
  ASSERT_TRUE(capture->Stop(&error_)) << error_;

  Tshark tshark;
  std::vector<DissectedPacket> esp;
  ASSERT_TRUE(tshark.Dissect(capture->path(), "esp", {"ip.src", "udp.srcport", "udp.dstport"}, &esp,
                             &error_))
      << error_;
  ASSERT_GE(esp.size(), 6u) << tshark.Summary(capture->path());
  for (const auto& p : esp) {
    EXPECT_TRUE(p.Get("udp.dstport") == "4500" || p.Get("udp.srcport") == "4500")
        << tshark.Summary(capture->path());
  }
  std::vector<DissectedPacket> auth;
  ASSERT_TRUE(tshark.Dissect(capture->path(), "isakmp.exchangetype == 35",
                             {"ip.src", "udp.srcport", "udp.dstport"}, &auth, &error_))
      << error_;
  ASSERT_EQ(auth.size(), 2u) << tshark.Summary(capture->path());
  EXPECT_EQ(auth[0].Get("ip.src"), nat_->public_address());
  EXPECT_EQ(auth[1].Get("udp.dstport"), auth[0].Get("udp.srcport"));
}

TEST_F(NatInteropTest, PacketLossDropsAndIsRemoved) {
  auto ping = [&](int count) {
    return ipsec::testing::Run({"ip", "netns", "exec", nat_->netns(), "ping", "-c",
                                std::to_string(count), "-i", "0.01", "-W", "1", lab_->PodV4(1)});
  };
  ASSERT_EQ(ping(1).exit_code, 0) << "the NAT must forward";
  {
    auto all = PacketLoss::Add(nat_->router(), 100, &error_, "forward", "icmp type echo-request");
    ASSERT_TRUE(all) << error_;
    EXPECT_NE(ping(2).exit_code, 0);
    EXPECT_EQ(all->Dropped(), 2);
  }
  EXPECT_EQ(ping(1).exit_code, 0) << "the loss rule must be gone";
  auto half = PacketLoss::Add(nat_->router(), 50, &error_);
  ASSERT_TRUE(half) << error_;
  ping(40);
  int64_t dropped = half->Dropped();
  EXPECT_GT(dropped, 5);  // 40 requests and their replies, each dropped with p = 0.5
  EXPECT_LT(dropped, 75);
}

}  // namespace
}  // namespace ipsec::testing
