#pragma once

// Sample IKEv2 messages built from RFC 7296 §1.2 notation, shared by the codec tests.

#include <ostream>
#include <string_view>
#include <vector>

#include "engine/common/byte_io.h"
#include "engine/common/bytes.h"
#include "engine/common/ip_address.h"
#include "engine/common/random.h"
#include "engine/common/secret_bytes.h"
#include "engine/ike/codec/codec_error.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/payload.h"

namespace ipsec::engine::ike::codec::testing {

inline Bytes Filled(size_t n, uint8_t value) { return Bytes(n, value); }

inline Bytes Hex(std::string_view hex) { return FromHex(hex).value(); }

inline PayloadEntry Entry(PayloadType type, Payload payload) {
  return PayloadEntry{type, false, std::move(payload)};
}

// IKE SA proposal: ENCR_AES_GCM_16-256, PRF_HMAC_SHA2_256, Curve25519.
inline Proposal GcmIkeProposal(uint8_t number = 1) {
  Proposal p;
  p.number = number;
  p.protocol = ProtocolId::kIke;
  p.transforms = {
      {TransformType::kEncr, static_cast<uint16_t>(EncrId::kAesGcm16), 256, {}},
      {TransformType::kPrf, static_cast<uint16_t>(PrfId::kHmacSha2_256), std::nullopt, {}},
      {TransformType::kDh, static_cast<uint16_t>(DhGroup::kCurve25519), std::nullopt, {}},
  };
  return p;
}

// ESP proposal: AES-CBC-128, HMAC-SHA2-256-128, no ESN, SPI 0x0a0b0c0d.
inline Proposal CbcEspProposal(uint8_t number = 1) {
  Proposal p;
  p.number = number;
  p.protocol = ProtocolId::kEsp;
  p.spi = {0x0a, 0x0b, 0x0c, 0x0d};
  p.transforms = {
      {TransformType::kEncr, static_cast<uint16_t>(EncrId::kAesCbc), 128, {}},
      {TransformType::kInteg, static_cast<uint16_t>(IntegId::kHmacSha2_256_128), std::nullopt, {}},
      {TransformType::kEsn, static_cast<uint16_t>(EsnId::kNoEsn), std::nullopt, {}},
  };
  return p;
}

// HDR(SPIi=0102030405060708, 0), SAi1, KEi, Ni, N(NAT_DETECTION_SOURCE_IP),
// N(NAT_DETECTION_DESTINATION_IP), N(IKEV2_FRAGMENTATION_SUPPORTED)
inline Message IkeSaInitRequest() {
  Message m;
  m.header.initiator_spi = 0x0102030405060708ull;
  m.header.exchange_type = ExchangeType::kIkeSaInit;
  m.header.flags = kFlagInitiator;
  m.payloads = {
      Entry(PayloadType::kSa, SaPayload{{GcmIkeProposal()}}),
      Entry(PayloadType::kKe, KePayload{DhGroup::kCurve25519, Filled(32, 0x11)}),
      Entry(PayloadType::kNonce, NoncePayload{Filled(32, 0x22)}),
      Entry(PayloadType::kNotify, MakeNotify(NotifyType::kNatDetectionSourceIp, Filled(20, 0x33))),
      Entry(PayloadType::kNotify,
            MakeNotify(NotifyType::kNatDetectionDestinationIp, Filled(20, 0x44))),
      Entry(PayloadType::kNotify, MakeNotify(NotifyType::kIkev2FragmentationSupported)),
  };
  return m;
}

inline TsPayload AnyTs4() {
  return TsPayload{{TrafficSelector::FromRange(IpRange::Full(IpFamily::kV4))}};
}

// SK {IDi, CERTREQ, AUTH, N(INITIAL_CONTACT), SAi2, TSi, TSr}
inline std::vector<PayloadEntry> IkeAuthRequestInner() {
  return {
      Entry(PayloadType::kIdi, IdPayload{IdType::kFqdn, Bytes{'a', '.', 'e', 'x'}}),
      Entry(PayloadType::kCertReq, CertReqPayload{CertEncoding::kX509Signature, Filled(20, 0x55)}),
      Entry(PayloadType::kAuth, AuthPayload{AuthMethod::kSharedKeyMic, Filled(32, 0x66)}),
      Entry(PayloadType::kNotify, MakeNotify(NotifyType::kInitialContact)),
      Entry(PayloadType::kSa, SaPayload{{CbcEspProposal()}}),
      Entry(PayloadType::kTsi, AnyTs4()),
      Entry(PayloadType::kTsr, AnyTs4()),
  };
}

}  // namespace ipsec::engine::ike::codec::testing

namespace ipsec::engine::ike::codec {
// For readable GoogleTest failures.
inline void PrintTo(CodecError kind, std::ostream* os) { *os << CodecErrorName(kind); }
}  // namespace ipsec::engine::ike::codec

namespace ipsec::engine::ike::codec::testing {

// Deterministic Random for tests: a counter, so IVs differ between calls but runs repeat.
class CountingRandom final : public Random {
 public:
  void Fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(next_++);
  }

 private:
  uint32_t next_ = 1;
};

inline SecretBytes Secret(const Bytes& b) {
  return SecretBytes(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

// Encodes `value` with `encode` and returns the bytes.
template <typename T, typename Encode>
Bytes EncodeWith(const T& value, Encode encode) {
  Bytes out;
  ByteWriter w(out);
  encode(value, w);
  return out;
}

}  // namespace ipsec::engine::ike::codec::testing
