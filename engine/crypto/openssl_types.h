#pragma once

#include <memory>

// OpenSSL's own structure tags (<openssl/types.h> typedefs them as EVP_CIPHER_CTX, EVP_MAC_CTX,
// EVP_PKEY, X509 and X509_STORE), declared here so that engine/crypto's public headers can own
// OpenSSL objects without including <openssl/...>: only engine/crypto's .cc files do
// (../shared/STYLE.md (c)).
struct evp_cipher_ctx_st;
struct evp_mac_ctx_st;
struct evp_pkey_st;
struct x509_st;
struct x509_store_st;

namespace ipsec::engine::crypto {

// Frees an OpenSSL object with its own free function (EVP_CIPHER_CTX_free, ...). Defined in
// openssl_util.cc.
struct OpenSslFree {
  void operator()(evp_cipher_ctx_st* p) const;
  void operator()(evp_mac_ctx_st* p) const;
  void operator()(evp_pkey_st* p) const;
  void operator()(x509_st* p) const;
  void operator()(x509_store_st* p) const;
};

// Sole ownership of one OpenSSL object (RAII, ../shared/STYLE.md rule 10).
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

}  // namespace ipsec::engine::crypto
