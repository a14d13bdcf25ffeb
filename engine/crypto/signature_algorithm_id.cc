// RFC 7427 §3 AlgorithmIdentifiers of signature.h: fixed DER for the schemes we send, and a
// small bounds-checked DER reader for the ones we receive (no OpenSSL needed).

#include <algorithm>
#include <initializer_list>
#include <optional>

#include "engine/crypto/signature.h"

namespace ipsec::engine::crypto {
namespace {

using S = SignatureScheme;

// Object identifier contents (the bytes after tag 06 and length).
constexpr uint8_t kOidRsaSha1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05};
constexpr uint8_t kOidRsaSha256[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
constexpr uint8_t kOidRsaSha384[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c};
constexpr uint8_t kOidRsaSha512[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d};
constexpr uint8_t kOidRsaPss[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
constexpr uint8_t kOidMgf1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08};
constexpr uint8_t kOidEcdsaSha256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
constexpr uint8_t kOidEcdsaSha384[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
constexpr uint8_t kOidEcdsaSha512[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};
constexpr uint8_t kOidEd25519[] = {0x2b, 0x65, 0x70};  // RFC 8410 §3
constexpr uint8_t kOidSha1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
constexpr uint8_t kOidSha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
constexpr uint8_t kOidSha384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
constexpr uint8_t kOidSha512[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};

constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kNull = 0x05;
constexpr uint8_t kInteger = 0x02;

bool Equal(ByteSpan a, ByteSpan b) { return std::ranges::equal(a, b); }

// Reads DER TLVs from a span; every read checks bounds. After a failed read, discard it.
class DerReader {
 public:
  explicit DerReader(ByteSpan data) : data_(data) {}
  bool AtEnd() const { return pos_ == data_.size(); }
  bool Next(uint8_t tag) const { return pos_ < data_.size() && data_[pos_] == tag; }

  // The contents of the next TLV, which must have `tag`. Definite lengths below 64 KiB only.
  std::optional<ByteSpan> Read(uint8_t tag) {
    if (!Next(tag) || pos_ + 2 > data_.size()) return std::nullopt;
    size_t p = pos_ + 1;
    size_t len = data_[p++];
    if (len == 0x81 || len == 0x82) {
      size_t n = len - 0x80;
      if (p + n > data_.size()) return std::nullopt;
      len = 0;
      for (size_t i = 0; i < n; ++i) len = (len << 8) | data_[p++];
      if (len < (n == 1 ? 0x80u : 0x100u)) return std::nullopt;  // not minimal: not DER
    } else if (len >= 0x80) {
      return std::nullopt;
    }
    if (len > data_.size() - p) return std::nullopt;
    pos_ = p + len;
    return data_.subspan(p, len);
  }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }.
struct AlgorithmId {
  ByteSpan oid;
  ByteSpan params;  // the raw TLV(s) after the OID; empty if absent
};

std::optional<AlgorithmId> ReadAlgorithmId(DerReader& reader) {
  std::optional<ByteSpan> seq = reader.Read(kSequence);
  if (!seq) return std::nullopt;
  DerReader inner(*seq);
  std::optional<ByteSpan> oid = inner.Read(kOid);
  if (!oid) return std::nullopt;
  return AlgorithmId{*oid,
                     seq->subspan(static_cast<size_t>(oid->data() + oid->size() - seq->data()))};
}

bool AbsentOrNull(ByteSpan params) {
  return params.empty() || (params.size() == 2 && params[0] == kNull && params[1] == 0);
}

// A hash AlgorithmIdentifier (RFC 4055 §2.1: NULL and absent parameters are equivalent).
std::optional<Hash> ReadHash(DerReader& reader) {
  std::optional<AlgorithmId> id = ReadAlgorithmId(reader);
  if (!id || !AbsentOrNull(id->params)) return std::nullopt;
  if (Equal(id->oid, kOidSha1)) return Hash::kSha1;
  if (Equal(id->oid, kOidSha256)) return Hash::kSha256;
  if (Equal(id->oid, kOidSha384)) return Hash::kSha384;
  if (Equal(id->oid, kOidSha512)) return Hash::kSha512;
  return std::nullopt;
}

// A small non-negative INTEGER.
std::optional<size_t> ReadSmallInteger(DerReader& reader) {
  std::optional<ByteSpan> v = reader.Read(kInteger);
  if (!v || v->empty() || v->size() > 2 || ((*v)[0] & 0x80) != 0) return std::nullopt;
  size_t value = 0;
  for (uint8_t b : *v) value = (value << 8) | b;
  return value;
}

// RSASSA-PSS-params (RFC 4055 §3.1), each field an explicit context tag with a default.
std::optional<SignatureScheme> ReadPssParams(ByteSpan params) {
  DerReader outer(params);
  std::optional<ByteSpan> seq = outer.Read(kSequence);
  if (!seq || !outer.AtEnd()) return std::nullopt;
  DerReader reader(*seq);
  std::optional<Hash> hash = Hash::kSha1, mgf_hash = Hash::kSha1;
  size_t salt = 20;
  if (reader.Next(0xa0)) {
    std::optional<ByteSpan> field = reader.Read(0xa0);
    DerReader r(field.value_or(ByteSpan()));
    hash = field ? ReadHash(r) : std::nullopt;
    if (!hash || !r.AtEnd()) return std::nullopt;
  }
  if (reader.Next(0xa1)) {
    std::optional<ByteSpan> field = reader.Read(0xa1);
    DerReader r(field.value_or(ByteSpan()));
    std::optional<AlgorithmId> mgf = ReadAlgorithmId(r);
    if (!mgf || !r.AtEnd() || !Equal(mgf->oid, kOidMgf1)) return std::nullopt;
    DerReader p(mgf->params);
    mgf_hash = ReadHash(p);
    if (!mgf_hash || !p.AtEnd()) return std::nullopt;
  }
  if (reader.Next(0xa2)) {
    std::optional<ByteSpan> field = reader.Read(0xa2);
    DerReader r(field.value_or(ByteSpan()));
    std::optional<size_t> value = field ? ReadSmallInteger(r) : std::nullopt;
    if (!value || !r.AtEnd()) return std::nullopt;
    salt = *value;
  }
  if (reader.Next(0xa3)) {  // trailerField: only trailerFieldBC (1)
    std::optional<ByteSpan> field = reader.Read(0xa3);
    DerReader r(field.value_or(ByteSpan()));
    std::optional<size_t> value = field ? ReadSmallInteger(r) : std::nullopt;
    if (!value || *value != 1 || !r.AtEnd()) return std::nullopt;
  }
  if (!reader.AtEnd() || *hash != *mgf_hash || salt != DigestSize(*hash)) return std::nullopt;
  switch (*hash) {
    case Hash::kSha256:
      return S::kRsaPssSha256;
    case Hash::kSha384:
      return S::kRsaPssSha384;
    case Hash::kSha512:
      return S::kRsaPssSha512;
    default:
      return std::nullopt;  // no RSA-PSS with SHA-1 here
  }
}

Bytes Tlv(uint8_t tag, std::initializer_list<ByteSpan> parts) {
  size_t n = 0;
  for (ByteSpan p : parts) n += p.size();
  Bytes out(2 + n);
  out[0] = tag;
  out[1] = static_cast<uint8_t>(n);  // all of ours are shorter than 128 bytes
  size_t pos = 2;
  for (ByteSpan p : parts) {
    std::copy(p.begin(), p.end(), out.begin() + static_cast<std::ptrdiff_t>(pos));
    pos += p.size();
  }
  return out;
}

Bytes WithNullParams(ByteSpan oid) {
  const uint8_t null[] = {kNull, 0};
  return Tlv(kSequence, {Tlv(kOid, {oid}), null});
}

Bytes PssAlgorithmId(ByteSpan hash_oid, uint8_t salt) {
  const Bytes hash = WithNullParams(hash_oid);
  const Bytes mgf = Tlv(kSequence, {Tlv(kOid, {kOidMgf1}), hash});
  const uint8_t salt_int[] = {kInteger, 1, salt};
  const Bytes params = Tlv(kSequence, {Tlv(0xa0, {hash}), Tlv(0xa1, {mgf}), Tlv(0xa2, {salt_int})});
  return Tlv(kSequence, {Tlv(kOid, {kOidRsaPss}), params});
}

}  // namespace

Bytes AlgorithmIdentifierDer(SignatureScheme scheme) {
  switch (scheme) {
    case S::kRsaPkcs1Sha1:
      return WithNullParams(kOidRsaSha1);
    case S::kRsaPkcs1Sha256:
      return WithNullParams(kOidRsaSha256);
    case S::kRsaPkcs1Sha384:
      return WithNullParams(kOidRsaSha384);
    case S::kRsaPkcs1Sha512:
      return WithNullParams(kOidRsaSha512);
    case S::kRsaPssSha256:
      return PssAlgorithmId(kOidSha256, 32);
    case S::kRsaPssSha384:
      return PssAlgorithmId(kOidSha384, 48);
    case S::kRsaPssSha512:
      return PssAlgorithmId(kOidSha512, 64);
    case S::kEcdsaSha256:
      return Tlv(kSequence, {Tlv(kOid, {kOidEcdsaSha256})});
    case S::kEcdsaSha384:
      return Tlv(kSequence, {Tlv(kOid, {kOidEcdsaSha384})});
    case S::kEcdsaSha512:
      return Tlv(kSequence, {Tlv(kOid, {kOidEcdsaSha512})});
    case S::kEd25519:
      return Tlv(kSequence, {Tlv(kOid, {kOidEd25519})});
  }
  return {};
}

std::optional<SignatureScheme> SchemeFromAlgorithmIdentifier(ByteSpan der) {
  DerReader reader(der);
  std::optional<AlgorithmId> id = ReadAlgorithmId(reader);
  if (!id || !reader.AtEnd()) return std::nullopt;
  struct Known {
    ByteSpan oid;
    SignatureScheme scheme;
    bool rsa;  // NULL or absent parameters; otherwise parameters must be absent
  };
  const Known known[] = {
      {kOidRsaSha1, S::kRsaPkcs1Sha1, true},     {kOidRsaSha256, S::kRsaPkcs1Sha256, true},
      {kOidRsaSha384, S::kRsaPkcs1Sha384, true}, {kOidRsaSha512, S::kRsaPkcs1Sha512, true},
      {kOidEcdsaSha256, S::kEcdsaSha256, false}, {kOidEcdsaSha384, S::kEcdsaSha384, false},
      {kOidEcdsaSha512, S::kEcdsaSha512, false}, {kOidEd25519, S::kEd25519, false},
  };
  for (const Known& k : known) {
    if (!Equal(id->oid, k.oid)) continue;
    bool params_ok = k.rsa ? AbsentOrNull(id->params) : id->params.empty();
    return params_ok ? std::optional<SignatureScheme>(k.scheme) : std::nullopt;
  }
  if (Equal(id->oid, kOidRsaPss)) return ReadPssParams(id->params);
  return std::nullopt;
}

}  // namespace ipsec::engine::crypto
