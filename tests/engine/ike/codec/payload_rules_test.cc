#include "engine/ike/codec/payload_rules.h"

#include <gtest/gtest.h>

#include "engine/ike/codec/codec_error.h"
#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

using testing::Entry;
using testing::Filled;
using Chain = std::vector<PayloadEntry>;

PayloadEntry Sa(int proposals = 1) {
  SaPayload sa;
  for (int i = 1; i <= proposals; ++i) sa.proposals.push_back(testing::GcmIkeProposal(i));
  return Entry(PayloadType::kSa, sa);
}
PayloadEntry Ke() {
  return Entry(PayloadType::kKe, KePayload{DhGroup::kCurve25519, Filled(32, 1)});
}
PayloadEntry Nonce() { return Entry(PayloadType::kNonce, NoncePayload{Filled(32, 2)}); }
PayloadEntry N(NotifyType t) { return Entry(PayloadType::kNotify, MakeNotify(t)); }
PayloadEntry Id(PayloadType t) { return Entry(t, IdPayload{IdType::kFqdn, {'x'}}); }
PayloadEntry Auth() {
  return Entry(PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, {1}});
}
PayloadEntry Ts(PayloadType t) { return Entry(t, testing::AnyTs4()); }
PayloadEntry V() { return Entry(PayloadType::kVendorId, VendorIdPayload{{1}}); }
PayloadEntry D() { return Entry(PayloadType::kDelete, DeletePayload{ProtocolId::kIke, {}}); }
PayloadEntry CertReq() {
  return Entry(PayloadType::kCertReq, CertReqPayload{CertEncoding::kX509Signature, {}});
}

CodecError Check(ExchangeType x, bool response, const Chain& plain, const Chain* inner) {
  Status s = CheckPayloadRules(x, response, plain, inner);
  return s.ok() ? CodecError::kNone : CodecErrorOf(s.error());
}

constexpr ExchangeType kInit = ExchangeType::kIkeSaInit;
constexpr ExchangeType kAuth = ExchangeType::kIkeAuth;
constexpr ExchangeType kChild = ExchangeType::kCreateChildSa;
constexpr ExchangeType kInfo = ExchangeType::kInformational;

TEST(PayloadRulesTest, IkeSaInit) {
  // HDR, SAi1, KEi, Ni
  EXPECT_EQ(Check(kInit, false, {Sa(2), Ke(), Nonce(), V()}, nullptr), CodecError::kNone);
  // HDR, N(COOKIE), SAi1, KEi, Ni
  EXPECT_EQ(Check(kInit, false, {N(NotifyType::kCookie), Sa(), Ke(), Nonce()}, nullptr),
            CodecError::kNone);
  EXPECT_EQ(Check(kInit, false, {Sa(), Nonce()}, nullptr), CodecError::kMissingPayload);
  EXPECT_EQ(Check(kInit, false, {Sa(), Ke(), Nonce(), Nonce()}, nullptr),
            CodecError::kTooManyPayloads);
  EXPECT_EQ(Check(kInit, false, {Sa(), Ke(), Nonce(), CertReq()}, nullptr),
            CodecError::kPayloadNotAllowed);
  EXPECT_EQ(Check(kInit, false, {Sa(), Ke(), Nonce(), Id(PayloadType::kIdi)}, nullptr),
            CodecError::kPayloadNotAllowed);
  const Chain empty;
  EXPECT_EQ(Check(kInit, false, {Sa(), Ke(), Nonce()}, &empty), CodecError::kPayloadNotAllowed);
  // HDR, SAr1, KEr, Nr, [CERTREQ]
  EXPECT_EQ(Check(kInit, true, {Sa(), Ke(), Nonce(), CertReq()}, nullptr), CodecError::kNone);
  EXPECT_EQ(Check(kInit, true, {Sa(2), Ke(), Nonce()}, nullptr), CodecError::kInvalidSyntax);
}

TEST(PayloadRulesTest, IkeSaInitErrorOnlyResponses) {
  for (NotifyType t :
       {NotifyType::kCookie, NotifyType::kInvalidKePayload, NotifyType::kNoProposalChosen}) {
    EXPECT_EQ(Check(kInit, true, {N(t)}, nullptr), CodecError::kNone);
  }
  EXPECT_EQ(Check(kInit, true, {N(NotifyType::kNatDetectionSourceIp)}, nullptr),
            CodecError::kMissingPayload);
  // A request cannot be just a notification.
  EXPECT_EQ(Check(kInit, false, {N(NotifyType::kCookie)}, nullptr), CodecError::kMissingPayload);
  // The waiver lifts minimums, not maximums or the allowed set.
  EXPECT_EQ(Check(kInit, true, {N(NotifyType::kNoProposalChosen), Ke(), Ke()}, nullptr),
            CodecError::kTooManyPayloads);
}

TEST(PayloadRulesTest, IkeAuth) {
  const Chain request = testing::IkeAuthRequestInner();
  const Chain none;
  EXPECT_EQ(Check(kAuth, false, none, &request), CodecError::kNone);
  // Childless (RFC 6023): no SA, TSi, TSr.
  const Chain childless = {Id(PayloadType::kIdi), Auth()};
  EXPECT_EQ(Check(kAuth, false, none, &childless), CodecError::kNone);
  const Chain no_auth = {Id(PayloadType::kIdi), Sa(), Ts(PayloadType::kTsi), Ts(PayloadType::kTsr)};
  EXPECT_EQ(Check(kAuth, false, none, &no_auth), CodecError::kMissingPayload);
  const Chain half_ts = {Id(PayloadType::kIdi), Auth(), Sa(), Ts(PayloadType::kTsi)};
  EXPECT_EQ(Check(kAuth, false, none, &half_ts), CodecError::kMissingPayload);
  const Chain sa_no_ts = {Id(PayloadType::kIdi), Auth(), Sa()};
  EXPECT_EQ(Check(kAuth, false, none, &sa_no_ts), CodecError::kMissingPayload);
  // Not protected, or partly outside SK.
  EXPECT_EQ(Check(kAuth, false, request, nullptr), CodecError::kNotEncrypted);
  EXPECT_EQ(Check(kAuth, false, {V()}, &request), CodecError::kNotEncrypted);
  // HDR, SK {IDr, AUTH, SAr2, TSi, TSr}
  const Chain response = {Id(PayloadType::kIdr), Auth(), Sa(), Ts(PayloadType::kTsi),
                          Ts(PayloadType::kTsr)};
  EXPECT_EQ(Check(kAuth, true, none, &response), CodecError::kNone);
  const Chain idi_in_response = {Id(PayloadType::kIdi), Id(PayloadType::kIdr), Auth()};
  EXPECT_EQ(Check(kAuth, true, none, &idi_in_response), CodecError::kPayloadNotAllowed);
  // HDR, SK {N(AUTHENTICATION_FAILED)}; HDR, SK {IDr, AUTH, N(TS_UNACCEPTABLE)}
  const Chain failed = {N(NotifyType::kAuthenticationFailed)};
  EXPECT_EQ(Check(kAuth, true, none, &failed), CodecError::kNone);
  const Chain no_child = {Id(PayloadType::kIdr), Auth(), N(NotifyType::kTsUnacceptable)};
  EXPECT_EQ(Check(kAuth, true, none, &no_child), CodecError::kNone);
  const Chain status_only = {N(NotifyType::kInitialContact)};
  EXPECT_EQ(Check(kAuth, true, none, &status_only), CodecError::kMissingPayload);
}

TEST(PayloadRulesTest, CreateChildSa) {
  const Chain none;
  // HDR, SK {N(REKEY_SA), SA, Ni, KEi, TSi, TSr}
  const Chain rekey = {N(NotifyType::kRekeySa), Sa(), Nonce(), Ke(), Ts(PayloadType::kTsi),
                       Ts(PayloadType::kTsr)};
  EXPECT_EQ(Check(kChild, false, none, &rekey), CodecError::kNone);
  // IKE SA rekey: HDR, SK {SA, Ni, KEi}
  const Chain ike_rekey = {Sa(), Nonce(), Ke()};
  EXPECT_EQ(Check(kChild, false, none, &ike_rekey), CodecError::kNone);
  const Chain no_nonce = {Sa(), Ke()};
  EXPECT_EQ(Check(kChild, false, none, &no_nonce), CodecError::kMissingPayload);
  const Chain with_auth = {Sa(), Nonce(), Auth()};
  EXPECT_EQ(Check(kChild, false, none, &with_auth), CodecError::kPayloadNotAllowed);
  const Chain two_ke = {Sa(), Nonce(), Ke(), Ke()};
  EXPECT_EQ(Check(kChild, true, none, &two_ke), CodecError::kTooManyPayloads);
  for (NotifyType t : {NotifyType::kNoProposalChosen, NotifyType::kInvalidKePayload,
                       NotifyType::kTemporaryFailure, NotifyType::kChildSaNotFound}) {
    const Chain error = {N(t)};
    EXPECT_EQ(Check(kChild, true, none, &error), CodecError::kNone);
    EXPECT_EQ(Check(kChild, false, none, &error), CodecError::kMissingPayload);
  }
  const Chain two_proposals = {Sa(2), Nonce()};
  EXPECT_EQ(Check(kChild, false, none, &two_proposals), CodecError::kNone);
  EXPECT_EQ(Check(kChild, true, none, &two_proposals), CodecError::kInvalidSyntax);
}

TEST(PayloadRulesTest, Informational) {
  const Chain none;
  const Chain liveness;  // HDR, SK {}
  EXPECT_EQ(Check(kInfo, false, none, &liveness), CodecError::kNone);
  EXPECT_EQ(Check(kInfo, true, none, &liveness), CodecError::kNone);
  const Chain deletes = {D(), D(), N(NotifyType::kInvalidSpi), V()};
  EXPECT_EQ(Check(kInfo, false, none, &deletes), CodecError::kNone);
  const Chain with_sa = {Sa()};
  EXPECT_EQ(Check(kInfo, false, none, &with_sa), CodecError::kPayloadNotAllowed);
  // §1.5: outside an IKE SA, unprotected, notifications only.
  EXPECT_EQ(Check(kInfo, false, {N(NotifyType::kInvalidIkeSpi)}, nullptr), CodecError::kNone);
  EXPECT_EQ(Check(kInfo, true, {N(NotifyType::kInvalidSyntax)}, nullptr), CodecError::kNone);
  EXPECT_EQ(Check(kInfo, false, {D()}, nullptr), CodecError::kPayloadNotAllowed);
  EXPECT_EQ(Check(kInfo, false, none, nullptr), CodecError::kMissingPayload);
}

TEST(PayloadRulesTest, UnknownPayloadsAndExchanges) {
  const Chain none;
  PayloadEntry unknown{static_cast<PayloadType>(200), false, OpaquePayload{{1}}};
  Chain skipped = {unknown};
  EXPECT_EQ(Check(kInfo, false, none, &skipped), CodecError::kNone);
  skipped[0].critical = true;
  Status s = CheckPayloadRules(kInfo, false, none, &skipped);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(CodecErrorOf(s.error()), CodecError::kUnsupportedCritical);
  EXPECT_EQ(s.error().path, "/sk/payloads/0(unknown)");
  EXPECT_EQ(Check(kInit, false, {Sa(), Ke(), Nonce(), skipped[0]}, nullptr),
            CodecError::kUnsupportedCritical);
  // EAP is known (§3.16), so its critical bit is ignored; we do not allow it anywhere.
  const Chain eap = {PayloadEntry{PayloadType::kEap, true, OpaquePayload{{1}}}};
  EXPECT_EQ(Check(kAuth, false, none, &eap), CodecError::kPayloadNotAllowed);
  EXPECT_EQ(Check(static_cast<ExchangeType>(99), false, none, nullptr), CodecError::kInvalidSyntax);
  EXPECT_EQ(FindMessageRules(static_cast<ExchangeType>(33), false, false), nullptr);
  ASSERT_NE(FindMessageRules(kInfo, false, false), nullptr);
  EXPECT_FALSE(FindMessageRules(kInfo, false, false)->requires_sk);
  EXPECT_TRUE(FindMessageRules(kInfo, false, true)->requires_sk);
}

TEST(PayloadRulesTest, MessageOverload) {
  Message m = testing::IkeSaInitRequest();
  EXPECT_TRUE(CheckPayloadRules(m, nullptr).ok());
  m.header.flags = kFlagResponse;  // a response with the initiator's set is still well formed
  EXPECT_TRUE(CheckPayloadRules(m, nullptr).ok());
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
