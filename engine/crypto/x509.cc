#include "engine/crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <climits>
#include <ctime>

#include "engine/crypto/hash.h"
#include "engine/crypto/openssl_util.h"

namespace ipsec::engine::crypto {
namespace {

using internal::X509Ptr;

int64_t ToUnix(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string AsString(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

}  // namespace

// Wraps a parsed certificate: keeps its DER and checks that its key is one we support.
// (A friend of Certificate and PublicKey, whose constructors are private.)
class CertificateFactory {
 public:
  static Result<Certificate> Make(X509Ptr cert, Bytes der) {
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    if (key == nullptr) {
      return internal::OpenSslError(ErrorCode::kInvalidArgument,
                                    "certificate public key unreadable");
    }
    Result<PublicKey> public_key = PublicKey::Adopt(internal::UpRef(key));
    if (!public_key.ok()) {
      return MakeError(public_key.error().code,
                       "certificate \"" +
                           internal::NameToString(X509_get_subject_name(cert.get())) +
                           "\": " + public_key.error().message);
    }
    return Certificate(std::move(cert), std::move(der), std::move(public_key).value());
  }
};

namespace {

Result<Certificate> Adopt(X509Ptr cert, Bytes der) {
  return CertificateFactory::Make(std::move(cert), std::move(der));
}

// The next certificate block of `bio` (as PEM_read_bio_X509 finds them: "CERTIFICATE" or the
// older "X509 CERTIFICATE", other blocks skipped), with the DER it holds kept as written in
// `der`, not re-encoded (Certificate::Der() is what CERT payloads carry). Null at the end of the
// input or for a damaged block, the reason in OpenSSL's error queue.
X509Ptr ReadPemCertificate(BIO* bio, Bytes* der) {
  unsigned char* data = nullptr;
  long length = 0;
  if (PEM_bytes_read_bio(&data, &length, nullptr, PEM_STRING_X509, bio, nullptr, nullptr) != 1) {
    return nullptr;
  }
  const unsigned char* p = data;
  X509Ptr cert(d2i_X509(nullptr, &p, length));
  if (cert != nullptr) der->assign(static_cast<const unsigned char*>(data), p);
  OPENSSL_free(data);
  return cert;
}

}  // namespace

Result<Certificate> Certificate::FromDer(ByteSpan der) {
  if (der.size() > INT_MAX) return MakeError(ErrorCode::kInvalidArgument, "certificate size");
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument, "not a DER certificate");
  }
  if (p != der.data() + der.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "trailing bytes after the certificate");
  }
  return Adopt(std::move(cert), Bytes(der.begin(), der.end()));
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Bytes der;
  X509Ptr cert(bio ? ReadPemCertificate(bio.get(), &der) : nullptr);
  if (cert == nullptr) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument, "no PEM certificate");
  }
  return Adopt(std::move(cert), std::move(der));
}

Result<std::vector<Certificate>> Certificate::ParsePemChain(std::string_view text) {
  internal::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::vector<Certificate> out;
  while (bio != nullptr) {
    Bytes der;
    X509Ptr cert(ReadPemCertificate(bio.get(), &der));
    if (cert == nullptr) break;  // end of input (or a damaged block: reported below)
    Result<Certificate> c = Adopt(std::move(cert), std::move(der));
    if (!c.ok()) return c.error().WithPathPrefix("certificate " + std::to_string(out.size()));
    out.push_back(std::move(c).value());
  }
  // Reading ends with "no start line" at the end of the input; anything else is a damaged
  // block.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (!clean_end && err != 0) {
    return internal::OpenSslError(ErrorCode::kInvalidArgument,
                                  "PEM certificate " + std::to_string(out.size()));
  }
  internal::ClearOpenSslErrors();
  if (out.empty()) return MakeError(ErrorCode::kInvalidArgument, "no PEM certificate");
  return out;
}

Certificate::Certificate(const Certificate& other)
    : cert_(internal::UpRef(other.cert_.get())), der_(other.der_), key_(other.key_) {}

Certificate& Certificate::operator=(const Certificate& other) {
  if (this != &other) {
    cert_ = internal::UpRef(other.cert_.get());
    der_ = other.der_;
    key_ = other.key_;
  }
  return *this;
}

std::string Certificate::Pem() const {
  // The octets we parsed (and send in CERT payloads), not OpenSSL's re-encoding of them: a
  // certificate in BER rather than DER would come out as other octets.
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || der_.size() > LONG_MAX ||
      PEM_write_bio(bio.get(), PEM_STRING_X509, "", der_.data(), static_cast<long>(der_.size())) <=
          0) {
    internal::ClearOpenSslErrors();
    return {};
  }
  return internal::BioToString(bio.get());
}

std::string Certificate::SubjectDn() const {
  return internal::NameToString(X509_get_subject_name(cert_.get()));
}

std::string Certificate::IssuerDn() const {
  return internal::NameToString(X509_get_issuer_name(cert_.get()));
}

Bytes Certificate::SubjectDer() const {
  return internal::NameToDer(X509_get_subject_name(cert_.get()));
}

Bytes Certificate::IssuerDer() const {
  return internal::NameToDer(X509_get_issuer_name(cert_.get()));
}

SubjectAltNames Certificate::AltNames() const {
  SubjectAltNames out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      out.dns.push_back(AsString(name->d.dNSName));
    } else if (name->type == GEN_EMAIL) {
      out.email.push_back(AsString(name->d.rfc822Name));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      if (ASN1_STRING_length(ip) == 4) {
        out.ip.push_back(IpAddress::FromV4Bytes(ASN1_STRING_get0_data(ip)));
      } else if (ASN1_STRING_length(ip) == 16) {
        out.ip.push_back(IpAddress::FromV6Bytes(ASN1_STRING_get0_data(ip)));
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string Certificate::SerialHex() const {
  internal::BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  return out;
}

int64_t Certificate::NotBefore() const { return ToUnix(X509_get0_notBefore(cert_.get())); }

int64_t Certificate::NotAfter() const { return ToUnix(X509_get0_notAfter(cert_.get())); }

PublicKey Certificate::Key() const { return key_; }

Bytes Certificate::SubjectPublicKeyInfoSha1() const {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert_.get()), &der);
  if (len <= 0) {
    internal::ClearOpenSslErrors();
    return {};
  }
  Bytes sha1 = Digest(Hash::kSha1, ByteSpan(der, static_cast<size_t>(len)));
  OPENSSL_free(der);
  return sha1;
}

bool Certificate::IsCa() const { return (X509_get_extension_flags(cert_.get()) & EXFLAG_CA) != 0; }

bool Certificate::IsSelfIssued() const {
  return X509_NAME_cmp(X509_get_subject_name(cert_.get()), X509_get_issuer_name(cert_.get())) == 0;
}

}  // namespace ipsec::engine::crypto
