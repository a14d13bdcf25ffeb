#pragma once

// Internal to engine/crypto: OpenSSL plumbing shared by the module's .cc files. Other modules
// never include this header (it includes <openssl/...>); they use the public headers beside it.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/crypto/hash.h"
#include "engine/crypto/openssl_types.h"

namespace ipsec::engine::crypto::internal {

// unique_ptr deleter calling an OpenSSL free function.
template <auto kFree>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};

using BioPtr = std::unique_ptr<BIO, FreeWith<BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, FreeWith<BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, FreeWith<BN_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<EVP_MD_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, FreeWith<EVP_PKEY_CTX_free>>;
using PkeyPtr = OpenSslPtr<EVP_PKEY>;
using X509Ptr = OpenSslPtr<X509>;

// An Error whose message is `what` followed by the first OpenSSL error on this thread's queue
// (ERR_error_string_n), e.g. "AES-128-GCM key setup: error:1C800066:Provider routines::cipher
// operation failed". The queue is emptied. Callers never pass key material in `what`.
Error OpenSslError(ErrorCode code, std::string_view what);

// Empties this thread's OpenSSL error queue (after an expected failure that we report in our
// own words, so that stale entries never reach a later message).
void ClearOpenSslErrors();

// The fetched digest for `hash`, fetched once per process (implicit fetches on every call are
// slow); nullptr if the configured providers lack it.
const EVP_MD* FetchedDigest(Hash hash);

// The fetched HMAC implementation, fetched once per process.
EVP_MAC* FetchedHmac();

// The fetched cipher `name`, fetched once per process. With `legacy`, OpenSSL 3's legacy
// provider is loaded first (once, only when an algorithm that lives there is first used). nullptr
// if unavailable; the reason is then in the OpenSSL error queue.
const EVP_CIPHER* FetchedCipher(const char* name, bool legacy);

// Copies a BIO's memory contents into a string.
std::string BioToString(BIO* bio);

// Takes one more reference on a shared OpenSSL object (for our copyable wrappers).
PkeyPtr UpRef(EVP_PKEY* key);
X509Ptr UpRef(X509* cert);

// A Name in the one-line text form of dn.h, and its DER (both defined in dn.cc).
std::string NameToString(const X509_NAME* name);
Bytes NameToDer(const X509_NAME* name);

// Unix seconds to "2026-01-01T00:00:00Z".
std::string FormatUnixTime(int64_t unix_seconds);

}  // namespace ipsec::engine::crypto::internal
