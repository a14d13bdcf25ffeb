#include "engine/ike/codec/payload_rules.h"

#include <array>
#include <string>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {
namespace {

using T = PayloadType;
constexpr uint8_t kMax = kUnlimited;

// §1.2: HDR, SAi1, KEi, Ni  — plus N(COOKIE) first on a retry (§2.6), N(NAT_DETECTION_*)
// (§2.23), N(IKEV2_FRAGMENTATION_SUPPORTED) (RFC 7383), V.
constexpr PayloadRule kIkeSaInitRequest[] = {
    {T::kSa, 1, 1, false},        {T::kKe, 1, 1, false},          {T::kNonce, 1, 1, false},
    {T::kNotify, 0, kMax, false}, {T::kVendorId, 0, kMax, false},
};
// §1.2: HDR, SAr1, KEr, Nr, [CERTREQ]  — or HDR, N(COOKIE | INVALID_KE_PAYLOAD | error).
constexpr PayloadRule kIkeSaInitResponse[] = {
    {T::kSa, 1, 1, false},         {T::kKe, 1, 1, false},        {T::kNonce, 1, 1, false},
    {T::kCertReq, 0, kMax, false}, {T::kNotify, 0, kMax, false}, {T::kVendorId, 0, kMax, false},
};
// §1.2: HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr}  (+ N, CP, V; SA and TS
// are absent for an IKE SA without child, RFC 6023).
constexpr PayloadRule kIkeAuthRequest[] = {
    {T::kIdi, 1, 1, true}, {T::kCert, 0, kMax, true},     {T::kCertReq, 0, kMax, true},
    {T::kIdr, 0, 1, true}, {T::kAuth, 1, 1, true},        {T::kSa, 0, 1, true},
    {T::kTsi, 0, 1, true}, {T::kTsr, 0, 1, true},         {T::kNotify, 0, kMax, true},
    {T::kCp, 0, 1, true},  {T::kVendorId, 0, kMax, true},
};
// §1.2: HDR, SK {IDr, [CERT,] AUTH, SAr2, TSi, TSr}  — or SK {N(error)}.
constexpr PayloadRule kIkeAuthResponse[] = {
    {T::kIdr, 1, 1, true},       {T::kCert, 0, kMax, true}, {T::kAuth, 1, 1, true},
    {T::kSa, 0, 1, true},        {T::kTsi, 0, 1, true},     {T::kTsr, 0, 1, true},
    {T::kNotify, 0, kMax, true}, {T::kCp, 0, 1, true},      {T::kVendorId, 0, kMax, true},
};
// §1.3: HDR, SK {[N(REKEY_SA)], [N+], SA, Ni, [KEi], [TSi, TSr]}; and the response
// HDR, SK {SA, Nr, [KEr], [TSi, TSr]} — or SK {N(error)}.
constexpr PayloadRule kCreateChildSa[] = {
    {T::kSa, 1, 1, true},          {T::kNonce, 1, 1, true}, {T::kKe, 0, 1, true},
    {T::kTsi, 0, 1, true},         {T::kTsr, 0, 1, true},   {T::kNotify, 0, kMax, true},
    {T::kVendorId, 0, kMax, true},
};
// §1.4: HDR, SK {[N,] [D,] [CP,] ...}  (an empty SK is a liveness check, §2.4).
constexpr PayloadRule kInformational[] = {
    {T::kNotify, 0, kMax, true},
    {T::kDelete, 0, kMax, true},
    {T::kCp, 0, 1, true},
    {T::kVendorId, 0, kMax, true},
};
// §1.5: Informational messages outside an IKE SA: HDR, N (INVALID_IKE_SPI, ...), unprotected.
constexpr PayloadRule kUnprotectedInformational[] = {
    {T::kNotify, 1, kMax, false},
};

constexpr std::array<MessageRules, 10> kTables = {{
    {ExchangeType::kIkeSaInit, false, false, kIkeSaInitRequest},
    {ExchangeType::kIkeSaInit, true, false, kIkeSaInitResponse},
    {ExchangeType::kIkeAuth, false, true, kIkeAuthRequest},
    {ExchangeType::kIkeAuth, true, true, kIkeAuthResponse},
    {ExchangeType::kCreateChildSa, false, true, kCreateChildSa},
    {ExchangeType::kCreateChildSa, true, true, kCreateChildSa},
    {ExchangeType::kInformational, false, true, kInformational},
    {ExchangeType::kInformational, true, true, kInformational},
    {ExchangeType::kInformational, false, false, kUnprotectedInformational},
    {ExchangeType::kInformational, true, false, kUnprotectedInformational},
}};

std::string EntryPath(bool inner, size_t index, PayloadType type) {
  return std::string(inner ? "/sk" : "") + "/payloads/" + std::to_string(index) + "(" +
         PayloadTypeName(type) + ")";
}

const PayloadRule* FindRule(const MessageRules& table, PayloadType type) {
  for (const PayloadRule& rule : table.rules) {
    if (rule.type == type) return &rule;
  }
  return nullptr;
}

// Counts one chain's payloads into `counts` (indexed by payload type), checking each is allowed
// and placed right.
Status CountChain(const MessageRules& table, const std::vector<PayloadEntry>& chain, bool inner,
                  std::array<size_t, 256>& counts) {
  for (size_t i = 0; i < chain.size(); ++i) {
    const PayloadEntry& e = chain[i];
    if (!IsKnownPayloadType(e.type)) {
      if (!e.critical) continue;
      return MakeCodecError(CodecError::kUnsupportedCritical,
                            "payload type " + std::to_string(static_cast<int>(e.type)),
                            EntryPath(inner, i, e.type));
    }
    const PayloadRule* rule = FindRule(table, e.type);
    if (rule == nullptr) {
      return MakeCodecError(CodecError::kPayloadNotAllowed, "", EntryPath(inner, i, e.type));
    }
    if (rule->encrypted && !inner) {
      return MakeCodecError(CodecError::kNotEncrypted, "", EntryPath(inner, i, e.type));
    }
    ++counts[static_cast<uint8_t>(e.type)];
  }
  return Status::Ok();
}

bool MayOmitRequired(const MessageRules& table, const std::vector<PayloadEntry>& plaintext,
                     const std::vector<PayloadEntry>* encrypted) {
  if (!table.response) return false;
  const std::vector<PayloadEntry>& all = encrypted != nullptr ? *encrypted : plaintext;
  if (FindErrorNotify(all) != nullptr || FindErrorNotify(plaintext) != nullptr) return true;
  return table.exchange == ExchangeType::kIkeSaInit &&
         FindNotify(plaintext, NotifyType::kCookie) != nullptr;
}

Status CheckCounts(const MessageRules& table, const std::array<size_t, 256>& counts,
                   bool may_omit) {
  for (const PayloadRule& rule : table.rules) {
    const size_t n = counts[static_cast<uint8_t>(rule.type)];
    const std::string path = std::string("/") + PayloadTypeName(rule.type);
    if (rule.max != kUnlimited && n > rule.max) {
      return MakeCodecError(CodecError::kTooManyPayloads, std::to_string(n), path);
    }
    if (n < rule.min && !may_omit) return MakeCodecError(CodecError::kMissingPayload, "", path);
  }
  return Status::Ok();
}

// §3.3.1, §1.2: cross-payload rules the count table cannot express.
Status CheckCombinations(const MessageRules& table, const std::vector<PayloadEntry>& chain,
                         const std::array<size_t, 256>& counts) {
  if (counts[static_cast<uint8_t>(T::kTsi)] != counts[static_cast<uint8_t>(T::kTsr)]) {
    return MakeCodecError(CodecError::kMissingPayload, "TSi and TSr come together", "/TSi");
  }
  if (table.exchange == ExchangeType::kIkeAuth &&
      counts[static_cast<uint8_t>(T::kSa)] != counts[static_cast<uint8_t>(T::kTsi)]) {
    return MakeCodecError(CodecError::kMissingPayload, "SA, TSi and TSr come together", "/SA");
  }
  if (!table.response) return Status::Ok();
  for (const PayloadEntry& e : chain) {
    const SaPayload* sa = std::get_if<SaPayload>(&e.payload);
    if (e.type == T::kSa && sa != nullptr && sa->proposals.size() != 1) {
      return MakeCodecError(CodecError::kInvalidSyntax, "a response's SA holds one proposal",
                            "/SA");
    }
  }
  return Status::Ok();
}

}  // namespace

const MessageRules* FindMessageRules(ExchangeType exchange, bool is_response, bool has_sk) {
  for (const MessageRules& table : kTables) {
    if (table.exchange != exchange || table.response != is_response) continue;
    if (exchange == ExchangeType::kInformational && table.requires_sk != has_sk) continue;
    return &table;
  }
  return nullptr;
}

Status CheckPayloadRules(ExchangeType exchange, bool is_response,
                         const std::vector<PayloadEntry>& plaintext,
                         const std::vector<PayloadEntry>* encrypted) {
  const MessageRules* table = FindMessageRules(exchange, is_response, encrypted != nullptr);
  if (table == nullptr) {
    return MakeCodecError(CodecError::kInvalidSyntax,
                          "exchange type " + std::to_string(static_cast<int>(exchange)), "/header");
  }
  if (table->requires_sk != (encrypted != nullptr)) {
    return table->requires_sk ? MakeCodecError(CodecError::kNotEncrypted, "no SK payload", "/SK")
                              : MakeCodecError(CodecError::kPayloadNotAllowed, "", "/SK");
  }
  std::array<size_t, 256> counts{};
  Status s = CountChain(*table, plaintext, false, counts);
  if (s.ok() && encrypted != nullptr) s = CountChain(*table, *encrypted, true, counts);
  if (s.ok()) s = CheckCounts(*table, counts, MayOmitRequired(*table, plaintext, encrypted));
  if (s.ok()) s = CheckCombinations(*table, encrypted != nullptr ? *encrypted : plaintext, counts);
  return s;
}

Status CheckPayloadRules(const Message& message, const std::vector<PayloadEntry>* encrypted) {
  return CheckPayloadRules(message.header.exchange_type, message.header.is_response(),
                           message.payloads, encrypted);
}

}  // namespace ipsec::engine::ike::codec
