#pragma once

// Loads the certificates of the certificate authentication method (FAQ 29) from files as
// mounted Kubernetes Secrets provide them (docs/ike.md):
//   <cert_dir>/<name>/tls.crt   our certificate, then its intermediates (PEM)
//   <cert_dir>/<name>/tls.key   its private key (unencrypted PEM)
//   <cert_dir>/<name>/ca.crt    optional: CA certificates, trust bundle <name>
//   <ca_dir>/<name>/ca.crt      CA certificates, trust bundle <name>
//   <ca_dir>/<name>.crt|.pem    the same, from a ConfigMap's keys
// A rule's certificate_authority names a trust bundle (or a loaded CA's subject DN,
// engine/ike/certificate_store.h). Names starting with '.' (the Secret volume's "..data"
// links) are skipped. Faulty entries are warned about and skipped; a missing directory holds
// no certificates. Keys never appear in warnings.

#include <string>
#include <vector>

#include "engine/ike/certificate_store.h"

namespace ipsec::sidecar::app {

engine::ike::CertificateStore LoadCertificates(const std::string& cert_dir,
                                               const std::string& ca_dir,
                                               std::vector<std::string>* warnings);

}  // namespace ipsec::sidecar::app
