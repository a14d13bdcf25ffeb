#pragma once

// Internal to api/http: the server's TLS context from PEM files.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "engine/common/result.h"

namespace ipsec::api::http {

// TLS 1.2 or later, the certificate chain of `cert_file` and the private key of `key_file`
// (which must match). Errors name the file and OpenSSL's reason.
Result<std::unique_ptr<boost::asio::ssl::context>> LoadServerTlsContext(
    const std::string& cert_file, const std::string& key_file);

}  // namespace ipsec::api::http
