#include "engine/net/udp_transport.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "engine/net/event_loop.h"
#include "engine/net/nat_t_framing.h"
#include "tests/engine/net/udp_test_peer.h"

namespace ipsec::engine::net {
namespace {

using testing::DatagramQueue;
using testing::UdpTestPeer;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }
Bytes B(std::string_view text) { return Bytes(text.begin(), text.end()); }
Bytes WithMarker(std::string_view text) { return Concat({ByteSpan(kNonEspMarker), AsBytes(text)}); }

// A transport on ephemeral ports with its handlers feeding queues; the loop outlives it.
class UdpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create("udp-test");
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(loop).value();
  }
  // Opens and starts a transport; `esp` false leaves the ESP handler unset.
  void Open(std::vector<IpAddress> addresses, bool esp = true, size_t max_size = kMaxDatagramSize,
            size_t batch = 64) {
    UdpTransportOptions options;
    options.local_addresses = std::move(addresses);
    options.ike_port = 0;
    options.nat_t_port = 0;
    options.max_datagram_size = max_size;
    options.receive_batch = batch;
    auto transport = UdpTransport::Open(*loop_, options);
    ASSERT_TRUE(transport.ok()) << transport.error().ToString();
    transport_ = std::move(transport).value();
    UdpTransportHandlers handlers;
    handlers.ike = [this](Datagram d) { ike_.Push(std::move(d)); };
    if (esp) handlers.esp = [this](Datagram d) { esp_.Push(std::move(d)); };
    transport_->Start(std::move(handlers));
  }
  Endpoint Ike(const char* address) { return {Ip(address), transport_->ike_port()}; }
  Endpoint NatT(const char* address) { return {Ip(address), transport_->nat_t_port()}; }
  // Sends an IKE datagram to port 500 and waits for it, so everything the peer sent before
  // has been handled (loopback keeps one peer's datagrams in order).
  void Sync(UdpTestPeer& peer, const char* address = "127.0.0.1") {
    ASSERT_TRUE(peer.SendTo(NatT(address), WithMarker("sync")));
    auto d = ike_.Pop();
    ASSERT_TRUE(d.has_value());
    ASSERT_EQ(d->data, B("sync"));
  }

  std::unique_ptr<EventLoop> loop_;
  DatagramQueue ike_;
  DatagramQueue esp_;
  std::unique_ptr<UdpTransport> transport_;  // destroyed before loop_
};

TEST_F(UdpTransportTest, DeliversIkeFromPort500AsItIs) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), B("IKE_SA_INIT request")));
  auto d = ike_.Pop();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->data, B("IKE_SA_INIT request"));
  EXPECT_EQ(d->local, Ike("127.0.0.1"));
  EXPECT_EQ(d->remote, peer->endpoint());
  EXPECT_FALSE(d->on_nat_t_port);
  const UdpTransportCounters c = transport_->counters();
  EXPECT_EQ(c.received, 1u);
  EXPECT_EQ(c.ike_received, 1u);
}

TEST_F(UdpTransportTest, StripsTheNonEspMarkerOnTheNatTPort) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), WithMarker("IKE_AUTH request")));
  auto d = ike_.Pop();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->data, B("IKE_AUTH request"));  // RFC 3948 §2.2
  EXPECT_EQ(d->local, NatT("127.0.0.1"));
  EXPECT_TRUE(d->on_nat_t_port);
}

TEST_F(UdpTransportTest, SendIkeAddsTheMarkerOnlyOnTheNatTPort) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  transport_->SendIke(Ike("127.0.0.1"), peer->endpoint(), B("on 500"));
  auto r = peer->Receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, B("on 500"));
  EXPECT_EQ(r->from, Ike("127.0.0.1"));

  transport_->SendIke(NatT("127.0.0.1"), peer->endpoint(), B("on 4500"));
  r = peer->Receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, WithMarker("on 4500"));
  EXPECT_EQ(r->from, NatT("127.0.0.1"));
  EXPECT_EQ(transport_->counters().sent, 2u);
  EXPECT_EQ(transport_->counters().send_errors, 0u);
}

TEST_F(UdpTransportTest, DropsNatKeepalivesAndCountsThem) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  const Bytes keepalive = {kNatKeepalive};
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), keepalive));
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), keepalive));
  Sync(*peer);
  EXPECT_EQ(ike_.size(), 0u);
  EXPECT_EQ(esp_.size(), 0u);
  EXPECT_EQ(transport_->counters().keepalives_received, 2u);
  EXPECT_EQ(transport_->counters().received, 3u);
}

TEST_F(UdpTransportTest, SendsNatKeepalivesFromTheNatTPortOnly) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  transport_->SendNatKeepalive(NatT("127.0.0.1"), peer->endpoint());
  auto r = peer->Receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, Bytes{0xFF});  // RFC 3948 §2.3
  EXPECT_EQ(r->from, NatT("127.0.0.1"));
  transport_->SendNatKeepalive(Ike("127.0.0.1"), peer->endpoint());
  EXPECT_FALSE(peer->Receive(std::chrono::milliseconds(50)).has_value());
  EXPECT_EQ(transport_->counters().keepalives_sent, 1u);
  EXPECT_EQ(transport_->counters().send_errors, 1u);
}

TEST_F(UdpTransportTest, RoutesEspInUdpToTheEspHandler) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  const Bytes esp = {0x00, 0x00, 0x12, 0x34, 0, 0, 0, 1, 0xAA, 0xBB};  // SPI 0x1234, seq 1
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), esp));
  auto d = esp_.Pop();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->data, esp);  // from the SPI on (RFC 3948 §2.1)
  EXPECT_TRUE(d->on_nat_t_port);
  EXPECT_EQ(d->remote, peer->endpoint());
  EXPECT_EQ(ike_.size(), 0u);
  EXPECT_EQ(transport_->counters().esp_received, 1u);

  transport_->SendEsp(NatT("127.0.0.1"), peer->endpoint(), esp);
  auto r = peer->Receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->data, esp);  // no marker
  EXPECT_EQ(transport_->counters().esp_sent, 1u);
}

TEST_F(UdpTransportTest, EspWithoutAHandlerIsCountedAndDropped) {
  Open({Ip("127.0.0.1")}, /*esp=*/false);
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{0, 0, 1, 0, 0, 0, 0, 1}));
  Sync(*peer);
  EXPECT_EQ(transport_->counters().esp_received, 1u);
  EXPECT_EQ(transport_->counters().unhandled, 1u);
  // A handler set later, on the loop thread, receives what follows.
  DatagramQueue late;
  ASSERT_TRUE(loop_
                  ->RunSync([&] {
                    transport_->SetEspHandler([&](Datagram d) { late.Push(std::move(d)); });
                  })
                  .ok());
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{0, 0, 1, 0, 0, 0, 0, 2}));
  EXPECT_TRUE(late.Pop().has_value());
  ASSERT_TRUE(loop_->RunSync([&] { transport_->SetEspHandler(nullptr); }).ok());
}

TEST_F(UdpTransportTest, CountsMalformedDatagrams) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), Bytes{}));                   // empty IKE
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{0, 0}));              // too short
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{0, 0, 0, 0}));        // marker alone
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{0, 0, 1, 0, 0, 0}));  // short ESP
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{}));                  // empty on 4500
  Sync(*peer);
  EXPECT_EQ(transport_->counters().malformed, 5u);
  EXPECT_EQ(ike_.size(), 0u);
  EXPECT_EQ(esp_.size(), 0u);
}

TEST_F(UdpTransportTest, DropsAndCountsDatagramsOverTheSizeCap) {
  Open({Ip("127.0.0.1")}, true, /*max_size=*/512);
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), Bytes(513, 0x42)));
  ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), Bytes(512, 0x43)));
  auto d = ike_.Pop();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->data, Bytes(512, 0x43));
  EXPECT_EQ(transport_->counters().too_large, 1u);
  // Sending over the cap fails too; on 4500 the marker counts.
  transport_->SendIke(Ike("127.0.0.1"), peer->endpoint(), Bytes(513, 1));
  transport_->SendIke(NatT("127.0.0.1"), peer->endpoint(), Bytes(510, 1));
  EXPECT_EQ(transport_->counters().too_large, 3u);
  EXPECT_EQ(transport_->counters().send_errors, 2u);
  EXPECT_EQ(transport_->counters().sent, 0u);
}

TEST_F(UdpTransportTest, RepliesLeaveFromTheAddressTheRequestCameTo) {
  Open({Ip("0.0.0.0")});  // one wildcard socket per port
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  for (const char* ours : {"127.0.0.2", "127.0.0.1", "127.0.0.2"}) {
    SCOPED_TRACE(ours);
    for (bool nat_t : {false, true}) {
      const Endpoint to = nat_t ? NatT(ours) : Ike(ours);
      ASSERT_TRUE(peer->SendTo(to, nat_t ? WithMarker("request") : B("request")));
      auto d = ike_.Pop();
      ASSERT_TRUE(d.has_value());
      EXPECT_EQ(d->local, to);  // IP_PKTINFO
      transport_->SendIke(d->local, d->remote, B("response"));
      auto r = peer->Receive();
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->from, to);  // the source chosen by IP_PKTINFO
      EXPECT_EQ(r->data, nat_t ? WithMarker("response") : B("response"));
    }
  }
}

TEST_F(UdpTransportTest, UnspecifiedLocalAddressLetsTheKernelChoose) {
  Open({Ip("0.0.0.0")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  transport_->SendIke(Ike("0.0.0.0"), peer->endpoint(), B("hello"));
  auto r = peer->Receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->from.port, transport_->ike_port());
  EXPECT_EQ(r->data, B("hello"));
}

TEST_F(UdpTransportTest, SpecificAddressesBindOnlyThose) {
  Open({Ip("127.0.0.1"), Ip("127.0.0.2")});
  const std::vector<Endpoint> bound = transport_->local_endpoints();
  EXPECT_EQ(bound, (std::vector<Endpoint>{Ike("127.0.0.1"), Ike("127.0.0.2"), NatT("127.0.0.1"),
                                          NatT("127.0.0.2")}));
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  transport_->SendIke(Ike("127.0.0.2"), peer->endpoint(), B("from .2"));
  auto r = peer->Receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->from, Ike("127.0.0.2"));
  // No socket for 127.0.0.3, nor for a port we did not bind, nor across families.
  transport_->SendIke(Ike("127.0.0.3"), peer->endpoint(), B("x"));
  transport_->SendIke({Ip("127.0.0.1"), 1}, peer->endpoint(), B("x"));
  transport_->SendIke(Ike("127.0.0.1"), {Ip("::1"), peer->endpoint().port}, B("x"));
  EXPECT_EQ(transport_->counters().send_errors, 3u);
  EXPECT_EQ(transport_->counters().sent, 1u);
}

TEST_F(UdpTransportTest, Ipv6LoopbackOnTheDefaultWildcards) {
  auto peer6 = UdpTestPeer::Bind("::1");
  ASSERT_TRUE(peer6) << "no IPv6 loopback (::1): this test checks the IPv6 wildcard socket";
  Open({});  // 0.0.0.0 and :: (IPV6_V6ONLY), the same ephemeral ports on both
  const std::vector<Endpoint> bound = transport_->local_endpoints();
  ASSERT_EQ(bound.size(), 4u);
  EXPECT_EQ(bound[0], Ike("0.0.0.0"));
  EXPECT_EQ(bound[1], Ike("::"));
  EXPECT_EQ(bound[2], NatT("0.0.0.0"));
  EXPECT_EQ(bound[3], NatT("::"));
  for (bool nat_t : {false, true}) {
    const Endpoint to = nat_t ? NatT("::1") : Ike("::1");
    ASSERT_TRUE(peer6->SendTo(to, nat_t ? WithMarker("v6") : B("v6")));
    auto d = ike_.Pop();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->local, to);
    EXPECT_EQ(d->remote, peer6->endpoint());
    EXPECT_EQ(d->data, B("v6"));
    transport_->SendIke(d->local, d->remote, B("v6 reply"));
    auto r = peer6->Receive();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->from, to);
    EXPECT_EQ(r->data, nat_t ? WithMarker("v6 reply") : B("v6 reply"));
  }
  auto peer4 = UdpTestPeer::Bind("127.0.0.1");  // and IPv4 still works beside it
  ASSERT_TRUE(peer4->SendTo(Ike("127.0.0.1"), B("v4")));
  auto d = ike_.Pop();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->local, Ike("127.0.0.1"));
}

TEST_F(UdpTransportTest, ReadsBurstsInBatchesWithoutLosingAny) {
  Open({Ip("127.0.0.1")}, true, kMaxDatagramSize, /*batch=*/4);
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), B("m" + std::to_string(i))));
  }
  for (int i = 0; i < 200; ++i) {
    auto d = ike_.Pop();
    ASSERT_TRUE(d.has_value()) << i;
    EXPECT_EQ(d->data, B("m" + std::to_string(i)));
  }
}

TEST_F(UdpTransportTest, CountsWhatTheKernelDroppedFromAFullQueue) {
  UdpTransportOptions options;
  options.local_addresses = {Ip("127.0.0.1")};
  options.ike_port = options.nat_t_port = 0;
  options.receive_buffer_bytes = 4096;  // room for a few datagrams only
  auto transport = UdpTransport::Open(*loop_, options);
  ASSERT_TRUE(transport.ok());
  transport_ = std::move(transport).value();
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  int sent = 0;
  for (; sent < 100; ++sent) ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), Bytes(1000, 1)));
  transport_->Start({[this](Datagram d) { ike_.Push(std::move(d)); }, nullptr});
  // Until one gets through: the datagram that does carries the drop count of all before it.
  for (;;) {
    ASSERT_LT(sent, 10000);
    ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), B("sync")));
    ++sent;
    std::optional<Datagram> d;
    bool synced = false;
    while ((d = ike_.Pop(std::chrono::milliseconds(20)))) synced |= d->data == B("sync");
    if (synced) break;
  }
  const UdpTransportCounters c = transport_->counters();
  EXPECT_GT(c.kernel_drops, 0u);
  EXPECT_EQ(c.received + c.kernel_drops, static_cast<uint64_t>(sent));
}

TEST_F(UdpTransportTest, AThrowingHandlerIsCountedAndReceivingGoesOn) {
  UdpTransportOptions options;
  options.local_addresses = {Ip("127.0.0.1")};
  options.ike_port = options.nat_t_port = 0;
  auto transport = UdpTransport::Open(*loop_, options);
  ASSERT_TRUE(transport.ok());
  transport_ = std::move(transport).value();
  int calls = 0;  // loop thread
  transport_->Start({[&](Datagram d) {
                       if (++calls == 1) throw std::runtime_error("IKE bug");
                       ike_.Push(std::move(d));
                     },
                     nullptr});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), B("first")));
  ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), B("second")));
  auto d = ike_.Pop();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->data, B("second"));
  EXPECT_EQ(transport_->counters().handler_errors, 1u);
  EXPECT_EQ(loop_->handler_exceptions(), 0u);
}

TEST_F(UdpTransportTest, HandlersMayReleaseThemselvesWhileRunning) {
  UdpTransportOptions options;
  options.local_addresses = {Ip("127.0.0.1")};
  options.ike_port = options.nat_t_port = 0;
  auto transport = UdpTransport::Open(*loop_, options);
  ASSERT_TRUE(transport.ok());
  transport_ = std::move(transport).value();
  // Each handler holds the only reference to its own state, touched after it released itself.
  auto esp_state = std::make_shared<int>(7);
  auto ike_state = std::make_shared<int>(8);
  UdpTransportHandlers handlers;
  handlers.esp = [this, esp_state](Datagram d) {
    transport_->SetEspHandler(nullptr);
    EXPECT_EQ(*esp_state, 7);
    esp_.Push(std::move(d));
  };
  handlers.ike = [this, ike_state](Datagram d) {
    transport_->Close();  // e.g. shutdown decided while handling a message
    EXPECT_EQ(*ike_state, 8);
    ike_.Push(std::move(d));
  };
  esp_state.reset();
  ike_state.reset();
  transport_->Start(std::move(handlers));
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{0, 0, 1, 0, 0, 0, 0, 1}));
  ASSERT_TRUE(esp_.Pop().has_value());
  ASSERT_TRUE(peer->SendTo(NatT("127.0.0.1"), Bytes{0, 0, 1, 0, 0, 0, 0, 2}));
  ASSERT_TRUE(peer->SendTo(Ike("127.0.0.1"), B("last")));
  ASSERT_TRUE(ike_.Pop().has_value());
  EXPECT_EQ(transport_->counters().unhandled, 1u);  // the second ESP packet
  EXPECT_EQ(esp_.size(), 0u);
}

TEST_F(UdpTransportTest, CloseStopsReceivingAndSending) {
  Open({Ip("127.0.0.1")});
  auto peer = UdpTestPeer::Bind("127.0.0.1");
  const Endpoint ike = Ike("127.0.0.1");
  transport_->Close();
  transport_->Close();  // idempotent
  ASSERT_TRUE(peer->SendTo(ike, B("after close")));
  EXPECT_FALSE(ike_.Pop(std::chrono::milliseconds(50)).has_value());
  transport_->SendIke(ike, peer->endpoint(), B("x"));
  EXPECT_EQ(transport_->counters().send_errors, 1u);
  transport_.reset();
  // The ports are free again.
  auto again = UdpTestPeer::Bind("127.0.0.1");
  ASSERT_TRUE(again);
}

TEST_F(UdpTransportTest, ClosesQuietlyAfterTheLoopStopped) {
  Open({Ip("127.0.0.1")});
  loop_->Stop();
  transport_.reset();  // closes inline: the loop thread is gone
}

TEST_F(UdpTransportTest, OpenReportsTheAddressAndReason) {
  auto squatter = UdpTestPeer::Bind("127.0.0.1");
  UdpTransportOptions options;
  options.local_addresses = {Ip("127.0.0.1")};
  options.ike_port = squatter->endpoint().port;
  options.nat_t_port = 0;
  auto taken = UdpTransport::Open(*loop_, options);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(taken.error().message.find("127.0.0.1:" + std::to_string(options.ike_port)),
            std::string::npos)
      << taken.error().message;
  EXPECT_NE(taken.error().message.find("in use"), std::string::npos) << taken.error().message;

  options.ike_port = 0;
  options.nat_t_port = squatter->endpoint().port;  // the IKE sockets bound first are released
  EXPECT_FALSE(UdpTransport::Open(*loop_, options).ok());

  UdpTransportOptions same;
  same.ike_port = same.nat_t_port = 9999;
  EXPECT_EQ(UdpTransport::Open(*loop_, same).error().code, ErrorCode::kInvalidArgument);
  UdpTransportOptions huge;
  huge.max_datagram_size = kMaxDatagramSize + 1;
  EXPECT_EQ(UdpTransport::Open(*loop_, huge).error().code, ErrorCode::kInvalidArgument);
  UdpTransportOptions no_batch;
  no_batch.receive_batch = 0;
  EXPECT_EQ(UdpTransport::Open(*loop_, no_batch).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace ipsec::engine::net
