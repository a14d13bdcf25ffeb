#include "engine/ike/certificate_store.h"

#include "engine/crypto/dn.h"

namespace ipsec::engine::ike {
namespace {

// The CA certificates `name` designates: a bundle by that name, else every CA certificate
// whose subject is that DN.
std::vector<const crypto::Certificate*> Designated(const CertificateStore& store,
                                                  const std::string& name) {
  std::vector<const crypto::Certificate*> out;
  if (auto it = store.trust_bundles.find(name); it != store.trust_bundles.end()) {
    for (const crypto::Certificate& c : it->second) out.push_back(&c);
    return out;
  }
  auto der = crypto::DnFromString(name);
  if (!der.ok()) return out;
  for (const auto& [bundle, certs] : store.trust_bundles) {
    for (const crypto::Certificate& c : certs) {
      if (crypto::DnEqual(c.SubjectDer(), *der)) out.push_back(&c);
    }
  }
  return out;
}

bool IssuedUnder(const LocalCertificate& local, const crypto::TrustStore& trust) {
  for (const crypto::Certificate& anchor : trust.anchors()) {
    for (const crypto::Certificate& c : local.chain) {
      if (c == anchor) return true;
    }
    if (!local.chain.empty() && crypto::DnEqual(local.chain.back().IssuerDer(), anchor.SubjectDer())) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::shared_ptr<const crypto::TrustStore> CertificateResolver::Trust(
    const std::string& name, const std::string& who, std::vector<std::string>* warnings) {
  if (auto it = trust_.find(name); it != trust_.end()) return it->second;
  auto store = std::make_shared<crypto::TrustStore>();
  for (const crypto::Certificate* c : Designated(store_, name)) {
    if (Status s = store->Add(*c); !s.ok()) {
      warnings->push_back(who + ": certificate \"" + c->SubjectDn() + "\" for CA '" + name +
                          "' is ignored: " + s.error().message);
    }
  }
  std::shared_ptr<const crypto::TrustStore> result;
  if (store->size() == 0) {
    warnings->push_back(who + ": certificate authority '" + name +
                        "' is neither a loaded trust bundle nor the subject of a loaded CA "
                        "certificate; no peer can authenticate with it");
  } else {
    result = std::move(store);
  }
  trust_[name] = result;
  return result;
}

std::shared_ptr<const LocalCertificate> CertificateResolver::LocalFor(
    const crypto::TrustStore& trust) const {
  for (const auto& local : store_.local) {
    if (local != nullptr && IssuedUnder(*local, trust)) return local;
  }
  return nullptr;
}

void CertificateResolver::Resolve(Credential& credential, const std::string& who,
                                  std::vector<std::string>* warnings) {
  const std::string& ca = credential.certificate_authority;
  credential.trust = Trust(ca, who, warnings);
  if (credential.trust != nullptr) credential.local_certificate = LocalFor(*credential.trust);
  if (credential.local_certificate == nullptr && !store_.local.empty()) {
    credential.local_certificate = store_.local.front();
    if (credential.trust != nullptr) {
      warnings->push_back(who + ": none of our certificates is issued under '" + ca +
                          "'; authenticating with '" + store_.local.front()->name + "'");
    }
  }
  if (credential.local_certificate == nullptr) {
    warnings->push_back(who + ": no certificate of ours is loaded, so the certificate method "
                              "from '" + ca + "' cannot authenticate us");
  }
}

}  // namespace ipsec::engine::ike
