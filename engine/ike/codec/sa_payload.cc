#include "engine/ike/codec/sa_payload.h"

#include <cassert>
#include <string>

#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {
namespace {

constexpr size_t kProposalHeaderSize = 8;
constexpr size_t kTransformHeaderSize = 8;

std::string Index(const char* what, size_t i) {
  return std::string("/") + what + "/" + std::to_string(i);
}

Status DecodeAttribute(ByteReader& r, Transform& t) {
  uint16_t type_field = 0, len_or_value = 0;
  if (!r.ReadUint16(&type_field) || !r.ReadUint16(&len_or_value)) {
    return MakeCodecError(CodecError::kTruncated, "attribute header");
  }
  const bool tv = (type_field & kAttributeFormatTv) != 0;
  const uint16_t type = type_field & ~kAttributeFormatTv;
  if (type == kAttributeKeyLength) {
    if (!tv) return MakeCodecError(CodecError::kInvalidSyntax, "Key Length must be TV");
    if (t.key_length) return MakeCodecError(CodecError::kInvalidSyntax, "Key Length twice");
    t.key_length = len_or_value;
    return Status::Ok();
  }
  TransformAttribute a{type, tv, 0, {}};
  if (tv) {
    a.value = len_or_value;
  } else if (!r.ReadBytes(len_or_value, &a.data)) {
    return MakeCodecError(
        CodecError::kBadLength,
        "attribute length " + std::to_string(len_or_value) + " exceeds the transform");
  }
  t.other_attributes.push_back(std::move(a));
  return Status::Ok();
}

// `r` covers exactly one transform, header included.
Result<Transform> DecodeTransform(ByteReader r) {
  Transform t;
  uint8_t type = 0, reserved = 0;
  if (!r.Skip(4) || !r.ReadUint8(&type) || !r.ReadUint8(&reserved) || !r.ReadUint16(&t.id)) {
    return MakeCodecError(CodecError::kTruncated, "transform header");
  }
  t.type = static_cast<TransformType>(type);
  for (size_t i = 0; !r.Done(); ++i) {
    if (i >= kMaxAttributes) return MakeCodecError(CodecError::kTooLarge, "too many attributes");
    Status s = DecodeAttribute(r, t);
    if (!s.ok()) return s.error().WithPathPrefix(Index("attributes", i));
  }
  return t;
}

// Reads one substructure whose header starts with Last Substruc, RESERVED and a 2-octet length
// covering the whole substructure; checks the Last Substruc value against what follows.
Status ReadSubstructure(ByteReader& r, uint8_t more_value, size_t min_size, ByteReader* sub) {
  ByteReader peek = r;
  uint8_t last = 0, reserved = 0;
  uint16_t length = 0;
  if (!peek.ReadUint8(&last) || !peek.ReadUint8(&reserved) || !peek.ReadUint16(&length)) {
    return MakeCodecError(CodecError::kTruncated, "substructure header");
  }
  if (length < min_size) {
    return MakeCodecError(CodecError::kBadLength, "length " + std::to_string(length));
  }
  if (!r.Sub(length, sub)) {
    return MakeCodecError(CodecError::kBadLength,
                          "length " + std::to_string(length) + " exceeds the payload");
  }
  if (last != kLastSubstruc && last != more_value) {
    return MakeCodecError(CodecError::kInvalidSyntax, "Last Substruc " + std::to_string(last));
  }
  if ((last == kLastSubstruc) != r.Done()) {
    return MakeCodecError(CodecError::kInvalidSyntax,
                          last == kLastSubstruc ? "data after the last substructure"
                                                : "Last Substruc announces more, none follows");
  }
  return Status::Ok();
}

Status CheckSpiSize(ProtocolId protocol, size_t spi_size) {
  bool ok = true;
  if (protocol == ProtocolId::kIke) ok = spi_size == 0 || spi_size == kIkeSpiSize;
  if (protocol == ProtocolId::kEsp || protocol == ProtocolId::kAh) ok = spi_size == kChildSpiSize;
  if (ok) return Status::Ok();
  return MakeCodecError(CodecError::kInvalidSyntax, "SPI size " + std::to_string(spi_size));
}

Status DecodeTransforms(ByteReader& r, size_t count, Proposal& p) {
  if (count > kMaxTransformsPerProposal) {
    return MakeCodecError(CodecError::kTooLarge, std::to_string(count) + " transforms");
  }
  for (size_t i = 0; !r.Done(); ++i) {
    ByteReader sub(ByteSpan{});
    Status s = ReadSubstructure(r, kMoreTransforms, kTransformHeaderSize, &sub);
    if (!s.ok()) return s.error().WithPathPrefix(Index("transforms", i));
    Result<Transform> t = DecodeTransform(sub);
    if (!t.ok()) return t.error().WithPathPrefix(Index("transforms", i));
    p.transforms.push_back(std::move(t).value());
  }
  if (p.transforms.size() != count) {
    return MakeCodecError(CodecError::kInvalidSyntax, "Num Transforms " + std::to_string(count) +
                                                          ", found " +
                                                          std::to_string(p.transforms.size()));
  }
  return Status::Ok();
}

// `r` covers exactly one proposal, header included.
Result<Proposal> DecodeProposal(ByteReader r) {
  Proposal p;
  uint8_t protocol = 0, spi_size = 0, num_transforms = 0;
  if (!r.Skip(4) || !r.ReadUint8(&p.number) || !r.ReadUint8(&protocol) || !r.ReadUint8(&spi_size) ||
      !r.ReadUint8(&num_transforms)) {
    return MakeCodecError(CodecError::kTruncated, "proposal header");
  }
  p.protocol = static_cast<ProtocolId>(protocol);
  Status s = CheckSpiSize(p.protocol, spi_size);
  if (!s.ok()) return s.error();
  if (!r.ReadBytes(spi_size, &p.spi)) {
    return MakeCodecError(CodecError::kBadLength, "SPI exceeds the proposal");
  }
  s = DecodeTransforms(r, num_transforms, p);
  if (!s.ok()) return s.error();
  return p;
}

void EncodeTransform(const Transform& t, bool last, ByteWriter& out) {
  out.WriteUint8(last ? kLastSubstruc : kMoreTransforms);
  out.WriteUint8(0);
  const size_t start = out.Size();
  const size_t length = out.ReserveUint16();
  out.WriteUint8(static_cast<uint8_t>(t.type));
  out.WriteUint8(0);
  out.WriteUint16(t.id);
  if (t.key_length) {
    out.WriteUint16(kAttributeFormatTv | kAttributeKeyLength);
    out.WriteUint16(*t.key_length);
  }
  for (const TransformAttribute& a : t.other_attributes) {
    out.WriteUint16(static_cast<uint16_t>((a.tv ? kAttributeFormatTv : 0) | a.type));
    if (a.tv) {
      out.WriteUint16(a.value);
    } else {
      assert(a.data.size() <= 0xffff);
      out.WriteUint16(static_cast<uint16_t>(a.data.size()));
      out.WriteBytes(a.data);
    }
  }
  out.PatchUint16(length, static_cast<uint16_t>(out.Size() - start + 2));
}

void EncodeProposal(const Proposal& p, bool last, ByteWriter& out) {
  assert(p.spi.size() <= 0xff && p.transforms.size() <= 0xff);
  out.WriteUint8(last ? kLastSubstruc : kMoreProposals);
  out.WriteUint8(0);
  const size_t start = out.Size();
  const size_t length = out.ReserveUint16();
  out.WriteUint8(p.number);
  out.WriteUint8(static_cast<uint8_t>(p.protocol));
  out.WriteUint8(static_cast<uint8_t>(p.spi.size()));
  out.WriteUint8(static_cast<uint8_t>(p.transforms.size()));
  out.WriteBytes(p.spi);
  for (size_t i = 0; i < p.transforms.size(); ++i) {
    EncodeTransform(p.transforms[i], i + 1 == p.transforms.size(), out);
  }
  assert(out.Size() - start + 2 <= 0xffff);
  out.PatchUint16(length, static_cast<uint16_t>(out.Size() - start + 2));
}

}  // namespace

Result<SaPayload> DecodeSaPayload(ByteSpan body) {
  SaPayload sa;
  ByteReader r(body);
  if (r.Done()) return MakeCodecError(CodecError::kInvalidSyntax, "SA without proposals");
  for (size_t i = 0; !r.Done(); ++i) {
    if (i >= kMaxProposals) return MakeCodecError(CodecError::kTooLarge, "too many proposals");
    ByteReader sub(ByteSpan{});
    Status s = ReadSubstructure(r, kMoreProposals, kProposalHeaderSize, &sub);
    if (!s.ok()) return s.error().WithPathPrefix(Index("proposals", i));
    Result<Proposal> p = DecodeProposal(sub);
    if (!p.ok()) return p.error().WithPathPrefix(Index("proposals", i));
    const uint8_t previous = sa.proposals.empty() ? 1 : sa.proposals.back().number;
    if (p->number < previous) {
      return MakeCodecError(
          CodecError::kInvalidSyntax,
          "Proposal Num " + std::to_string(p->number) + " after " + std::to_string(previous),
          Index("proposals", i));
    }
    sa.proposals.push_back(std::move(p).value());
  }
  return sa;
}

void EncodeSaPayload(const SaPayload& sa, ByteWriter& out) {
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    EncodeProposal(sa.proposals[i], i + 1 == sa.proposals.size(), out);
  }
}

}  // namespace ipsec::engine::ike::codec
