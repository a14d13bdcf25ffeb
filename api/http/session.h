#pragma once

// Internal to api/http: one HTTP/1.1 connection (plain or TLS), from the first byte to close.

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "api/http/server_context.h"

namespace ipsec::api::http {

// Starts serving an accepted connection. `socket` must be bound to its own strand executor
// (the listener accepts with make_strand); every step of the session runs on that strand.
// Speaks TLS when `context->tls` is set. Any thread.
void StartSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerContext> context);

}  // namespace ipsec::api::http
