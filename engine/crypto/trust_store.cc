#include "engine/crypto/trust_store.h"

#include <openssl/crypto.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <ctime>
#include <string>

#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, internal::FreeWith<X509_STORE_CTX_free>>;
struct FreeStack {  // frees the stack only: its certificates are borrowed
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using StackPtr = std::unique_ptr<STACK_OF(X509), FreeStack>;

// The longest path we follow (leaf, intermediates, anchor).
constexpr int kMaxDepth = 8;

std::string Quoted(const X509* cert) {
  return cert == nullptr ? std::string("(unknown)")
                         : "\"" + internal::NameToString(X509_get_subject_name(cert)) + "\"";
}

std::string Time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "(unreadable time)";
  return internal::FormatUnixTime(static_cast<int64_t>(timegm(&tm)));
}

CertificateProblem ProblemOf(int error) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return CertificateProblem::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return CertificateProblem::kNotYetValid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return CertificateProblem::kUntrustedIssuer;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
      return CertificateProblem::kBadSignature;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return CertificateProblem::kNotCa;
    default:
      return CertificateProblem::kOther;
  }
}

// The reason for `error` at certificate `cert` (issued by `issuer`, when OpenSSL knows it).
std::string Describe(int error, const X509* cert, const X509* issuer, int64_t now) {
  const std::string subject = "certificate " + Quoted(cert);
  const std::string at = " (now " + internal::FormatUnixTime(now) + ")";
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return subject + " expired at " + Time(X509_get0_notAfter(cert)) + at;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return subject + " is not valid before " + Time(X509_get0_notBefore(cert)) + at;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return subject + " has an untrusted issuer \"" +
             internal::NameToString(X509_get_issuer_name(cert)) +
             "\": not in the trust store, and no intermediate certificate leads to it";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return subject + " is self-signed and not in the trust store";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
      return subject + " has a bad signature: it does not verify with the key of its issuer " +
             Quoted(issuer);
    case X509_V_ERR_INVALID_CA:
      return subject + " is not a CA (basicConstraints) but issued a certificate in the path";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return subject + " is beyond its issuer's path length constraint";
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
      return subject + " may not sign certificates (keyUsage lacks keyCertSign)";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return subject + ": certificate path longer than " + std::to_string(kMaxDepth);
    default:
      return subject + ": " + X509_verify_cert_error_string(error);
  }
}

}  // namespace

const char* CertificateProblemName(CertificateProblem problem) {
  switch (problem) {
    case CertificateProblem::kNone:
      return "none";
    case CertificateProblem::kExpired:
      return "expired";
    case CertificateProblem::kNotYetValid:
      return "not_yet_valid";
    case CertificateProblem::kUntrustedIssuer:
      return "untrusted_issuer";
    case CertificateProblem::kBadSignature:
      return "bad_signature";
    case CertificateProblem::kNotCa:
      return "not_ca";
    case CertificateProblem::kOther:
      return "other";
  }
  return "other";
}

TrustStore::TrustStore() : store_(X509_STORE_new()) {}

Status TrustStore::Add(const Certificate& ca) {
  if (!ca.IsCa()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "certificate \"" + ca.SubjectDn() +
                         "\" is not a CA certificate (basicConstraints cA), so it cannot be "
                         "a trust anchor");
  }
  for (const Certificate& anchor : anchors_) {
    if (anchor == ca) return Status::Ok();
  }
  if (store_ == nullptr || X509_STORE_add_cert(store_.get(), ca.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, "X509_STORE_add_cert");
  }
  anchors_.push_back(ca);
  anchor_spki_sha1_.push_back(ca.SubjectPublicKeyInfoSha1());
  return Status::Ok();
}

const Certificate* TrustStore::FindIssuerBySpkiSha1(ByteSpan sha1) const {
  for (size_t i = 0; i < anchors_.size(); ++i) {
    const Bytes& h = anchor_spki_sha1_[i];
    if (h.size() == sha1.size() && std::equal(h.begin(), h.end(), sha1.begin())) {
      return &anchors_[i];
    }
  }
  return nullptr;
}

Bytes TrustStore::CertReqAuthorities() const {
  Bytes out;
  for (const Bytes& h : anchor_spki_sha1_) out.insert(out.end(), h.begin(), h.end());
  return out;
}

Result<std::vector<Certificate>> TrustStore::Verify(const Certificate& leaf,
                                                    const std::vector<Certificate>& intermediates,
                                                    int64_t unix_now,
                                                    CertificateProblem* problem) const {
  if (problem != nullptr) *problem = CertificateProblem::kOther;
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  StackPtr untrusted(sk_X509_new_null());
  if (ctx == nullptr || untrusted == nullptr || store_ == nullptr) {
    return internal::OpenSslError(ErrorCode::kInternal, "certificate verification setup");
  }
  for (const Certificate& c : intermediates) {
    if (sk_X509_push(untrusted.get(), c.get()) <= 0) {  // borrowed: the stack does not own
      return internal::OpenSslError(ErrorCode::kInternal, "certificate verification setup");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store_.get(), leaf.get(), untrusted.get()) != 1) {
    return internal::OpenSslError(ErrorCode::kInternal, "certificate verification setup");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(unix_now));  // X509_V_FLAG_USE_CHECK_TIME
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_depth(param, kMaxDepth);
  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    X509* cert = X509_STORE_CTX_get_current_cert(ctx.get());
    // The issuer is the next certificate of the path built so far (OpenSSL's "current issuer"
    // is not always updated when a signature check fails).
    STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* issuer = built != nullptr && depth + 1 < sk_X509_num(built)
                       ? sk_X509_value(built, depth + 1)
                       : nullptr;
    internal::ClearOpenSslErrors();
    if (problem != nullptr) *problem = ProblemOf(error);
    return MakeError(ErrorCode::kInvalidArgument,
                     Describe(error, cert != nullptr ? cert : leaf.get(), issuer, unix_now));
  }
  // The path holds the very OpenSSL objects we passed in (the store shares the anchors').
  std::vector<Certificate> path;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    const X509* x = sk_X509_value(chain, i);
    const Certificate* known = x == leaf.get() ? &leaf : nullptr;
    for (const std::vector<Certificate>* list : {&intermediates, &anchors_}) {
      for (const Certificate& c : *list) {
        if (known == nullptr && c.get() == x) known = &c;
      }
    }
    if (known == nullptr) {
      return MakeError(ErrorCode::kInternal, "verified path holds an unknown certificate");
    }
    path.push_back(*known);
  }
  if (problem != nullptr) *problem = CertificateProblem::kNone;
  return path;
}

}  // namespace ipsec::engine::crypto
