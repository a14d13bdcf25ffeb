#include "engine/esp/sa_crypto.h"

#include <string_view>

namespace ipsec::engine::esp {

using Kind = ResolvedTransform::Kind;

Result<std::unique_ptr<SaCrypto>> SaCrypto::Create(const ResolvedTransform& resolved,
                                                   const Transform& transform, unsigned workers,
                                                   bool outbound) {
  if (workers == 0 || workers > 1024) {
    return MakeError(ErrorCode::kInvalidArgument, "workers must be 1..1024");
  }
  std::unique_ptr<SaCrypto> sa(new SaCrypto());
  sa->workers_.resize(workers);
  const ByteSpan enc_key(transform.encryption_key.data(), transform.encryption_key.size());
  const ByteSpan int_key(transform.integrity_key.data(), transform.integrity_key.size());
  if (resolved.kind == Kind::kAead) {
    // RFC 4106 §8.1, RFC 7634 §2: KEYMAT is the key, then the 4-byte salt.
    const size_t key_size = crypto::AeadKeySize(*resolved.aead);
    sa->salt_ = SecretBytes(std::string_view(
        reinterpret_cast<const char*>(enc_key.data()) + key_size, crypto::kAeadSaltSize));
    for (WorkerCrypto& w : sa->workers_) {
      Result<crypto::Aead> aead = crypto::Aead::Create(*resolved.aead, enc_key.first(key_size));
      if (!aead.ok()) return aead.error();
      w.aead.emplace(std::move(aead).value());
    }
    return sa;
  }
  for (WorkerCrypto& w : sa->workers_) {
    if (resolved.kind == Kind::kCbcHmac) {
      Result<crypto::CbcCipher> cbc = crypto::CbcCipher::Create(*resolved.cbc, enc_key);
      if (!cbc.ok()) return cbc.error();
      w.cbc.emplace(std::move(cbc).value());
      if (outbound) {
        Result<IvGenerator> iv = IvGenerator::Create();
        if (!iv.ok()) return iv.error();
        w.iv.emplace(std::move(iv).value());
      }
    }
    Result<crypto::Integrity> integrity = crypto::Integrity::Create(*resolved.integrity, int_key);
    if (!integrity.ok()) return integrity.error();
    w.integrity.emplace(std::move(integrity).value());
  }
  return sa;
}

}  // namespace ipsec::engine::esp
