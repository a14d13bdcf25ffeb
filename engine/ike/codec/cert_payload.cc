#include "engine/ike/codec/cert_payload.h"

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {

Result<CertPayload> DecodeCertPayload(ByteSpan body) {
  ByteReader r(body);
  uint8_t encoding = 0;
  if (!r.ReadUint8(&encoding)) return MakeCodecError(CodecError::kTruncated, "CERT header");
  ByteSpan data = r.ReadRemaining();
  if (data.empty()) return MakeCodecError(CodecError::kInvalidSyntax, "empty Certificate Data");
  return CertPayload{static_cast<CertEncoding>(encoding), Bytes(data.begin(), data.end())};
}

void EncodeCertPayload(const CertPayload& cert, ByteWriter& out) {
  out.WriteUint8(static_cast<uint8_t>(cert.encoding));
  out.WriteBytes(cert.data);
}

Result<CertReqPayload> DecodeCertReqPayload(ByteSpan body) {
  ByteReader r(body);
  uint8_t encoding = 0;
  if (!r.ReadUint8(&encoding)) return MakeCodecError(CodecError::kTruncated, "CERTREQ header");
  ByteSpan data = r.ReadRemaining();
  CertReqPayload req{static_cast<CertEncoding>(encoding), Bytes(data.begin(), data.end())};
  if (req.encoding == CertEncoding::kX509Signature && data.size() % kCaHashSize != 0) {
    return MakeCodecError(CodecError::kInvalidSyntax, "CA hashes not a multiple of 20 octets");
  }
  return req;
}

void EncodeCertReqPayload(const CertReqPayload& req, ByteWriter& out) {
  out.WriteUint8(static_cast<uint8_t>(req.encoding));
  out.WriteBytes(req.authorities);
}

}  // namespace ipsec::engine::ike::codec
