#include "engine/crypto/prf.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace ipsec::engine::crypto {
namespace {

// Moves `bytes` into a SecretBytes and wipes the source.
SecretBytes ToSecret(uint8_t* bytes, size_t n) {
  SecretBytes secret(std::string_view(reinterpret_cast<const char*>(bytes), n));
  OPENSSL_cleanse(bytes, n);
  return secret;
}

}  // namespace

Bytes Prf::Compute(ByteSpan key, ByteSpan data) const { return Hmac(hash_, key, data); }

Result<SecretBytes> Prf::ComputeSecret(ByteSpan key, ByteSpan data) const {
  Result<HmacContext> ctx = HmacContext::Create(hash_, key);
  if (!ctx.ok()) return ctx.error();
  uint8_t out[64];
  if (Status s = ctx->Compute(data, out); !s.ok()) return s.error();
  return ToSecret(out, output_size());
}

Result<SecretBytes> Prf::PrfPlus(ByteSpan key, ByteSpan seed, size_t length) const {
  const size_t block = output_size();
  if (length > 255 * block) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "prf+ can produce at most 255 * " + std::to_string(block) + " bytes with " +
                         HashName(hash_) + ", " + std::to_string(length) +
                         " requested (RFC 7296 §2.13)");
  }
  Result<HmacContext> ctx = HmacContext::Create(hash_, key);
  if (!ctx.ok()) return ctx.error();
  std::string out(length, '\0');  // wiped below, whatever the outcome
  uint8_t t[64];                  // Tn
  size_t produced = 0;
  Status status;
  for (uint8_t n = 1; produced < length && status.ok(); ++n) {
    status = ctx->Reset();
    if (status.ok() && n > 1) status = ctx->Update(ByteSpan(t, block));
    if (status.ok()) status = ctx->Update(seed);
    if (status.ok()) status = ctx->Update(ByteSpan(&n, 1));
    if (status.ok()) status = ctx->Final(t);
    if (!status.ok()) break;
    size_t take = std::min(block, length - produced);
    std::copy(t, t + take, out.begin() + static_cast<std::ptrdiff_t>(produced));
    produced += take;
  }
  OPENSSL_cleanse(t, sizeof(t));
  Result<SecretBytes> result =
      status.ok() ? Result<SecretBytes>(SecretBytes(out)) : Result<SecretBytes>(status.error());
  OPENSSL_cleanse(out.data(), out.size());
  return result;
}

}  // namespace ipsec::engine::crypto
