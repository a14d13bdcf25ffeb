// An attacker who knows an established IKE SA's SPIs (they travel in clear) forges datagrams
// at it (RFC 7296 §2.21.4, §1.5, §2.1, §2.23): nothing it sends may change the SA's state,
// its message IDs or the peer's address, nor make us send anything toward it. Each forgery is
// counted by the reason it was dropped (IkeDropReason). docs/security.md lists these attacks.
#include <gtest/gtest.h>

#include "engine/common/byte_io.h"
#include "engine/ike/codec/header.h"
#include "engine/ike/codec/message.h"
#include "tests/support/ike_peers.h"

namespace ipsec::engine::ike {
namespace {

using codec::ExchangeType;
using codec::PayloadType;
using testing::Datagram;
using testing::TwoPeers;

class HostilePeerTest : public ::testing::Test {
 protected:
  HostilePeerTest() {
    net_.a.manager->SetConfig(testing::SimpleConfig("10.1.0.1", "10.2.0.1", "secret"));
    net_.b.manager->SetConfig(testing::SimpleConfig("10.2.0.1", "10.1.0.1", "secret"));
    // What reaches the attacker is recorded, never delivered.
    net_.filter = [this](const Datagram& d) {
      if (d.to.address != attacker_.address) return true;
      to_attacker_.push_back(d);
      return false;
    };
  }

  // A (10.1.0.1) initiates and both sides establish an IKE SA with one child SA.
  void Establish() {
    ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
    net_.DeliverAll();
    ASSERT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
    ASSERT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
    before_a_ = net_.a.manager->Snapshot(net_.now)[0];
    before_b_ = net_.b.manager->Snapshot(net_.now)[0];
  }

  static uint64_t Spi(const std::string& hex) { return std::stoull(hex, nullptr, 16); }

  // The header of a message on the SA, as `from_initiator` (A, the original initiator) or the
  // responder would send it.
  codec::Header HeaderOf(ExchangeType exchange, bool from_initiator, bool response,
                         uint32_t message_id) const {
    codec::Header h;
    h.initiator_spi = Spi(before_a_.spi_i);
    h.responder_spi = Spi(before_a_.spi_r);
    h.exchange_type = exchange;
    h.flags = (from_initiator ? codec::kFlagInitiator : 0) | (response ? codec::kFlagResponse : 0);
    h.message_id = message_id;
    return h;
  }

  // HDR, N(type) [, D(IKE)]: no SK payload.
  Bytes Unprotected(const codec::Header& h, codec::NotifyType type, bool with_delete) const {
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

  // HDR, SK{garbage}: the right shape, but no key to make its ICV.
  static Bytes ForgedSk(const codec::Header& h, size_t body) {
    Bytes out;
    ByteWriter w(out);
    const uint32_t length = static_cast<uint32_t>(codec::kHeaderSize + 4 + body);
    codec::EncodeHeader(h, PayloadType::kSk, length, w);
    w.WriteUint8(static_cast<uint8_t>(PayloadType::kNotify));  // first inner payload
    w.WriteUint8(0);
    w.WriteUint16(static_cast<uint16_t>(4 + body));
    for (size_t i = 0; i < body; ++i) w.WriteUint8(static_cast<uint8_t>(i * 7 + 1));
    return out;
  }

  void Inject(testing::IkePeer& to, Endpoint from, Bytes data, uint16_t port = 500) {
    net_.wire.push_back(Datagram{from, to.endpoint(port), std::move(data)});
    net_.DeliverAll();
  }

  uint64_t Drops(testing::IkePeer& p, IkeDropReason r) {
    return p.manager->Statistics().datagrams_dropped[static_cast<size_t>(r)];
  }

  // The SA as it was: same SPIs, state, endpoints and child SA.
  void ExpectUnchanged() {
    for (auto* p : {&net_.a, &net_.b}) {
      auto now = p->manager->Snapshot(net_.now);
      const auto& before = p == &net_.a ? before_a_ : before_b_;
      ASSERT_EQ(now.size(), 1u) << p->observer.Log();
      EXPECT_EQ(now[0].id, before.id);
      EXPECT_EQ(now[0].state, "established");
      EXPECT_EQ(now[0].local, before.local);
      EXPECT_EQ(now[0].remote, before.remote);
      EXPECT_EQ(now[0].udp_4500, before.udp_4500);
      EXPECT_EQ(now[0].message_id_out, before.message_id_out);
      EXPECT_EQ(now[0].message_id_in, before.message_id_in);
      ASSERT_EQ(now[0].children.size(), 1u);
      EXPECT_EQ(now[0].children[0].spi_in, before.children[0].spi_in);
    }
    EXPECT_EQ(net_.a.observer.ike_down, 0) << net_.a.observer.last_down_reason;
    EXPECT_EQ(net_.b.observer.ike_down, 0) << net_.b.observer.last_down_reason;
    EXPECT_TRUE(to_attacker_.empty()) << to_attacker_.size() << " datagrams reached the attacker";
  }

  // Both sides still agree on every message ID: each rekeys the child SA in turn (A's request
  // uses A's next ID, B's request B's), and then each checks the other's liveness.
  void ExpectExchangesStillWork() {
    for (auto* p : {&net_.b, &net_.a}) {
      const auto sas = p->manager->Snapshot(net_.now);
      ASSERT_EQ(sas.size(), 1u) << p->observer.Log();
      ASSERT_EQ(sas[0].children.size(), 1u) << p->observer.Log();
      const auto child = sas[0].children[0];
      const int rekeys = p->observer.child_rekeys;
      ASSERT_TRUE(p->manager->Rekey(child.id, net_.now).ok());
      net_.DeliverAll();
      EXPECT_EQ(p->observer.child_rekeys, rekeys + 1) << p->observer.Log();
      const auto after = p->manager->Snapshot(net_.now);
      ASSERT_EQ(after.size(), 1u) << p->observer.Log();
      ASSERT_EQ(after[0].children.size(), 1u) << p->observer.Log();
      EXPECT_NE(after[0].children[0].spi_in, child.spi_in) << "new SPIs after the rekey";
    }
    EXPECT_EQ(net_.a.observer.ike_down, 0) << net_.a.observer.last_down_reason;
    EXPECT_EQ(net_.b.observer.ike_down, 0) << net_.b.observer.last_down_reason;
  }

  TwoPeers net_;
  Endpoint attacker_{*IpAddress::Parse("10.9.9.9"), 500};
  std::vector<Datagram> to_attacker_;
  IkeSaSnapshot before_a_, before_b_;
};

// RFC 7296 §1.5, §2.21.4: an unprotected INFORMATIONAL after IKE_AUTH — whatever it carries,
// whichever message ID, from the peer's own address or another, to port 500 or 4500 — is
// dropped as `unprotected`: no deletion, no message ID consumed, no move of the peer.
TEST_F(HostilePeerTest, UnprotectedInformationalsChangeNothing) {
  Establish();
  const Endpoint b_500 = net_.b.endpoint(500);
  const Endpoint elsewhere{*IpAddress::Parse("10.9.9.9"), 4500};
  int sent = 0;
  for (uint32_t id : {0u, 1u, 2u, 7u, 0x7fffffffu, 0xffffffffu}) {
    for (bool with_delete : {false, true}) {
      for (auto type : {codec::NotifyType::kAuthenticationFailed, codec::NotifyType::kInvalidSpi,
                        codec::NotifyType::kInitialContact}) {
        // As B (the responder) would send a request to A, and as a response.
        for (bool response : {false, true}) {
          const auto h = HeaderOf(ExchangeType::kInformational, false, response, id);
          Inject(net_.a, b_500, Unprotected(h, type, with_delete), 500);
          Inject(net_.a, elsewhere, Unprotected(h, type, with_delete), 4500);
          sent += 2;
        }
        // As A would send to B.
        const auto h = HeaderOf(ExchangeType::kInformational, true, false, id);
        Inject(net_.b, net_.a.endpoint(500), Unprotected(h, type, with_delete), 500);
        Inject(net_.b, elsewhere, Unprotected(h, type, with_delete), 4500);
        sent += 2;
      }
    }
  }
  ExpectUnchanged();
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kUnprotected) + Drops(net_.b, IkeDropReason::kUnprotected),
            static_cast<uint64_t>(sent));
  EXPECT_EQ(net_.a.manager->Statistics().datagrams_dropped_total +
                net_.b.manager->Statistics().datagrams_dropped_total,
            static_cast<uint64_t>(sent));
  ExpectExchangesStillWork();
}

// The other exchanges without SK: a CREATE_CHILD_SA or IKE_AUTH in clear is dropped too.
TEST_F(HostilePeerTest, UnprotectedRequestsOfEveryExchangeAreDropped) {
  Establish();
  for (auto exchange : {ExchangeType::kCreateChildSa, ExchangeType::kIkeAuth}) {
    const auto h = HeaderOf(exchange, false, false, 0);
    Inject(net_.a, net_.b.endpoint(), Unprotected(h, codec::NotifyType::kRekeySa, false));
  }
  ExpectUnchanged();
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kUnprotected), 2u);
  ExpectExchangesStillWork();
}

// §2.1: a forged short datagram with the live SPIs and the message ID answered last must not
// make the responder resend its (larger) cached response toward the forger; an exact copy of
// the request from elsewhere neither. The real retransmission, from the peer, is answered.
TEST_F(HostilePeerTest, RetransmissionsAreAnsweredOnlyForTheSameRequestFromTheSameSender) {
  Establish();
  // B answered A's IKE_AUTH (message ID 1) last.
  const Bytes* auth_request = nullptr;
  for (const auto& d : net_.sent_log) {
    auto h = codec::DecodeHeader(d.data);
    if (h.ok() && d.from.address == net_.a.address && h->exchange_type == ExchangeType::kIkeAuth &&
        !h->is_response()) {
      auth_request = &d.data;
    }
  }
  ASSERT_NE(auth_request, nullptr);
  const auto forged = ForgedSk(HeaderOf(ExchangeType::kIkeAuth, true, false, 1), 40);
  Inject(net_.b, attacker_, forged);                // short, from the attacker
  Inject(net_.b, net_.a.endpoint(), forged);        // short, as if from A
  Inject(net_.b, attacker_, *auth_request);         // A's exact bytes, from the attacker
  Endpoint a_4500 = net_.a.endpoint(4500);
  Inject(net_.b, a_4500, *auth_request, 500);       // A's exact bytes, from another port
  for (int r = 0; r < kIkeDropReasonCount; ++r) {
    EXPECT_EQ(Drops(net_.b, static_cast<IkeDropReason>(r)),
              r == static_cast<int>(IkeDropReason::kRetransmitMismatch) ? 4u : 0u)
        << Name(static_cast<IkeDropReason>(r));
  }
  const size_t sent_before = net_.sent_log.size();
  // A's real retransmission is answered, toward A.
  net_.wire.push_back(Datagram{net_.a.endpoint(), net_.b.endpoint(), *auth_request});
  ASSERT_TRUE(net_.DeliverOne());
  ASSERT_EQ(net_.sent_log.size(), sent_before + 1);
  EXPECT_EQ(net_.sent_log.back().to, net_.a.endpoint());
  net_.wire.clear();  // A ignores the late copy of its response; not needed here
  ExpectUnchanged();
  ExpectExchangesStillWork();
}

// §1.2: IKE_SA_INIT is message 0. A copy of it aimed at the established SA with the message ID
// the responder expects next must not restart the SA with the attacker's key exchange.
TEST_F(HostilePeerTest, IkeSaInitOnAnEstablishedSaIsAnUnexpectedExchange) {
  Establish();
  const Bytes* init_request = nullptr;
  for (const auto& d : net_.sent_log) {
    auto h = codec::DecodeHeader(d.data);
    if (h.ok() && h->exchange_type == ExchangeType::kIkeSaInit && !h->is_response()) {
      init_request = &d.data;
    }
  }
  ASSERT_NE(init_request, nullptr);
  auto message = codec::DecodeMessage(*init_request);
  ASSERT_TRUE(message.ok());
  for (uint32_t id : {2u, 3u}) {
    message->header.responder_spi = Spi(before_b_.spi_r);
    message->header.message_id = id;
    Inject(net_.b, net_.a.endpoint(), codec::EncodeMessage(*message));
  }
  // And as a response to A, which has no IKE_SA_INIT outstanding.
  message->header.flags = codec::kFlagResponse;
  message->header.message_id = 0;
  Inject(net_.a, net_.b.endpoint(), codec::EncodeMessage(*message));
  EXPECT_EQ(Drops(net_.b, IkeDropReason::kUnexpectedExchange), 2u);
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kDuplicate), 1u);  // a late IKE_SA_INIT response
  ExpectUnchanged();
  ExpectExchangesStillWork();
}

// SK payloads that fail the integrity check, message IDs outside the window, SPIs of no SA and
// bytes that do not decode: each dropped and counted by its reason, nothing changed.
TEST_F(HostilePeerTest, ForgedProtectedMessagesAreCountedByReason) {
  Establish();
  // The next request A expects from B is ID 0: a forged one fails integrity.
  Inject(net_.a, net_.b.endpoint(),
         ForgedSk(HeaderOf(ExchangeType::kInformational, false, false, 0), 64));
  Inject(net_.a, net_.b.endpoint(),
         ForgedSk(HeaderOf(ExchangeType::kCreateChildSa, false, false, 0), 200));
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kIntegrity), 2u);
  // IDs A does not expect, and a response to nothing outstanding.
  Inject(net_.a, net_.b.endpoint(),
         ForgedSk(HeaderOf(ExchangeType::kInformational, false, false, 5), 64));
  Inject(net_.a, net_.b.endpoint(),
         ForgedSk(HeaderOf(ExchangeType::kInformational, false, true, 9), 64));
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kOutOfWindow), 2u);
  // A late response (ID 0: A's IKE_SA_INIT was answered long ago).
  Inject(net_.a, net_.b.endpoint(),
         ForgedSk(HeaderOf(ExchangeType::kInformational, false, true, 0), 64));
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kDuplicate), 1u);
  // Unknown SPIs, and garbage.
  auto h = HeaderOf(ExchangeType::kInformational, false, false, 0);
  h.initiator_spi ^= 1;
  Inject(net_.a, net_.b.endpoint(), ForgedSk(h, 64));
  Inject(net_.a, net_.b.endpoint(), Bytes{1, 2, 3});
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kUnknownSpi), 1u);
  EXPECT_EQ(Drops(net_.a, IkeDropReason::kMalformed), 1u);
  EXPECT_EQ(net_.a.manager->Statistics().datagrams_dropped_total, 7u);
  ExpectUnchanged();
  ExpectExchangesStillWork();
}

// Before IKE_AUTH completes the responder has keys but no authenticated peer: only IKE_AUTH is
// expected; a CREATE_CHILD_SA or INFORMATIONAL there is an unexpected exchange.
TEST_F(HostilePeerTest, OnlyIkeAuthFollowsIkeSaInit) {
  ASSERT_TRUE(net_.a.manager->Initiate("r", net_.a.endpoint(), net_.b.endpoint(), net_.now).ok());
  ASSERT_TRUE(net_.DeliverOne());  // IKE_SA_INIT request to B; its response waits on the wire
  auto b = net_.b.manager->Snapshot(net_.now);
  ASSERT_EQ(b.size(), 1u);
  before_a_ = b[0];  // HeaderOf takes the SPIs from here
  for (auto exchange : {ExchangeType::kCreateChildSa, ExchangeType::kInformational}) {
    net_.wire.push_front(Datagram{net_.a.endpoint(), net_.b.endpoint(),
                                  ForgedSk(HeaderOf(exchange, true, false, 1), 64)});
    ASSERT_TRUE(net_.DeliverOne());
  }
  EXPECT_EQ(Drops(net_.b, IkeDropReason::kUnexpectedExchange), 2u);
  net_.DeliverAll();
  EXPECT_EQ(net_.a.observer.ike_up, 1) << net_.a.observer.Log();
  EXPECT_EQ(net_.b.observer.ike_up, 1) << net_.b.observer.Log();
}

}  // namespace
}  // namespace ipsec::engine::ike
