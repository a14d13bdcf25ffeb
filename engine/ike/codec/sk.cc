#include "engine/ike/codec/sk.h"

#include <cassert>
#include <optional>
#include <string>

#include "engine/common/byte_io.h"
#include "engine/crypto/aead.h"
#include "engine/crypto/cipher.h"
#include "engine/crypto/integrity.h"
#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {
namespace {

constexpr size_t kAeadIvSize = 8;  // RFC 5282 §3, RFC 7634 §2

ByteSpan Span(const SecretBytes& s) { return ByteSpan(s.data(), s.size()); }

Error BadKeys(const std::string& detail) { return MakeCodecError(CodecError::kBadKeys, detail); }

Result<crypto::AeadAlgorithm> AeadFor(const SkKeys& keys) {
  if (keys.encryption == EncrId::kChaCha20Poly1305) return crypto::AeadAlgorithm::kChaCha20Poly1305;
  if (keys.key_bits == 128) return crypto::AeadAlgorithm::kAes128Gcm16;
  if (keys.key_bits == 256) return crypto::AeadAlgorithm::kAes256Gcm16;
  return BadKeys("AES-GCM-16 with " + std::to_string(keys.key_bits) + " bits");
}

Result<crypto::CbcAlgorithm> CbcFor(const SkKeys& keys) {
  switch (keys.encryption) {
    case EncrId::kDes:
      return crypto::CbcAlgorithm::kDes;
    case EncrId::k3Des:
      return crypto::CbcAlgorithm::k3Des;
    case EncrId::kAesCbc:
      if (keys.key_bits == 128) return crypto::CbcAlgorithm::kAes128;
      if (keys.key_bits == 192) return crypto::CbcAlgorithm::kAes192;
      if (keys.key_bits == 256) return crypto::CbcAlgorithm::kAes256;
      return BadKeys("AES-CBC with " + std::to_string(keys.key_bits) + " bits");
    default:
      return BadKeys("encryption transform " + std::to_string(static_cast<int>(keys.encryption)) +
                     " not usable for SK");
  }
}

Result<crypto::IntegrityAlgorithm> IntegrityFor(IntegId id) {
  switch (id) {
    case IntegId::kHmacMd5_96:
      return crypto::IntegrityAlgorithm::kHmacMd5_96;
    case IntegId::kHmacSha1_96:
      return crypto::IntegrityAlgorithm::kHmacSha1_96;
    case IntegId::kHmacSha2_256_128:
      return crypto::IntegrityAlgorithm::kHmacSha256_128;
    case IntegId::kHmacSha2_384_192:
      return crypto::IntegrityAlgorithm::kHmacSha384_192;
    case IntegId::kHmacSha2_512_256:
      return crypto::IntegrityAlgorithm::kHmacSha512_256;
    default:
      return BadKeys("integrity transform " + std::to_string(static_cast<int>(id)));
  }
}

// A cipher keyed for one message: AEAD, or CBC with its integrity transform.
struct Keyed {
  std::optional<crypto::Aead> aead;
  std::optional<crypto::CbcCipher> cbc;
  std::optional<crypto::Integrity> integrity;
};

Result<Keyed> KeyCiphers(const SkKeys& keys) {
  Keyed k;
  if (IsAeadCipher(keys.encryption)) {
    Result<crypto::AeadAlgorithm> alg = AeadFor(keys);
    if (!alg.ok()) return alg.error();
    if (keys.salt.size() != crypto::kAeadSaltSize) return BadKeys("AEAD salt size");
    Result<crypto::Aead> aead = crypto::Aead::Create(*alg, Span(keys.encryption_key));
    if (!aead.ok()) return BadKeys(aead.error().message);
    k.aead.emplace(std::move(aead).value());
    return k;
  }
  Result<crypto::CbcAlgorithm> alg = CbcFor(keys);
  if (!alg.ok()) return alg.error();
  Result<crypto::IntegrityAlgorithm> integ = IntegrityFor(keys.integrity);
  if (!integ.ok()) return integ.error();
  Result<crypto::CbcCipher> cbc = crypto::CbcCipher::Create(*alg, Span(keys.encryption_key));
  if (!cbc.ok()) return BadKeys(cbc.error().message);
  Result<crypto::Integrity> mac = crypto::Integrity::Create(*integ, Span(keys.integrity_key));
  if (!mac.ok()) return BadKeys(mac.error().message);
  k.cbc.emplace(std::move(cbc).value());
  k.integrity.emplace(std::move(mac).value());
  return k;
}

Bytes Nonce(const SkKeys& keys, ByteSpan iv) { return Concat({Span(keys.salt), iv}); }

// Strips Padding and Pad Length from decrypted content.
Status Unpad(Bytes& plain) {
  if (plain.empty() || static_cast<size_t>(plain.back()) + 1 > plain.size()) {
    return MakeCodecError(CodecError::kBadPadding, "");
  }
  plain.resize(plain.size() - plain.back() - 1);
  return Status::Ok();
}

}  // namespace

SkKeys SkKeys::FromKeymat(EncrId encryption, uint16_t key_bits, const SecretBytes& sk_e,
                          IntegId integrity, const SecretBytes& sk_a) {
  SkKeys k;
  k.encryption = encryption;
  k.key_bits = key_bits;
  std::string_view e = sk_e.view();
  if (IsAeadCipher(encryption) && e.size() >= crypto::kAeadSaltSize) {
    k.encryption_key = SecretBytes(e.substr(0, e.size() - crypto::kAeadSaltSize));
    k.salt = SecretBytes(e.substr(e.size() - crypto::kAeadSaltSize));
  } else {
    k.encryption_key = sk_e;
  }
  k.integrity = integrity;
  k.integrity_key = sk_a;
  return k;
}

bool IsAeadCipher(EncrId id) { return id == EncrId::kAesGcm16 || id == EncrId::kChaCha20Poly1305; }

namespace internal {

Result<SkSizes> SizesFor(const SkKeys& keys) {
  if (IsAeadCipher(keys.encryption)) {
    Result<crypto::AeadAlgorithm> alg = AeadFor(keys);
    if (!alg.ok()) return alg.error();
    return SkSizes{kAeadIvSize, 1, crypto::kAeadTagSize};
  }
  Result<crypto::CbcAlgorithm> alg = CbcFor(keys);
  if (!alg.ok()) return alg.error();
  Result<crypto::IntegrityAlgorithm> integ = IntegrityFor(keys.integrity);
  if (!integ.ok()) return integ.error();
  const size_t block = crypto::CbcBlockSize(*alg);
  return SkSizes{block, block, crypto::IcvSize(*integ)};
}

size_t SealedSize(const SkSizes& sizes, size_t content_size) {
  const size_t padded = (content_size + 1 + sizes.block - 1) / sizes.block * sizes.block;
  return sizes.iv + padded + sizes.icv;
}

Status Seal(const SkKeys& keys, ByteSpan content, Random& random, Bytes& out) {
  Result<SkSizes> sizes = SizesFor(keys);
  if (!sizes.ok()) return sizes.error();
  Result<Keyed> keyed = KeyCiphers(keys);
  if (!keyed.ok()) return keyed.error();
  const size_t aad_size = out.size();
  const size_t sealed = SealedSize(*sizes, content.size());
  const size_t padded = sealed - sizes->iv - sizes->icv;
  out.resize(aad_size + sizes->iv);
  random.Fill(out.data() + aad_size, sizes->iv);
  const size_t text = out.size();
  out.insert(out.end(), content.begin(), content.end());
  out.resize(text + padded - 1, 0);
  out.push_back(static_cast<uint8_t>(padded - 1 - content.size()));
  out.resize(aad_size + sealed);
  const ByteSpan iv(out.data() + aad_size, sizes->iv);
  const ByteSpan plain(out.data() + text, padded);
  if (keyed->aead) {
    return keyed->aead->Seal(Nonce(keys, iv), ByteSpan(out.data(), aad_size), plain,
                             out.data() + text);
  }
  Status s = keyed->cbc->Encrypt(iv, plain, out.data() + text);
  if (!s.ok()) return s;
  return keyed->integrity->Compute(ByteSpan(out.data(), text + padded), out.data() + text + padded);
}

}  // namespace internal

Result<size_t> ProtectedOverhead(const SkKeys& keys, size_t inner_size) {
  Result<internal::SkSizes> sizes = internal::SizesFor(keys);
  if (!sizes.ok()) return sizes.error();
  return kGenericPayloadHeaderSize + internal::SealedSize(*sizes, inner_size) - inner_size;
}

Result<Bytes> EncodeProtected(const Header& header, PayloadType first_inner,
                              ByteSpan inner_payloads, const SkKeys& keys, Random& random) {
  Result<size_t> overhead = ProtectedOverhead(keys, inner_payloads.size());
  if (!overhead.ok()) return overhead.error();
  const size_t total = kHeaderSize + inner_payloads.size() + *overhead;
  if (total > kMaxMessageSize) {
    return MakeCodecError(CodecError::kTooLarge, "message of " + std::to_string(total) + " octets");
  }
  Bytes out;
  out.reserve(total);
  ByteWriter w(out);
  EncodeHeader(header, PayloadType::kSk, static_cast<uint32_t>(total), w);
  w.WriteUint8(static_cast<uint8_t>(first_inner));
  w.WriteUint8(0);
  w.WriteUint16(static_cast<uint16_t>(total - kHeaderSize));
  Status s = internal::Seal(keys, inner_payloads, random, out);
  if (!s.ok()) return s.error();
  assert(out.size() == total);
  return out;
}

Result<Bytes> EncodeProtectedMessage(const Header& header, const std::vector<PayloadEntry>& inner,
                                     const SkKeys& keys, Random& random) {
  const PayloadType first = inner.empty() ? PayloadType::kNone : inner.front().type;
  return EncodeProtected(header, first, EncodePayloadChain(inner), keys, random);
}

Result<Bytes> DecryptProtected(ByteSpan datagram, const Message& message, const SkKeys& keys) {
  if (!message.encrypted) return MakeCodecError(CodecError::kInvalidSyntax, "no SK payload");
  const EncryptedPayload& e = *message.encrypted;
  if (e.offset + e.length != datagram.size() || e.length < e.header_size()) {
    return MakeCodecError(CodecError::kBadLength, "SK payload does not end the datagram");
  }
  Result<internal::SkSizes> sizes = internal::SizesFor(keys);
  if (!sizes.ok()) return sizes.error();
  const size_t body_offset = e.offset + e.header_size();
  const ByteSpan body = datagram.subspan(body_offset);
  if (body.size() < sizes->iv + sizes->icv + 1 ||
      (body.size() - sizes->iv - sizes->icv) % sizes->block != 0) {
    return MakeCodecError(CodecError::kBadLength,
                          "SK body of " + std::to_string(body.size()) + " octets");
  }
  Result<Keyed> keyed = KeyCiphers(keys);
  if (!keyed.ok()) return keyed.error();
  const ByteSpan iv = body.first(sizes->iv);
  const size_t text_size = body.size() - sizes->iv - sizes->icv;
  Bytes plain(text_size);
  if (keyed->aead) {
    Status s = keyed->aead->Open(Nonce(keys, iv), datagram.first(body_offset),
                                 body.subspan(sizes->iv), plain.data());
    if (crypto::IsAuthFailure(s)) return MakeCodecError(CodecError::kIntegrity, "");
    if (!s.ok()) return s.error();
  } else {
    // §3.14: the ICV covers the message from the header through the encrypted data. Check it
    // before decrypting anything (Verify compares in constant time).
    const size_t icv_offset = datagram.size() - sizes->icv;
    if (!keyed->integrity->Verify(datagram.first(icv_offset), datagram.subspan(icv_offset))) {
      return MakeCodecError(CodecError::kIntegrity, "");
    }
    Status s = keyed->cbc->Decrypt(iv, body.subspan(sizes->iv, text_size), plain.data());
    if (!s.ok()) return s.error();
  }
  Status s = Unpad(plain);
  if (!s.ok()) return s.error();
  return plain;
}

}  // namespace ipsec::engine::ike::codec
