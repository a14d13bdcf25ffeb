#pragma once

// The certificates the certificate method uses (FAQ 29: a certificate from a named, trusted
// CA), as the service parsed them from mounted Secrets (engine/service/certificate_loader.h),
// and how a rule's method finds its CA and our certificate among them. Pure.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/crypto/trust_store.h"
#include "engine/crypto/x509.h"
#include "engine/ike/ike_config.h"

namespace ipsec::engine::ike {

// Named trust bundles and our certificates.
struct CertificateStore {
  std::map<std::string, std::vector<crypto::Certificate>> trust_bundles;  // name -> CAs
  std::vector<std::shared_ptr<const LocalCertificate>> local;
};

// Resolves the certificate methods of one configuration build. A method names its CA
// (policy::AuthMethod::certificate_authority) by a trust bundle's name, or by the subject DN of
// a CA certificate in any bundle ("C=US, O=Example, CN=Example Root CA", compared as
// crypto::DnEqual does). Our certificate for it is the first whose chain holds one of those
// CAs or ends at a certificate they issued; else the first we have. Rules that name the same
// CA share one TrustStore.
class CertificateResolver {
 public:
  // `store` is not owned and must outlive the resolver.
  explicit CertificateResolver(const CertificateStore& store) : store_(store) {}

  // Fills credential.trust and credential.local_certificate; what is missing is warned about
  // (`who`: "rule 'x'"), and the method stays listed (usable as far as it goes).
  void Resolve(Credential& credential, const std::string& who,
               std::vector<std::string>* warnings);

 private:
  std::shared_ptr<const crypto::TrustStore> Trust(const std::string& name,
                                                  const std::string& who,
                                                  std::vector<std::string>* warnings);
  std::shared_ptr<const LocalCertificate> LocalFor(const crypto::TrustStore& trust) const;

  const CertificateStore& store_;
  std::map<std::string, std::shared_ptr<const crypto::TrustStore>> trust_;  // by CA name
};

}  // namespace ipsec::engine::ike
