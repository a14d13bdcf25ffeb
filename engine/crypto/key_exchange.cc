#include "engine/crypto/key_exchange.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <string_view>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

using internal::BignumPtr;
using internal::PkeyCtxPtr;
using internal::PkeyPtr;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, internal::FreeWith<OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, internal::FreeWith<OSSL_PARAM_free>>;

enum class Kind { kModp, kEcp, kX25519 };

struct GroupInfo {
  Group group;
  const char* name;
  Kind kind;
  size_t size;            // prime bytes (MODP), field bytes (ECP), 32 (X25519)
  const char* ossl_name;  // OpenSSL's group or curve name
};

constexpr GroupInfo kGroups[] = {
    {Group::kModp1024, "MODP-1024", Kind::kModp, 128, nullptr},
    {Group::kModp2048, "MODP-2048", Kind::kModp, 256, "modp_2048"},
    {Group::kModp3072, "MODP-3072", Kind::kModp, 384, "modp_3072"},
    {Group::kEcp256, "ECP-256", Kind::kEcp, 32, "P-256"},
    {Group::kEcp384, "ECP-384", Kind::kEcp, 48, "P-384"},
    {Group::kEcp521, "ECP-521", Kind::kEcp, 66, "P-521"},
    {Group::kCurve25519, "Curve25519", Kind::kX25519, 32, "X25519"},
};
constexpr size_t kGroupCount = std::size(kGroups);
constexpr size_t kMaxPublicSize = 384;

// RFC 2409 §6.2, the Second Oakley Group: 2^1024 - 2^960 - 1 + 2^64 * { [2^894 pi] + 129093 }.
// (OpenSSL 3.0 names the RFC 3526 groups but not this one.)
constexpr char kModp1024Prime[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";

const GroupInfo* FindGroup(Group group) {
  for (const GroupInfo& info : kGroups) {
    if (info.group == group) return &info;
  }
  return nullptr;
}

size_t IndexOf(const GroupInfo& info) { return static_cast<size_t>(&info - kGroups); }

PkeyPtr ParamsFromData(const char* key_type, const OSSL_PARAM* params, int selection) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, key_type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, selection, const_cast<OSSL_PARAM*>(params)) != 1) {
    return nullptr;
  }
  return PkeyPtr(pkey);
}

PkeyPtr BuildModp1024Params() {
  BIGNUM* p_raw = nullptr;
  if (BN_hex2bn(&p_raw, kModp1024Prime) == 0) return nullptr;
  BignumPtr p(p_raw);
  BignumPtr g(BN_new());
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  // Generator 2. No q: OpenSSL 3.0's key generation refuses a q as long as p's (a safe prime
  // has q = (p - 1) / 2) and draws a full-length exponent without one.
  if (g == nullptr || bld == nullptr || BN_set_word(g.get(), 2) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, p.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, g.get()) != 1) {
    return nullptr;
  }
  ParamsPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (params == nullptr) return nullptr;
  return ParamsFromData("DH", params.get(), EVP_PKEY_KEY_PARAMETERS);
}

PkeyPtr BuildNamedParams(const GroupInfo& info) {
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                       const_cast<char*>(info.ossl_name), 0),
      OSSL_PARAM_construct_end(),
  };
  return ParamsFromData(info.kind == Kind::kModp ? "DH" : "EC", params, EVP_PKEY_KEY_PARAMETERS);
}

// Group parameters, built once per process and never freed. For MODP, also p - 1.
struct GroupParams {
  EVP_PKEY* params = nullptr;
  BIGNUM* p_minus_1 = nullptr;
};

const GroupParams& ParamsFor(const GroupInfo& info) {
  static std::once_flag once[kGroupCount];
  static GroupParams cache[kGroupCount];
  const size_t i = IndexOf(info);
  std::call_once(once[i], [&info, i] {
    if (info.kind == Kind::kX25519) return;
    PkeyPtr params =
        info.group == Group::kModp1024 ? BuildModp1024Params() : BuildNamedParams(info);
    if (params == nullptr) return;
    if (info.kind == Kind::kModp) {
      BIGNUM* p = nullptr;
      if (EVP_PKEY_get_bn_param(params.get(), OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
          BN_sub_word(p, 1) != 1) {
        BN_free(p);
        return;
      }
      cache[i].p_minus_1 = p;
    }
    cache[i].params = params.release();
  });
  return cache[i];
}

Result<Bytes> EncodePublic(const GroupInfo& info, EVP_PKEY* key) {
  switch (info.kind) {
    case Kind::kModp: {
      BIGNUM* pub_raw = nullptr;
      if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &pub_raw) != 1) break;
      BignumPtr pub(pub_raw);
      Bytes out(info.size);
      if (BN_bn2binpad(pub.get(), out.data(), static_cast<int>(out.size())) < 0) break;
      return out;
    }
    case Kind::kEcp: {
      uint8_t buf[1 + 2 * 66];
      size_t len = 0;
      if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf),
                                          &len) != 1 ||
          len != 1 + 2 * info.size || buf[0] != POINT_CONVERSION_UNCOMPRESSED) {
        break;
      }
      return Bytes(buf + 1, buf + len);  // RFC 5903 §7: x || y, no 0x04
    }
    case Kind::kX25519: {
      Bytes out(32);
      size_t len = out.size();
      if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != 32) break;
      return out;
    }
  }
  return internal::OpenSslError(ErrorCode::kInternal,
                                std::string(info.name) + " public value encoding");
}

Result<std::unique_ptr<KeyExchange>> Unsupported(Group group) {
  return MakeError(
      ErrorCode::kUnimplemented,
      "Diffie-Hellman group " + std::to_string(static_cast<uint16_t>(group)) + " is not supported");
}

}  // namespace

bool IsSupportedGroup(uint16_t id) { return FindGroup(static_cast<Group>(id)) != nullptr; }

const char* GroupName(Group group) {
  const GroupInfo* info = FindGroup(group);
  return info != nullptr ? info->name : "unknown";
}

size_t PublicValueSize(Group group) {
  const GroupInfo* info = FindGroup(group);
  if (info == nullptr) return 0;
  return info->kind == Kind::kEcp ? 2 * info->size : info->size;
}

size_t SharedSecretSize(Group group) {
  const GroupInfo* info = FindGroup(group);
  return info != nullptr ? info->size : 0;
}

bool IsLegacy(Group group) { return group == Group::kModp1024; }

Result<std::unique_ptr<KeyExchange>> KeyExchange::Generate(Group group) {
  const GroupInfo* info = FindGroup(group);
  if (info == nullptr) return Unsupported(group);
  PkeyCtxPtr ctx;
  if (info->kind == Kind::kX25519) {
    ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
  } else {
    EVP_PKEY* params = ParamsFor(*info).params;
    if (params == nullptr) {
      return internal::OpenSslError(ErrorCode::kUnavailable,
                                    std::string(info->name) + " parameters");
    }
    ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, params, nullptr));
  }
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal,
                                  std::string(info->name) + " key generation");
  }
  PkeyPtr key(raw);
  Result<Bytes> public_value = EncodePublic(*info, key.get());
  if (!public_value.ok()) return public_value.error();
  return std::unique_ptr<KeyExchange>(
      new KeyExchange(group, std::move(key), std::move(public_value).value()));
}

namespace {

Error BadPeer(const GroupInfo& info, std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string(info.name) + " peer public value rejected: " + std::string(why));
}

// The peer's Key Exchange Data as an OpenSSL key of our group, after the checks of RFC 6989.
Result<PkeyPtr> DecodePeer(const GroupInfo& info, ByteSpan peer) {
  const size_t expected = info.kind == Kind::kEcp ? 2 * info.size : info.size;
  if (peer.size() != expected) {
    return BadPeer(info, "length " + std::to_string(peer.size()) + ", expected " +
                             std::to_string(expected) + " (RFC 7296 §3.4, RFC 5903 §7)");
  }
  if (info.kind == Kind::kX25519) {
    PkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.data(), 32));
    if (key == nullptr) return internal::OpenSslError(ErrorCode::kInternal, "X25519 import");
    return key;
  }
  const GroupParams& params = ParamsFor(info);
  if (params.params == nullptr) {
    return internal::OpenSslError(ErrorCode::kUnavailable, std::string(info.name) + " params");
  }
  uint8_t encoded[1 + kMaxPublicSize];
  size_t encoded_len = 0;
  if (info.kind == Kind::kModp) {
    // RFC 7296 §2.12 and RFC 6989 §2.1: 1 < y < p-1. For safe primes (groups 2, 14, 15) this
    // excludes the only small subgroup, {1, p-1}, so no y^q check is needed.
    BignumPtr y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
    if (y == nullptr) return internal::OpenSslError(ErrorCode::kInternal, "BN_bin2bn");
    if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), params.p_minus_1) >= 0) {
      return BadPeer(info, "not 1 < y < p-1 (RFC 7296 §2.12, RFC 6989 §2.1)");
    }
    std::copy(peer.begin(), peer.end(), encoded);
    encoded_len = peer.size();
  } else {
    encoded[0] = POINT_CONVERSION_UNCOMPRESSED;  // RFC 5903 §7 omits it; OpenSSL wants it
    std::copy(peer.begin(), peer.end(), encoded + 1);
    encoded_len = 1 + peer.size();
  }
  PkeyPtr key(EVP_PKEY_new());
  if (key == nullptr || EVP_PKEY_copy_parameters(key.get(), params.params) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(info.name) + " import");
  }
  // For ECP this checks that the point is on the curve (RFC 6989 §2.3): the coordinates are
  // below p and satisfy the curve equation. x || y cannot encode the point at infinity.
  if (EVP_PKEY_set1_encoded_public_key(key.get(), encoded, encoded_len) != 1) {
    internal::ClearOpenSslErrors();
    return BadPeer(info, info.kind == Kind::kEcp ? "not a point on the curve (RFC 6989 §2.3)"
                                                 : "not a valid public value");
  }
  return key;
}

}  // namespace

Result<SecretBytes> KeyExchange::ComputeShared(ByteSpan peer_public) const {
  const GroupInfo& info = *FindGroup(group_);
  Result<PkeyPtr> peer = DecodePeer(info, peer_public);
  if (!peer.ok()) return peer.error();
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  // RFC 7296 §2.14: g^ir padded with zeros to the length of the modulus.
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      (info.kind == Kind::kModp && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1)) {
    return internal::OpenSslError(ErrorCode::kInternal, std::string(info.name) + " derive");
  }
  // The peer value is checked above (RFC 6989); OpenSSL's own full check would add a
  // modular exponentiation (MODP) or a scalar multiplication (ECP) per handshake.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer->get(), /*validate_peer=*/0) != 1) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument,
                                  std::string(info.name) + " peer public value rejected");
  }
  uint8_t secret[kMaxPublicSize];
  size_t len = sizeof(secret);
  if (EVP_PKEY_derive(ctx.get(), secret, &len) != 1) {
    if (info.kind == Kind::kX25519) {
      // OpenSSL refuses an all-zero X25519 result, i.e. a low-order peer point.
      internal::ClearOpenSslErrors();
      return BadPeer(info, "all-zero shared secret, a low-order point (RFC 8031 §2.3)");
    }
    return internal::OpenSslError(ErrorCode::kInvalidArgument, std::string(info.name) + " derive");
  }
  uint8_t any = 0;
  for (size_t i = 0; i < len; ++i) any |= secret[i];
  Result<SecretBytes> result =
      len != info.size ? Result<SecretBytes>(MakeError(ErrorCode::kInternal,
                                                       std::string(info.name) + " secret size"))
      : any == 0 ? Result<SecretBytes>(BadPeer(info, "all-zero shared secret (RFC 8031 §2.3)"))
                 : Result<SecretBytes>(
                       SecretBytes(std::string_view(reinterpret_cast<const char*>(secret), len)));
  OPENSSL_cleanse(secret, sizeof(secret));
  return result;
}

namespace {

Result<PkeyPtr> TestKeyX25519(ByteSpan priv) {
  PkeyPtr key(
      EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, priv.data(), priv.size()));
  if (key == nullptr) return internal::OpenSslError(ErrorCode::kInvalidArgument, "X25519 key");
  return key;
}

Result<PkeyPtr> KeyPairFromBuilder(const char* key_type, OSSL_PARAM_BLD* bld) {
  ParamsPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyPtr key =
      params != nullptr ? ParamsFromData(key_type, params.get(), EVP_PKEY_KEYPAIR) : nullptr;
  if (key == nullptr) return internal::OpenSslError(ErrorCode::kInvalidArgument, key_type);
  return key;
}

Result<PkeyPtr> TestKeyEcp(const GroupInfo& info, ByteSpan priv) {
  // The public point priv * G, computed here because OpenSSL's import does not derive it.
  using GroupPtr = std::unique_ptr<EC_GROUP, internal::FreeWith<EC_GROUP_free>>;
  using PointPtr = std::unique_ptr<EC_POINT, internal::FreeWith<EC_POINT_free>>;
  GroupPtr group(EC_GROUP_new_by_curve_name(EC_curve_nist2nid(info.ossl_name)));
  BignumPtr d(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
  PointPtr point(group != nullptr ? EC_POINT_new(group.get()) : nullptr);
  uint8_t pub[1 + 2 * 66];
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (d == nullptr || point == nullptr || bld == nullptr ||
      EC_POINT_mul(group.get(), point.get(), d.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, pub,
                         1 + 2 * info.size, nullptr) != 1 + 2 * info.size ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, info.ossl_name, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub,
                                       1 + 2 * info.size) != 1) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument, std::string(info.name) + " key");
  }
  return KeyPairFromBuilder("EC", bld.get());
}

Result<PkeyPtr> TestKeyModp(const GroupInfo& info, ByteSpan priv) {
  EVP_PKEY* params = ParamsFor(info).params;
  BIGNUM *p = nullptr, *q = nullptr, *g = nullptr;
  if (params == nullptr || EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_P, &p) != 1 ||
      EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_G, &g) != 1) {
    BN_free(p);
    return internal::OpenSslError(ErrorCode::kInternal, std::string(info.name) + " params");
  }
  (void)EVP_PKEY_get_bn_param(params, OSSL_PKEY_PARAM_FFC_Q, &q);
  BignumPtr p_owned(p), q_owned(q), g_owned(g);
  BignumPtr x(BN_bin2bn(priv.data(), static_cast<int>(priv.size()), nullptr));
  BignumPtr y(BN_new());
  internal::BnCtxPtr bn_ctx(BN_CTX_new());
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (x == nullptr || y == nullptr || bn_ctx == nullptr || bld == nullptr ||
      BN_mod_exp(y.get(), g, x.get(), p, bn_ctx.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_P, p) != 1 ||
      (q != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_Q, q) != 1) ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_FFC_G, g) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument, std::string(info.name) + " key");
  }
  return KeyPairFromBuilder("DH", bld.get());
}

}  // namespace

Result<std::unique_ptr<KeyExchange>> KeyExchange::FromPrivateForTest(Group group,
                                                                     ByteSpan private_key) {
  const GroupInfo* info = FindGroup(group);
  if (info == nullptr) return Unsupported(group);
  if (private_key.size() != info->size) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        std::string(info->name) + " private key must be " + std::to_string(info->size) + " bytes");
  }
  Result<PkeyPtr> key = info->kind == Kind::kX25519 ? TestKeyX25519(private_key)
                        : info->kind == Kind::kEcp  ? TestKeyEcp(*info, private_key)
                                                    : TestKeyModp(*info, private_key);
  if (!key.ok()) return key.error();
  Result<Bytes> public_value = EncodePublic(*info, key->get());
  if (!public_value.ok()) return public_value.error();
  return std::unique_ptr<KeyExchange>(
      new KeyExchange(group, std::move(key).value(), std::move(public_value).value()));
}

}  // namespace ipsec::engine::crypto
