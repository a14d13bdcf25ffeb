#pragma once

// IKEv2 wire constants and limits, in one place (../shared/STYLE.md rule 2). Numbers are the
// IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registry values; each group cites
// the RFC section that defines it. Enums are open: a value off these lists is still
// representable (and is what a peer may send), so decoders keep the raw number.

#include <cstddef>
#include <cstdint>

namespace ipsec::engine::ike::codec {

// RFC 7296 §3.1: Exchange Type.
enum class ExchangeType : uint8_t {
  kIkeSaInit = 34,
  kIkeAuth = 35,
  kCreateChildSa = 36,
  kInformational = 37,
};

// RFC 7296 §3.1: Flags (bits of the octet, most significant first: X X R V I X X X).
inline constexpr uint8_t kFlagInitiator = 0x08;  // I: sent by the original initiator
inline constexpr uint8_t kFlagVersion = 0x10;    // V: sender can speak a higher major version
inline constexpr uint8_t kFlagResponse = 0x20;   // R: this message is a response

inline constexpr uint8_t kIkeMajorVersion = 2;
inline constexpr uint8_t kIkeMinorVersion = 0;

// RFC 7296 §3.2: Next Payload / payload type values; RFC 7383 §2.5 adds SKF.
enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 33,
  kKe = 34,
  kIdi = 35,
  kIdr = 36,
  kCert = 37,
  kCertReq = 38,
  kAuth = 39,
  kNonce = 40,
  kNotify = 41,
  kDelete = 42,
  kVendorId = 43,
  kTsi = 44,
  kTsr = 45,
  kSk = 46,
  kCp = 47,
  kEap = 48,
  kSkf = 53,  // RFC 7383 §2.5: Encrypted and Authenticated Fragment
};

// RFC 7296 §3.2: critical bit in the second octet of the generic payload header.
inline constexpr uint8_t kPayloadCriticalBit = 0x80;

// RFC 7296 §3.3.1: Protocol ID (also used by Notify §3.10 and Delete §3.11).
enum class ProtocolId : uint8_t {
  kNone = 0,  // Notify about no particular SA
  kIke = 1,
  kAh = 2,
  kEsp = 3,
};

// RFC 7296 §3.3.1: Last Substruc of a Proposal, §3.3.2: of a Transform.
inline constexpr uint8_t kLastSubstruc = 0;
inline constexpr uint8_t kMoreProposals = 2;
inline constexpr uint8_t kMoreTransforms = 3;

// RFC 7296 §3.3.2: Transform Type.
enum class TransformType : uint8_t {
  kEncr = 1,
  kPrf = 2,
  kInteg = 3,
  kDh = 4,  // "Key Exchange Method" since RFC 9370
  kEsn = 5,
};

// RFC 7296 §3.3.2 + IANA: Transform IDs for Transform Type 1.
enum class EncrId : uint16_t {
  kDes = 2,
  k3Des = 3,
  kNull = 11,
  kAesCbc = 12,            // needs the Key Length attribute (128, 192, 256)
  kAesGcm16 = 20,          // RFC 5282; needs Key Length
  kChaCha20Poly1305 = 28,  // RFC 7634; no Key Length
};

// Transform Type 2.
enum class PrfId : uint16_t {
  kHmacMd5 = 1,
  kHmacSha1 = 2,
  kHmacSha2_256 = 5,  // RFC 4868
  kHmacSha2_384 = 6,
  kHmacSha2_512 = 7,
};

// Transform Type 3.
enum class IntegId : uint16_t {
  kNone = 0,
  kHmacMd5_96 = 1,
  kHmacSha1_96 = 2,
  kHmacSha2_256_128 = 12,  // RFC 4868
  kHmacSha2_384_192 = 13,
  kHmacSha2_512_256 = 14,
};

// Transform Type 4: Diffie-Hellman groups.
enum class DhGroup : uint16_t {
  kNone = 0,
  kModp1024 = 2,
  kModp2048 = 14,  // RFC 3526
  kModp3072 = 15,
  kEcp256 = 19,  // RFC 5903
  kEcp384 = 20,
  kEcp521 = 21,
  kCurve25519 = 31,  // RFC 8031
};

// Transform Type 5: Extended Sequence Numbers.
enum class EsnId : uint16_t {
  kNoEsn = 0,
  kEsn = 1,
};

// RFC 7296 §3.3.5: Attribute Type (AF bit stripped). Only Key Length is defined; it is TV.
inline constexpr uint16_t kAttributeKeyLength = 14;
inline constexpr uint16_t kAttributeFormatTv = 0x8000;  // AF bit: value in the header

// RFC 7296 §3.5: ID Type.
enum class IdType : uint8_t {
  kIpv4Addr = 1,
  kFqdn = 2,
  kRfc822Addr = 3,
  kIpv6Addr = 5,
  kDerAsn1Dn = 9,
  kDerAsn1Gn = 10,
  kKeyId = 11,
};

// RFC 7296 §3.6: Certificate Encoding (also CERTREQ §3.7).
enum class CertEncoding : uint8_t {
  kPkcs7 = 1,
  kPgp = 2,
  kDnsSignedKey = 3,
  kX509Signature = 4,
  kKerberos = 6,
  kCrl = 7,
  kArl = 8,
  kSpki = 9,
  kX509Attribute = 10,
  kRawRsaKey = 11,
  kHashAndUrlX509Cert = 12,
  kHashAndUrlX509Bundle = 13,
};

// RFC 7296 §3.8: Auth Method; RFC 4754 §7 (ECDSA); RFC 7427 §3 (digital signature).
enum class AuthMethod : uint8_t {
  kRsaSignature = 1,
  kSharedKeyMic = 2,
  kDssSignature = 3,
  kEcdsaSha256P256 = 9,
  kEcdsaSha384P384 = 10,
  kEcdsaSha512P521 = 11,
  kDigitalSignature = 14,
};

// RFC 7296 §3.10.1: Notify Message Type. Below 16384: errors; from 16384: status.
enum class NotifyType : uint16_t {
  kUnsupportedCriticalPayload = 1,
  kInvalidIkeSpi = 4,
  kInvalidMajorVersion = 5,
  kInvalidSyntax = 7,
  kInvalidMessageId = 9,
  kInvalidSpi = 11,
  kNoProposalChosen = 14,
  kInvalidKePayload = 17,
  kAuthenticationFailed = 24,
  kSinglePairRequired = 34,
  kNoAdditionalSas = 35,
  kInternalAddressFailure = 36,
  kFailedCpRequired = 37,
  kTsUnacceptable = 38,
  kInvalidSelectors = 39,
  kTemporaryFailure = 43,
  kChildSaNotFound = 44,

  kInitialContact = 16384,
  kSetWindowSize = 16385,
  kAdditionalTsPossible = 16386,
  kIpcompSupported = 16387,
  kNatDetectionSourceIp = 16388,
  kNatDetectionDestinationIp = 16389,
  kCookie = 16390,
  kUseTransportMode = 16391,
  kHttpCertLookupSupported = 16392,
  kRekeySa = 16393,
  kEspTfcPaddingNotSupported = 16394,
  kNonFirstFragmentsAlso = 16395,
  kMobikeSupported = 16396,
  kIkev2FragmentationSupported = 16430,  // RFC 7383 §2.3
  kSignatureHashAlgorithms = 16431,      // RFC 7427 §4
};

inline constexpr uint16_t kFirstStatusNotify = 16384;
inline bool IsErrorNotify(NotifyType t) {
  return static_cast<uint16_t>(t) != 0 && static_cast<uint16_t>(t) < kFirstStatusNotify;
}

// RFC 7296 §3.13.1: TS Type.
enum class TsType : uint8_t {
  kIpv4AddrRange = 7,
  kIpv6AddrRange = 8,
};

// RFC 7296 §3.15: CFG Type.
enum class CfgType : uint8_t {
  kRequest = 1,
  kReply = 2,
  kSet = 3,
  kAck = 4,
};

// Sizes fixed by the RFCs.
inline constexpr size_t kHeaderSize = 28;               // §3.1
inline constexpr size_t kGenericPayloadHeaderSize = 4;  // §3.2
inline constexpr size_t kSkfHeaderSize = 8;             // RFC 7383 §2.5: + Fragment Number/Total
inline constexpr size_t kMinNonceSize = 16;             // §3.9
inline constexpr size_t kMaxNonceSize = 256;            // §3.9
inline constexpr size_t kIkeSpiSize = 8;                // §3.3.1
inline constexpr size_t kChildSpiSize = 4;              // §3.3.1 (ESP, AH)
inline constexpr size_t kTs4Size = 16;                  // §3.13.1
inline constexpr size_t kTs6Size = 40;                  // §3.13.1

// Our limits on what we accept (messages beyond them are dropped as malformed).
inline constexpr size_t kMaxMessageSize = 65535;     // a UDP datagram's payload at most
inline constexpr size_t kMaxPayloadsPerChain = 256;  // per plaintext or inner chain
inline constexpr size_t kMaxProposals = 64;          // per SA payload
inline constexpr size_t kMaxTransformsPerProposal = 128;
inline constexpr size_t kMaxTrafficSelectors = 64;    // per TS payload
inline constexpr size_t kMaxAttributes = 64;          // per transform or CP payload
inline constexpr uint16_t kMaxFragments = 128;        // RFC 7383: per message
inline constexpr size_t kMaxReassembledSize = 65535;  // RFC 7383: inner bytes per message

}  // namespace ipsec::engine::ike::codec
