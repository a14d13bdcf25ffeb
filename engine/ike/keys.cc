#include "engine/ike/keys.h"

#include <algorithm>

namespace ipsec::engine::ike {
namespace {

using codec::EncrId;
using codec::IntegId;
using codec::PrfId;

void AppendSpi(Bytes& out, uint64_t spi) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(spi >> shift));
}

// Concatenation that holds key material: built in a SecretBytes, the temporary wiped.
SecretBytes ConcatSecret(std::initializer_list<ByteSpan> parts) {
  std::string joined;
  for (ByteSpan p : parts) joined.append(reinterpret_cast<const char*>(p.data()), p.size());
  SecretBytes out(joined);
  std::fill(joined.begin(), joined.end(), '\0');
  return out;
}

// Cuts `keymat` into consecutive keys of the given sizes.
class KeyCutter {
 public:
  explicit KeyCutter(const SecretBytes& keymat) : keymat_(keymat) {}
  SecretBytes Next(size_t n) {
    SecretBytes key(std::string_view(reinterpret_cast<const char*>(keymat_.data()) + offset_, n));
    offset_ += n;
    return key;
  }

 private:
  const SecretBytes& keymat_;
  size_t offset_ = 0;
};

Result<IkeKeys> ExpandIkeKeys(const IkeAlgorithms& a, const crypto::Prf& prf,
                              const SecretBytes& skeyseed, ByteSpan ni, ByteSpan nr, uint64_t spi_i,
                              uint64_t spi_r) {
  Bytes seed = Concat({ni, nr});
  AppendSpi(seed, spi_i);
  AppendSpi(seed, spi_r);
  const size_t prf_size = prf.output_size();
  const size_t integ = IntegrityKeySize(a.integrity);
  const size_t encr = EncryptionKeySize(a.encryption, a.encryption_key_bits);
  auto keymat =
      prf.PrfPlus(crypto::SecretSpan(skeyseed), seed, 3 * prf_size + 2 * integ + 2 * encr);
  if (!keymat.ok()) return keymat.error();
  KeyCutter cut(*keymat);
  IkeKeys k;
  k.sk_d = cut.Next(prf_size);
  k.sk_ai = cut.Next(integ);
  k.sk_ar = cut.Next(integ);
  k.sk_ei = cut.Next(encr);
  k.sk_er = cut.Next(encr);
  k.sk_pi = cut.Next(prf_size);
  k.sk_pr = cut.Next(prf_size);
  return k;
}

}  // namespace

size_t EncryptionKeySize(EncrId id, uint16_t key_bits) {
  switch (id) {
    case EncrId::kAesCbc:
      return key_bits / 8;
    case EncrId::kAesGcm16:
      return key_bits / 8 + 4;  // RFC 5282 §7.1 (IKE), RFC 4106 §8.1 (ESP): 4-octet salt
    case EncrId::kChaCha20Poly1305:
      return 32 + 4;  // RFC 7634 §2 (ESP) and §4 (IKE)
    case EncrId::k3Des:
      return 24;
    case EncrId::kDes:
      return 8;
    case EncrId::kNull:
      return 0;
  }
  return 0;
}

size_t IntegrityKeySize(IntegId id) {
  switch (id) {
    case IntegId::kNone:
      return 0;
    case IntegId::kHmacMd5_96:
      return 16;  // RFC 2403
    case IntegId::kHmacSha1_96:
      return 20;  // RFC 2404
    case IntegId::kHmacSha2_256_128:
      return 32;  // RFC 4868 §2.1.1
    case IntegId::kHmacSha2_384_192:
      return 48;
    case IntegId::kHmacSha2_512_256:
      return 64;
  }
  return 0;
}

Result<crypto::Prf> PrfFor(PrfId id) {
  switch (id) {
    case PrfId::kHmacMd5:
      return crypto::Prf(crypto::Hash::kMd5);
    case PrfId::kHmacSha1:
      return crypto::Prf(crypto::Hash::kSha1);
    case PrfId::kHmacSha2_256:
      return crypto::Prf(crypto::Hash::kSha256);
    case PrfId::kHmacSha2_384:
      return crypto::Prf(crypto::Hash::kSha384);
    case PrfId::kHmacSha2_512:
      return crypto::Prf(crypto::Hash::kSha512);
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unsupported PRF " + std::to_string(static_cast<int>(id)));
}

Result<IkeKeys> DeriveIkeKeys(const IkeAlgorithms& a, const SecretBytes& shared_secret, ByteSpan ni,
                              ByteSpan nr, uint64_t spi_i, uint64_t spi_r) {
  auto prf = PrfFor(a.prf);
  if (!prf.ok()) return prf.error();
  // SKEYSEED = prf(Ni | Nr, g^ir) (§2.14)
  auto skeyseed = prf->ComputeSecret(Concat({ni, nr}), crypto::SecretSpan(shared_secret));
  if (!skeyseed.ok()) return skeyseed.error();
  return ExpandIkeKeys(a, *prf, *skeyseed, ni, nr, spi_i, spi_r);
}

Result<IkeKeys> DeriveRekeyedIkeKeys(const IkeAlgorithms& a, PrfId old_prf_id,
                                     const SecretBytes& old_sk_d, const SecretBytes& shared_secret,
                                     ByteSpan ni, ByteSpan nr, uint64_t spi_i, uint64_t spi_r) {
  auto old_prf = PrfFor(old_prf_id);
  auto prf = PrfFor(a.prf);
  if (!old_prf.ok()) return old_prf.error();
  if (!prf.ok()) return prf.error();
  // SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) (§2.18)
  SecretBytes data = ConcatSecret({crypto::SecretSpan(shared_secret), ni, nr});
  auto skeyseed = old_prf->ComputeSecret(crypto::SecretSpan(old_sk_d), crypto::SecretSpan(data));
  if (!skeyseed.ok()) return skeyseed.error();
  return ExpandIkeKeys(a, *prf, *skeyseed, ni, nr, spi_i, spi_r);
}

Result<ChildKeys> DeriveChildKeys(const ChildAlgorithms& a, PrfId prf_id, const SecretBytes& sk_d,
                                  const SecretBytes* pfs_shared_secret, ByteSpan ni, ByteSpan nr) {
  auto prf = PrfFor(prf_id);
  if (!prf.ok()) return prf.error();
  const size_t encr = a.protocol == codec::ProtocolId::kAh
                          ? 0
                          : EncryptionKeySize(a.encryption, a.encryption_key_bits);
  const size_t integ = IntegrityKeySize(a.integrity);
  const size_t ah = a.bundle() ? IntegrityKeySize(a.ah_integrity) : 0;
  // KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (§2.17)
  SecretBytes secret_seed = pfs_shared_secret != nullptr
                                ? ConcatSecret({crypto::SecretSpan(*pfs_shared_secret), ni, nr})
                                : ConcatSecret({ni, nr});
  auto keymat = prf->PrfPlus(crypto::SecretSpan(sk_d), crypto::SecretSpan(secret_seed),
                             2 * (ah + encr + integ));
  if (!keymat.ok()) return keymat.error();
  // §2.17: initiator-to-responder keys first; within a direction, with several protocols, in
  // the order their headers appear in the packet: AH (outer) before ESP in a bundle (FAQ 46,
  // RFC 4301 §4.5); within ESP, encryption before integrity.
  KeyCutter cut(*keymat);
  ChildKeys k;
  k.ah_integrity_i = cut.Next(ah);
  k.encryption_i = cut.Next(encr);
  k.integrity_i = cut.Next(integ);
  k.ah_integrity_r = cut.Next(ah);
  k.encryption_r = cut.Next(encr);
  k.integrity_r = cut.Next(integ);
  return k;
}

}  // namespace ipsec::engine::ike
