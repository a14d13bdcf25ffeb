#include "api/http/tls_context.h"

#include <openssl/ssl.h>

namespace ipsec::api::http {

namespace ssl = boost::asio::ssl;

Result<std::unique_ptr<ssl::context>> LoadServerTlsContext(const std::string& cert_file,
                                                           const std::string& key_file) {
  if (cert_file.empty() || key_file.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "TLS needs both a certificate file and a key file");
  }
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  if (ec || SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot restrict TLS to version 1.2 or later");
  }
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot load the TLS certificate chain: " + ec.message(), cert_file);
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "cannot load the TLS private key (or it does not match the certificate): " + ec.message(),
        key_file);
  }
  return context;
}

}  // namespace ipsec::api::http
