#include "engine/crypto/openssl_util.h"

#include <openssl/err.h>
#include <openssl/provider.h>

#include <ctime>
#include <map>
#include <mutex>

namespace ipsec::engine::crypto {

void OpenSslFree::operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
void OpenSslFree::operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
void OpenSslFree::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
void OpenSslFree::operator()(X509* p) const { X509_free(p); }
void OpenSslFree::operator()(X509_STORE* p) const { X509_STORE_free(p); }

namespace internal {

Error OpenSslError(ErrorCode code, std::string_view what) {
  std::string message(what);
  unsigned long first = ERR_get_error();
  if (first != 0) {
    char buf[256];
    ERR_error_string_n(first, buf, sizeof(buf));
    message += ": ";
    message += buf;
  } else {
    message += ": OpenSSL reported no reason";
  }
  ERR_clear_error();
  return MakeError(code, std::move(message));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

const EVP_MD* FetchedDigest(Hash hash) {
  // Fetched once; never freed (they live as long as the process, like OpenSSL's own tables).
  static const EVP_MD* const kDigests[] = {
      EVP_MD_fetch(nullptr, "MD5", nullptr),    EVP_MD_fetch(nullptr, "SHA1", nullptr),
      EVP_MD_fetch(nullptr, "SHA256", nullptr), EVP_MD_fetch(nullptr, "SHA384", nullptr),
      EVP_MD_fetch(nullptr, "SHA512", nullptr),
  };
  auto index = static_cast<size_t>(hash);
  return index < std::size(kDigests) ? kDigests[index] : nullptr;
}

EVP_MAC* FetchedHmac() {
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return kHmac;
}

namespace {

// Loads OpenSSL 3's legacy provider (single DES) once, on first use of DES. Loading a
// provider explicitly stops OpenSSL from loading the default one implicitly, so the default
// provider is loaded too (a no-op if it is already active). Both stay loaded for the life of
// the process; the handles are kept so that they stay reachable.
bool LoadLegacyProvider() {
  static OSSL_PROVIDER* const kDefault = OSSL_PROVIDER_load(nullptr, "default");
  static OSSL_PROVIDER* const kLegacy = OSSL_PROVIDER_load(nullptr, "legacy");
  return kDefault != nullptr && kLegacy != nullptr;
}

}  // namespace

const EVP_CIPHER* FetchedCipher(const char* name, bool legacy) {
  static std::mutex mu;
  static std::map<std::string, EVP_CIPHER*>* cache = new std::map<std::string, EVP_CIPHER*>();
  if (legacy && !LoadLegacyProvider()) return nullptr;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(name);
  if (it != cache->end()) return it->second;
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (cipher != nullptr) cache->emplace(name, cipher);  // a failure is retried next time
  return cipher;
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(len));
}

PkeyPtr UpRef(EVP_PKEY* key) {
  if (key != nullptr) EVP_PKEY_up_ref(key);
  return PkeyPtr(key);
}

X509Ptr UpRef(X509* cert) {
  if (cert != nullptr) X509_up_ref(cert);
  return X509Ptr(cert);
}

std::string FormatUnixTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace internal
}  // namespace ipsec::engine::crypto
