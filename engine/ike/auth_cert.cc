#include "engine/ike/auth_cert.h"

#include <algorithm>

#include "engine/crypto/dn.h"
#include "engine/ike/codec/cert_payload.h"

namespace ipsec::engine::ike {
namespace {

using codec::IdType;
using codec::NotifyType;
using codec::PayloadType;

// A peer's chain longer than this is cut (untrusted input; TrustStore allows a few levels).
constexpr size_t kMaxPeerCertificates = 8;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

std::string Text(const Bytes& data) { return std::string(data.begin(), data.end()); }

std::string Join(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

Status Mismatch(const Identity& id, const crypto::Certificate& cert, const std::string& holds) {
  return MakeError(ErrorCode::kInvalidArgument, "ID mismatch: " + id.ToString() +
                                                    " is not named by certificate \"" +
                                                    cert.SubjectDn() + "\" (" + holds + ")");
}

Status MatchName(const Identity& id, const crypto::Certificate& cert,
                 const std::vector<std::string>& names, const char* what) {
  const std::string wanted = Text(id.data);
  for (const auto& n : names) {
    if (EqualsIgnoreCase(n, wanted)) return Status::Ok();
  }
  return Mismatch(id, cert, std::string("subjectAltName ") + what + ": " + Join(names));
}

const char* ProblemLabel(crypto::CertificateProblem problem) {
  switch (problem) {
    case crypto::CertificateProblem::kExpired:
      return "expired certificate";
    case crypto::CertificateProblem::kNotYetValid:
      return "certificate not yet valid";
    case crypto::CertificateProblem::kUntrustedIssuer:
      return "unknown CA";
    case crypto::CertificateProblem::kBadSignature:
      return "bad certificate signature";
    case crypto::CertificateProblem::kNotCa:
      return "invalid certificate path";
    default:
      return "certificate rejected";
  }
}

}  // namespace

bool CertificateUsable(const Credential& c) {
  return c.kind == policy::AuthKind::kCertificate && c.trust != nullptr &&
         c.local_certificate != nullptr && !c.local_certificate->chain.empty();
}

std::string CertificateUnusableReason(const Credential& c) {
  if (c.trust == nullptr) {
    return "certificate authority '" + c.certificate_authority + "' is not loaded";
  }
  if (c.local_certificate == nullptr || c.local_certificate->chain.empty()) {
    return "no certificate of ours is loaded for certificate authority '" +
           c.certificate_authority + "'";
  }
  return "usable";
}

Identity CertificateIdentity(const LocalCertificate& local,
                             const std::optional<Identity>& configured) {
  const crypto::Certificate& cert = local.chain.front();
  if (configured && MatchIdentity(*configured, cert).ok()) return *configured;
  return Identity::DerDn(cert.SubjectDer());
}

Status MatchIdentity(const Identity& id, const crypto::Certificate& cert) {
  const crypto::SubjectAltNames alt = cert.AltNames();
  switch (id.type) {
    case IdType::kDerAsn1Dn:
      if (crypto::DnEqual(id.data, cert.SubjectDer())) return Status::Ok();
      return Mismatch(id, cert, "its subject differs");
    case IdType::kFqdn:
      return MatchName(id, cert, alt.dns, "DNS");
    case IdType::kRfc822Addr:
      return MatchName(id, cert, alt.email, "email");
    case IdType::kIpv4Addr:
    case IdType::kIpv6Addr: {
      std::vector<std::string> ips;
      for (const IpAddress& a : alt.ip) {
        if (Identity::FromAddress(a) == id) return Status::Ok();
        ips.push_back(a.ToString());
      }
      return Mismatch(id, cert, "subjectAltName IP: " + Join(ips));
    }
    default:
      return Mismatch(id, cert,
                      "an ID of type " + std::to_string(static_cast<int>(id.type)) +
                          " cannot be matched against a certificate");
  }
}

void AddCertificates(const LocalCertificate& local, OutMessage& out) {
  for (const crypto::Certificate& c : local.chain) {
    out.Add(PayloadType::kCert, codec::CertPayload{codec::CertEncoding::kX509Signature, c.Der()});
  }
}

void AddCertificateRequest(const std::vector<const crypto::TrustStore*>& stores, OutMessage& out) {
  Bytes authorities;
  std::vector<Bytes> seen;
  for (const crypto::TrustStore* store : stores) {
    for (const crypto::Certificate& ca : store->anchors()) {
      Bytes hash = ca.SubjectPublicKeyInfoSha1();
      if (std::find(seen.begin(), seen.end(), hash) != seen.end()) continue;
      authorities.insert(authorities.end(), hash.begin(), hash.end());
      seen.push_back(std::move(hash));
    }
  }
  if (authorities.empty()) return;
  out.Add(PayloadType::kCertReq,
          codec::CertReqPayload{codec::CertEncoding::kX509Signature, std::move(authorities)});
}

std::vector<const crypto::TrustStore*> TrustStoresOf(const NegotiateRule& rule) {
  std::vector<const crypto::TrustStore*> out;
  for (const Credential& c : rule.credentials) {
    if (c.kind != policy::AuthKind::kCertificate || c.trust == nullptr) continue;
    if (std::find(out.begin(), out.end(), c.trust.get()) == out.end()) out.push_back(c.trust.get());
  }
  return out;
}

std::vector<const crypto::TrustStore*> TrustStoresOf(const IkeConfig& config) {
  std::vector<const crypto::TrustStore*> out;
  auto add = [&out](const NegotiateRule& rule) {
    for (const crypto::TrustStore* t : TrustStoresOf(rule)) {
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
  };
  for (const NegotiateRule& rule : config.rules) add(rule);
  if (config.default_response) add(*config.default_response);
  return out;
}

void AddSignatureHashes(OutMessage& out) {
  out.AddNotify(NotifyType::kSignatureHashAlgorithms, EncodeSignatureHashes(OurSignatureHashes()));
}

std::vector<uint16_t> PeerSignatureHashes(const InMessage& in) {
  const codec::NotifyPayload* n = in.Notify(NotifyType::kSignatureHashAlgorithms);
  return n == nullptr ? std::vector<uint16_t>{} : DecodeSignatureHashes(n->data);
}

PeerCertificates::PeerCertificates(const InMessage& in) {
  auto certs = in.FindAll<codec::CertPayload>(PayloadType::kCert);
  if (certs.size() > kMaxPeerCertificates) certs.resize(kMaxPeerCertificates);
  for (const codec::CertPayload* p : certs) {
    if (p->encoding != codec::CertEncoding::kX509Signature) continue;  // §3.6: we take X.509
    auto cert = crypto::Certificate::FromDer(p->data);
    if (!leaf_ && missing_.empty()) {
      // §3.6: the first certificate holds the key that verifies AUTH.
      if (cert.ok()) {
        leaf_ = std::move(cert).value();
      } else {
        missing_ = "the peer's certificate does not parse: " + cert.error().message;
      }
    } else if (cert.ok()) {
      intermediates_.push_back(std::move(cert).value());
    }
  }
  if (!leaf_ && missing_.empty()) {
    missing_ = certs.empty() ? "the peer sent no certificate (CERT payload)"
                             : "the peer sent no X.509 certificate we can use";
  }
}

Status PeerCertificates::Verify(const crypto::TrustStore& trust, const Identity& peer_id,
                                const codec::AuthPayload& auth, ByteSpan octets,
                                int64_t unix_now) const {
  if (!leaf_) return MakeError(ErrorCode::kInvalidArgument, missing_);
  auto cached = paths_.find(&trust);
  if (cached == paths_.end()) {
    crypto::CertificateProblem problem = crypto::CertificateProblem::kNone;
    auto path = trust.Verify(*leaf_, intermediates_, unix_now, &problem);
    Status s = path.ok()
                   ? Status::Ok()
                   : MakeError(ErrorCode::kInvalidArgument,
                               std::string(ProblemLabel(problem)) + ": " + path.error().message);
    cached = paths_.emplace(&trust, std::move(s)).first;
  }
  if (!cached->second.ok()) return cached->second;
  if (Status s = MatchIdentity(peer_id, *leaf_); !s.ok()) return s;
  if (!signature_) signature_ = VerifySignatureAuth(leaf_->Key(), auth, octets);
  if (!signature_->ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     signature_->detail + " \"" + leaf_->SubjectDn() + "\"");
  }
  return Status::Ok();
}

Result<codec::AuthPayload> CreateCertificateAuth(const LocalCertificate& local,
                                                 const std::vector<uint16_t>& peer_hashes,
                                                 ByteSpan octets) {
  auto auth = CreateSignatureAuth(local.key, peer_hashes, octets);
  if (!auth.ok()) {
    return MakeError(auth.error().code, "cannot sign AUTH with certificate '" + local.name +
                                            "': " + auth.error().message);
  }
  return auth;
}

}  // namespace ipsec::engine::ike
