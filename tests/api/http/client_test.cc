// api/client against our server and against sockets that misbehave.

#include "api/client/client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "api/http/server.h"
#include "tests/api/http/test_http.h"

namespace ipsec::api::client {
namespace {

using namespace std::chrono_literals;
using http::testing::StartServer;
using http::testing::TempDir;
namespace net = boost::asio;

constexpr char kToken[] = "client-token";

// A loopback port with nothing listening on it.
uint16_t ClosedPort() {
  net::io_context ioc;
  net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

TEST(ClientTest, ConnectionRefusedSaysTheDaemonMayBeDown) {
  Options options;
  options.port = ClosedPort();
  Client client(options);
  auto response = client.Request("GET", "/v1/policies");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().message,
            "cannot reach the ipsec-sidecar API at 127.0.0.1:" + std::to_string(options.port) +
                ": connection refused — is the daemon running?");
}

TEST(ClientTest, ServerThatNeverAnswersTimesOut) {
  net::io_context ioc;
  net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  // The kernel completes the handshake from the backlog; nobody ever reads or writes.
  Options options;
  options.port = acceptor.local_endpoint().port();
  options.timeout = 300ms;
  Client client(options);
  auto start = std::chrono::steady_clock::now();
  auto response = client.Request("GET", "/v1/policies");
  ASSERT_FALSE(response.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message.find("timed out after 0.3 s"), std::string::npos)
      << response.error().message;
}

TEST(ClientTest, UnresolvableHost) {
  Options options;
  options.host = "no-such-host.invalid";
  options.timeout = 2s;
  Client client(options);
  auto response = client.Request("GET", "/");
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message.find("cannot resolve"), std::string::npos);
}

TEST(ClientTest, RejectsBadArguments) {
  Client client(Options{});
  EXPECT_EQ(client.Request("FROB", "/").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.Request("GET", "no-slash").error().code, ErrorCode::kInvalidArgument);
}

TEST(ClientTest, SendsTokenBodyAndHeadersAndReadsTheReply) {
  TempDir dir;
  http::Server::Options server_options;
  server_options.token_file = dir.Write("token", kToken);
  auto server = StartServer(server_options, [](const http::Request& request) {
    http::Response response(http::beast_http::status::created, request.version());
    response.set("ETag", "\"7\"");
    response.set(http::beast_http::field::content_type,
                 std::string(request[http::beast_http::field::content_type]));
    response.body() = std::string(request.method_string()) + " " +
                      std::string(request["If-Match"]) + " " + request.body();
    return std::make_pair(std::move(response), std::string("/x"));
  });
  Options options;
  options.port = server->port();
  options.token = kToken;
  Client client(options);
  EXPECT_EQ(client.endpoint(), "127.0.0.1:" + std::to_string(server->port()));
  auto response = client.Request("PUT", "/v1/policies/a", "{\"name\":\"a\"}", "application/json",
                                 {{"If-Match", "\"6\""}});
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->Header("etag"), "\"7\"");
  EXPECT_EQ(response->Header("Content-Type"), "application/json");
  EXPECT_EQ(response->body, "PUT \"6\" {\"name\":\"a\"}");
}

TEST(ClientTest, HttpErrorsAreResponsesNotErrors) {
  TempDir dir;
  http::Server::Options server_options;
  server_options.token_file = dir.Write("token", kToken);
  auto server = StartServer(server_options, http::testing::EchoHandler());
  Options options;
  options.port = server->port();
  options.token = "wrong";
  Client client(options);
  auto response = client.Request("GET", "/v1/policies");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 401);
  EXPECT_NE(response->body.find("unauthenticated"), std::string::npos);
}

TEST(ClientTest, ReusesTheConnectionAndReconnectsAfterTheServerClosedIt) {
  TempDir dir;
  http::Server::Options server_options;
  server_options.token_file = dir.Write("token", kToken);
  server_options.idle_timeout = 200ms;
  auto server = StartServer(server_options, http::testing::EchoHandler());
  Options options;
  options.port = server->port();
  options.token = kToken;
  Client client(options);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.Request("GET", "/v1/a").ok());
  EXPECT_EQ(server->stats().connections_accepted, 1u);
  std::this_thread::sleep_for(600ms);  // the server drops the idle connection
  auto response = client.Request("POST", "/v1/match", "{}", "application/json");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(server->stats().connections_accepted, 2u);
}

TEST(ClientTest, EscapesPathSegments) {
  EXPECT_EQ(EscapePathSegment("web-tier_1.x~"), "web-tier_1.x~");
  EXPECT_EQ(EscapePathSegment("a b/c?d"), "a%20b%2Fc%3Fd");
  EXPECT_EQ(EscapePathSegment("é"), "%C3%A9");
}

}  // namespace
}  // namespace ipsec::api::client
