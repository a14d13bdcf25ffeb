#include "engine/ike/codec/payload.h"

#include <cassert>
#include <string>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {
namespace {

template <typename T>
Result<Payload> Wrap(Result<T> decoded) {
  if (!decoded.ok()) return decoded.error();
  return Payload(std::move(decoded).value());
}

Result<Payload> DecodeBody(PayloadType type, ByteSpan body) {
  switch (type) {
    case PayloadType::kSa:
      return Wrap(DecodeSaPayload(body));
    case PayloadType::kKe:
      return Wrap(DecodeKePayload(body));
    case PayloadType::kIdi:
    case PayloadType::kIdr:
      return Wrap(DecodeIdPayload(body));
    case PayloadType::kCert:
      return Wrap(DecodeCertPayload(body));
    case PayloadType::kCertReq:
      return Wrap(DecodeCertReqPayload(body));
    case PayloadType::kAuth:
      return Wrap(DecodeAuthPayload(body));
    case PayloadType::kNonce:
      return Wrap(DecodeNoncePayload(body));
    case PayloadType::kNotify:
      return Wrap(DecodeNotifyPayload(body));
    case PayloadType::kDelete:
      return Wrap(DecodeDeletePayload(body));
    case PayloadType::kVendorId:
      return Wrap(DecodeVendorIdPayload(body));
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      return Wrap(DecodeTsPayload(body));
    case PayloadType::kCp:
      return Wrap(DecodeCpPayload(body));
    default:
      return Payload(OpaquePayload{Bytes(body.begin(), body.end())});
  }
}

// Whether `entry` holds the alternative its type calls for.
[[maybe_unused]] bool Consistent(const PayloadEntry& entry) {
  const Payload& p = entry.payload;
  switch (entry.type) {
    case PayloadType::kSa:
      return std::holds_alternative<SaPayload>(p);
    case PayloadType::kKe:
      return std::holds_alternative<KePayload>(p);
    case PayloadType::kIdi:
    case PayloadType::kIdr:
      return std::holds_alternative<IdPayload>(p);
    case PayloadType::kCert:
      return std::holds_alternative<CertPayload>(p);
    case PayloadType::kCertReq:
      return std::holds_alternative<CertReqPayload>(p);
    case PayloadType::kAuth:
      return std::holds_alternative<AuthPayload>(p);
    case PayloadType::kNonce:
      return std::holds_alternative<NoncePayload>(p);
    case PayloadType::kNotify:
      return std::holds_alternative<NotifyPayload>(p);
    case PayloadType::kDelete:
      return std::holds_alternative<DeletePayload>(p);
    case PayloadType::kVendorId:
      return std::holds_alternative<VendorIdPayload>(p);
    case PayloadType::kTsi:
    case PayloadType::kTsr:
      return std::holds_alternative<TsPayload>(p);
    case PayloadType::kCp:
      return std::holds_alternative<CpPayload>(p);
    case PayloadType::kNone:
    case PayloadType::kSk:
    case PayloadType::kSkf:
      return false;
    default:
      return std::holds_alternative<OpaquePayload>(p);
  }
}

void EncodeBody(const Payload& payload, ByteWriter& out) {
  struct Visitor {
    ByteWriter& out;
    void operator()(const SaPayload& p) { EncodeSaPayload(p, out); }
    void operator()(const KePayload& p) { EncodeKePayload(p, out); }
    void operator()(const IdPayload& p) { EncodeIdPayload(p, out); }
    void operator()(const CertPayload& p) { EncodeCertPayload(p, out); }
    void operator()(const CertReqPayload& p) { EncodeCertReqPayload(p, out); }
    void operator()(const AuthPayload& p) { EncodeAuthPayload(p, out); }
    void operator()(const NoncePayload& p) { EncodeNoncePayload(p, out); }
    void operator()(const NotifyPayload& p) { EncodeNotifyPayload(p, out); }
    void operator()(const DeletePayload& p) { EncodeDeletePayload(p, out); }
    void operator()(const VendorIdPayload& p) { EncodeVendorIdPayload(p, out); }
    void operator()(const TsPayload& p) { EncodeTsPayload(p, out); }
    void operator()(const CpPayload& p) { EncodeCpPayload(p, out); }
    void operator()(const OpaquePayload& p) { out.WriteBytes(p.data); }
  };
  std::visit(Visitor{out}, payload);
}

std::string PayloadPath(size_t index, PayloadType type) {
  std::string name = IsKnownPayloadType(type) ? PayloadTypeName(type)
                                              : "type " + std::to_string(static_cast<int>(type));
  return "/payloads/" + std::to_string(index) + "(" + name + ")";
}

}  // namespace

const char* PayloadTypeName(PayloadType type) {
  switch (type) {
    case PayloadType::kNone:
      return "none";
    case PayloadType::kSa:
      return "SA";
    case PayloadType::kKe:
      return "KE";
    case PayloadType::kIdi:
      return "IDi";
    case PayloadType::kIdr:
      return "IDr";
    case PayloadType::kCert:
      return "CERT";
    case PayloadType::kCertReq:
      return "CERTREQ";
    case PayloadType::kAuth:
      return "AUTH";
    case PayloadType::kNonce:
      return "Nonce";
    case PayloadType::kNotify:
      return "N";
    case PayloadType::kDelete:
      return "D";
    case PayloadType::kVendorId:
      return "V";
    case PayloadType::kTsi:
      return "TSi";
    case PayloadType::kTsr:
      return "TSr";
    case PayloadType::kSk:
      return "SK";
    case PayloadType::kCp:
      return "CP";
    case PayloadType::kEap:
      return "EAP";
    case PayloadType::kSkf:
      return "SKF";
  }
  return "unknown";
}

bool IsKnownPayloadType(PayloadType type) {
  const int t = static_cast<int>(type);
  return (t >= static_cast<int>(PayloadType::kSa) && t <= static_cast<int>(PayloadType::kEap)) ||
         type == PayloadType::kSkf;
}

namespace internal {

Status DecodeChain(PayloadType first, ByteSpan data, size_t base_offset,
                   std::vector<PayloadEntry>* out, std::optional<EncryptedPayload>* encrypted) {
  ByteReader r(data);
  PayloadType type = first;
  for (size_t i = 0; type != PayloadType::kNone; ++i) {
    const std::string path = PayloadPath(i, type);
    if (i >= kMaxPayloadsPerChain) return MakeCodecError(CodecError::kTooLarge, "payloads", path);
    const size_t offset = base_offset + r.Offset();
    uint8_t next = 0, flags = 0;
    uint16_t length = 0;
    ByteSpan body;
    if (!r.ReadUint8(&next) || !r.ReadUint8(&flags) || !r.ReadUint16(&length)) {
      return MakeCodecError(CodecError::kTruncated, "generic payload header", path);
    }
    if (length < kGenericPayloadHeaderSize ||
        !r.ReadBytes(length - kGenericPayloadHeaderSize, &body)) {
      return MakeCodecError(CodecError::kBadLength,
                            "Payload Length " + std::to_string(length) + " with " +
                                std::to_string(r.Remaining() + 4) + " octets left",
                            path);
    }
    const bool critical = (flags & kPayloadCriticalBit) != 0;
    if (type == PayloadType::kSk || type == PayloadType::kSkf) {
      if (encrypted == nullptr) {
        return MakeCodecError(CodecError::kInvalidSyntax, "Encrypted payload inside SK", path);
      }
      if (!r.Done()) {
        return MakeCodecError(CodecError::kInvalidSyntax, "Encrypted payload not last", path);
      }
      Result<EncryptedPayload> e =
          DecodeEncryptedPayload(type, static_cast<PayloadType>(next), critical, offset, body);
      if (!e.ok()) return e.error().WithPathPrefix(path);
      *encrypted = std::move(e).value();
      return Status::Ok();
    }
    Result<Payload> p = DecodeBody(type, body);
    if (!p.ok()) return p.error().WithPathPrefix(path);
    out->push_back(PayloadEntry{type, critical, std::move(p).value()});
    type = static_cast<PayloadType>(next);
  }
  if (!r.Done()) {
    return MakeCodecError(CodecError::kBadLength,
                          std::to_string(r.Remaining()) + " octets after the last payload");
  }
  return Status::Ok();
}

}  // namespace internal

Result<std::vector<PayloadEntry>> DecodePayloadChain(PayloadType first, ByteSpan data) {
  std::vector<PayloadEntry> out;
  Status s = internal::DecodeChain(first, data, 0, &out, nullptr);
  if (!s.ok()) return s.error();
  return out;
}

void EncodePayloadChain(const std::vector<PayloadEntry>& payloads, PayloadType last_next,
                        ByteWriter& out) {
  for (size_t i = 0; i < payloads.size(); ++i) {
    const PayloadEntry& e = payloads[i];
    assert(Consistent(e));
    const PayloadType next = i + 1 < payloads.size() ? payloads[i + 1].type : last_next;
    out.WriteUint8(static_cast<uint8_t>(next));
    out.WriteUint8(e.critical ? kPayloadCriticalBit : 0);
    const size_t start = out.Size();
    const size_t length = out.ReserveUint16();
    EncodeBody(e.payload, out);
    assert(out.Size() - start + 2 <= 0xffff);
    out.PatchUint16(length, static_cast<uint16_t>(out.Size() - start + 2));
  }
}

Bytes EncodePayloadChain(const std::vector<PayloadEntry>& payloads) {
  Bytes out;
  ByteWriter w(out);
  EncodePayloadChain(payloads, PayloadType::kNone, w);
  return out;
}

Bytes EncodePayloadBody(const Payload& payload) {
  Bytes out;
  ByteWriter w(out);
  EncodeBody(payload, w);
  return out;
}

std::optional<PayloadType> FindUnsupportedCritical(const std::vector<PayloadEntry>& payloads) {
  for (const PayloadEntry& e : payloads) {
    if (e.critical && !IsKnownPayloadType(e.type)) return e.type;
  }
  return std::nullopt;
}

const NotifyPayload* FindNotify(const std::vector<PayloadEntry>& payloads, NotifyType type) {
  for (const PayloadEntry& e : payloads) {
    const NotifyPayload* n = std::get_if<NotifyPayload>(&e.payload);
    if (e.type == PayloadType::kNotify && n != nullptr && n->type == type) return n;
  }
  return nullptr;
}

const NotifyPayload* FindErrorNotify(const std::vector<PayloadEntry>& payloads) {
  for (const PayloadEntry& e : payloads) {
    const NotifyPayload* n = std::get_if<NotifyPayload>(&e.payload);
    if (e.type == PayloadType::kNotify && n != nullptr && IsErrorNotify(n->type)) return n;
  }
  return nullptr;
}

}  // namespace ipsec::engine::ike::codec
