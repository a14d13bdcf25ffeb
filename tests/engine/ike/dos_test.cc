// Anti-DoS of the IKE responder: stateless cookies above a half-open threshold (RFC 7296 §2.6)
// and the FAQ 59 limits (5 half-open per peer IP:port once an IKE SA with the peer is up, 35
// per peer IP otherwise), between two in-process peers.
#include "engine/ike/dos.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/message.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using namespace std::chrono_literals;
using testing::Datagram;
using testing::TwoPeers;

class DosTest : public ::testing::Test {
 protected:
  void Configure(DosLimits limits) {
    net_.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret"));
    auto b = testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret");
    b->dos = limits;
    net_.b.manager->SetConfig(b);
  }
  void Initiate(uint16_t port = 500) {
    auto id = net_.a.manager->Initiate("r", net_.a.endpoint(port), net_.b.endpoint(), net_.now);
    ASSERT_TRUE(id.ok()) << id.error().ToString();
  }
  // Drops everything B sends (its IKE_SA_INIT responses), so B's SAs stay half-open.
  void SilenceB(bool on) {
    if (!on) {
      net_.filter = nullptr;
      return;
    }
    net_.filter = [this](const Datagram& d) { return d.from.address != net_.b.address; };
  }
  int LogCount(const std::string& needle) const {
    int n = 0;
    for (const auto& l : net_.b.observer.log) n += l.find(needle) != std::string::npos;
    return n;
  }
  // The IKE_SA_INIT messages B sent that carry only N(COOKIE).
  std::vector<codec::Message> CookieReplies() const {
    std::vector<codec::Message> out;
    for (const auto& d : net_.sent_log) {
      if (d.from.address != net_.b.address) continue;
      auto m = codec::DecodeMessage(d.data);
      if (m.ok() && m->header.exchange_type == codec::ExchangeType::kIkeSaInit &&
          codec::FindNotify(m->payloads, codec::NotifyType::kCookie) != nullptr) {
        out.push_back(*m);
      }
    }
    return out;
  }
  TwoPeers net_;
};

TEST_F(DosTest, CookiesStartAboveTheHalfOpenThresholdAndTheRetriedRequestSucceeds) {
  DosLimits limits;
  limits.cookie_threshold = 2;
  Configure(limits);
  SilenceB(true);
  Initiate();
  Initiate();
  net_.DeliverAll();
  EXPECT_EQ(net_.b.manager->Statistics().ike_sas_half_open, 2u);
  EXPECT_EQ(net_.b.observer.cookies, 0);
  SilenceB(false);
  // The third request finds two half-open SAs: N(COOKIE), and no state at B.
  Initiate();
  ASSERT_TRUE(net_.DeliverOne());  // request -> B
  EXPECT_EQ(net_.b.observer.cookies, 1);
  EXPECT_EQ(net_.b.manager->sa_count(), 2u);
  auto cookies = CookieReplies();
  ASSERT_EQ(cookies.size(), 1u);
  EXPECT_EQ(cookies[0].payloads.size(), 1u);  // HDR, N(COOKIE) only
  EXPECT_EQ(cookies[0].header.responder_spi, 0u);
  EXPECT_TRUE(cookies[0].header.is_response());
  EXPECT_EQ(codec::FindNotify(cookies[0].payloads, codec::NotifyType::kCookie)->data.size(),
            DosGuard::kCookieSize);
  // A retries with the cookie as its first payload (§2.6) and the handshake completes.
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
  EXPECT_EQ(net_.b.observer.cookies, 1);
  EXPECT_EQ(net_.b.observer.dos_drops, 0);
  auto stats = net_.b.manager->Statistics();
  EXPECT_EQ(stats.cookies_sent_total, 1u);
  EXPECT_EQ(stats.dos_drops_total, 0u);
  // The retried request carried the cookie first.
  int with_cookie = 0;
  for (const auto& d : net_.sent_log) {
    if (d.from.address != net_.a.address) continue;
    auto m = codec::DecodeMessage(d.data);
    if (m.ok() && m->header.exchange_type == codec::ExchangeType::kIkeSaInit &&
        !m->payloads.empty() && m->payloads[0].type == codec::PayloadType::kNotify &&
        std::get<codec::NotifyPayload>(m->payloads[0].payload).type == codec::NotifyType::kCookie) {
      ++with_cookie;
    }
  }
  EXPECT_EQ(with_cookie, 1);
}

TEST_F(DosTest, ThresholdZeroAlwaysAsksForCookies) {
  DosLimits limits;
  limits.cookie_threshold = 0;
  Configure(limits);
  Initiate();
  EXPECT_EQ(net_.DeliverAll(), 6);  // request, cookie, request with cookie, response, IKE_AUTH
  EXPECT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.cookies, 1);
}

// A's first IKE_SA_INIT request with `cookie` inserted first, as a forger would send it.
Bytes WithCookie(const Bytes& request, const Bytes& cookie, uint64_t spi_i = 0) {
  auto m = codec::DecodeMessage(request);
  EXPECT_TRUE(m.ok());
  codec::NotifyPayload n;
  n.type = codec::NotifyType::kCookie;
  n.data = cookie;
  m->payloads.insert(m->payloads.begin(),
                     codec::PayloadEntry{codec::PayloadType::kNotify, false, n});
  if (spi_i != 0) m->header.initiator_spi = spi_i;
  return codec::EncodeMessage(*m);
}

TEST_F(DosTest, ForgedAndStaleCookiesAreDroppedAndCounted) {
  DosLimits limits;
  limits.cookie_threshold = 0;
  limits.cookie_secret_lifetime = 120s;
  Configure(limits);
  Initiate();
  ASSERT_TRUE(net_.DeliverOne());  // the request: B answers with a cookie
  ASSERT_EQ(net_.wire.size(), 1u);
  const Bytes first_request = net_.sent_log[0].data;
  auto cookies = CookieReplies();
  ASSERT_EQ(cookies.size(), 1u);
  const Bytes cookie = codec::FindNotify(cookies[0].payloads, codec::NotifyType::kCookie)->data;
  net_.wire.clear();
  auto deliver = [&](const Bytes& data) {
    net_.b.manager->OnDatagram(net_.b.endpoint(), net_.a.endpoint(), data, net_.now);
  };
  // Forged: random octets of the right size, and one octet changed.
  Bytes forged(cookie.size(), 0x5a);
  deliver(WithCookie(first_request, forged));
  Bytes flipped = cookie;
  flipped.back() ^= 1;
  deliver(WithCookie(first_request, flipped));
  // A valid cookie for another SPIi (§2.6: the cookie covers Ni, IPi and SPIi).
  deliver(WithCookie(first_request, cookie, 0x1234567890abcdefULL));
  // Wrong size.
  deliver(WithCookie(first_request, Bytes{1, 2, 3}));
  EXPECT_EQ(net_.b.observer.dos_drops, 4);
  EXPECT_EQ(net_.b.manager->Statistics().dos_drops_total, 4u);
  EXPECT_EQ(LogCount("dropped: invalid_cookie"), 4);
  EXPECT_EQ(net_.b.manager->sa_count(), 0u);
  EXPECT_TRUE(net_.wire.empty());  // nothing answered
  // The secret rotates every 120 s; a cookie of the previous secret is still good...
  net_.now += 150s;
  deliver(WithCookie(first_request, cookie));
  EXPECT_EQ(net_.b.manager->sa_count(), 1u);
  EXPECT_EQ(net_.b.observer.dos_drops, 4);
  EXPECT_EQ(net_.wire.size(), 1u);  // the IKE_SA_INIT response
  // ...one made two secrets ago is stale (another SPIi, so it is a new request).
  net_.wire.clear();
  net_.now += 300s;
  auto m = codec::DecodeMessage(first_request);
  deliver(WithCookie(first_request, cookie, m->header.initiator_spi + 1));
  EXPECT_EQ(net_.b.observer.dos_drops, 5);
  EXPECT_TRUE(net_.wire.empty());
}

TEST_F(DosTest, AtMost35HalfOpenPerPeerIpWithoutAnEstablishedSa) {
  DosLimits limits;
  limits.cookie_threshold = 1000;  // cookies out of the way
  Configure(limits);
  SilenceB(true);
  // From two source ports of one IP: the limit is per IP while nothing is established.
  for (int i = 0; i < 20; ++i) Initiate(500);
  for (int i = 0; i < 20; ++i) Initiate(4500);
  net_.DeliverAll(1000);
  EXPECT_EQ(net_.b.manager->Statistics().ike_sas_half_open, 35u);
  EXPECT_EQ(net_.b.observer.dos_drops, 5);
  EXPECT_EQ(net_.b.manager->Statistics().dos_drops_total, 5u);
  EXPECT_EQ(LogCount("dropped: half_open_per_peer"), 5);
  // Another peer is not affected.
  auto c = codec::DecodeMessage(net_.sent_log[0].data);
  ASSERT_TRUE(c.ok());
  Endpoint other{*IpAddress::Parse("10.3.0.1"), 500};
  net_.b.manager->OnDatagram(net_.b.endpoint(), other, net_.sent_log[0].data, net_.now);
  EXPECT_EQ(net_.b.manager->Statistics().ike_sas_half_open, 36u);
  // Half-open SAs expire (IkeTimers::half_open_timeout), and the peer may try again.
  net_.wire.clear();
  net_.b.manager->OnTimer(net_.now + 31s);
  EXPECT_EQ(net_.b.manager->Statistics().ike_sas_half_open, 0u);
}

TEST_F(DosTest, AtMost5HalfOpenPerIpAndPortOnceAnSaIsEstablished) {
  DosLimits limits;
  limits.cookie_threshold = 1000;
  Configure(limits);
  Initiate();
  net_.DeliverAll();
  ASSERT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
  SilenceB(true);
  for (int i = 0; i < 8; ++i) Initiate(500);
  for (int i = 0; i < 6; ++i) Initiate(4500);
  net_.DeliverAll(1000);
  // 5 from 10.1.0.1:500 and 5 from 10.1.0.1:4500; 3 + 1 dropped.
  EXPECT_EQ(net_.b.manager->Statistics().ike_sas_half_open, 10u);
  EXPECT_EQ(net_.b.observer.dos_drops, 4);
  EXPECT_EQ(net_.b.manager->Statistics().dos_drops_total, 4u);
  EXPECT_EQ(LogCount("dropped: half_open_per_peer_port"), 4);
}

TEST_F(DosTest, RetransmittedRequestsOfAHalfOpenSaAreNotCounted) {
  DosLimits limits;
  limits.cookie_threshold = 1000;
  limits.max_half_open_per_peer = 1;
  Configure(limits);
  SilenceB(true);
  Initiate();
  net_.DeliverAll();
  // A retransmits its IKE_SA_INIT request; B answers it again from the SA it holds.
  net_.Advance(1500ms);
  net_.DeliverAll();
  EXPECT_EQ(net_.b.manager->Statistics().ike_sas_half_open, 1u);
  EXPECT_EQ(net_.b.observer.dos_drops, 0);
  // A second negotiation from the same IP is over the limit of 1.
  Initiate();
  net_.DeliverAll();
  EXPECT_EQ(net_.b.observer.dos_drops, 1);
}

}  // namespace
}  // namespace ipsec::engine::ike
