// The server over TLS, and the client's TLS verification.

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "api/client/client.h"
#include "api/http/server.h"
#include "tests/api/http/test_cert.h"
#include "tests/api/http/test_http.h"

namespace ipsec::api::http {
namespace {

using namespace std::chrono_literals;
using testing::StartServer;
using testing::TempDir;
using testing::TestPki;

constexpr char kToken[] = "tls-token";

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::MakeTestPki(dir_.path());
    Server::Options options;
    options.token_file = dir_.Write("token", kToken);
    options.tls_cert_file = pki_.cert_file;
    options.tls_key_file = pki_.key_file;
    options.read_timeout = 2s;
    server_ = StartServer(options, testing::EchoHandler());
    ASSERT_TRUE(server_->tls());
  }
  client::Options ClientOptions() const {
    client::Options options;
    options.port = server_->port();
    options.token = kToken;
    options.tls = true;
    options.ca_file = pki_.ca_file;
    options.timeout = 3s;
    return options;
  }

  TempDir dir_;
  TestPki pki_;
  std::unique_ptr<Server> server_;
};

TEST_F(TlsTest, VerifiedClientIsServedWithKeepAlive) {
  client::Client client(ClientOptions());
  for (int i = 0; i < 3; ++i) {
    auto response = client.Request("GET", "/v1/tls");
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
}

TEST_F(TlsTest, HostNameIsVerified) {
  client::Options options = ClientOptions();
  options.host = "localhost";  // in the certificate's SAN too
  client::Client by_name(options);
  auto response = by_name.Request("GET", "/v1/tls");
  ASSERT_TRUE(response.ok()) << response.error().message;
}

TEST_F(TlsTest, UntrustedCertificateIsAClearError) {
  client::Options options = ClientOptions();
  options.ca_file = pki_.other_ca_file;
  client::Client client(options);
  auto response = client.Request("GET", "/v1/tls");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message.find("not trusted"), std::string::npos)
      << response.error().message;
  EXPECT_NE(response.error().message.find("--ca-file"), std::string::npos);
}

TEST_F(TlsTest, InsecureSkipsVerification) {
  client::Options options = ClientOptions();
  options.ca_file = pki_.other_ca_file;
  options.insecure = true;
  client::Client client(options);
  auto response = client.Request("GET", "/v1/tls");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST_F(TlsTest, MissingCaFileIsReported) {
  client::Options options = ClientOptions();
  options.ca_file = dir_.path() + "/nope.pem";
  client::Client client(options);
  auto response = client.Request("GET", "/v1/tls");
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message.find("nope.pem"), std::string::npos);
}

TEST_F(TlsTest, PlainHttpToTheTlsListenerFails) {
  client::Options options = ClientOptions();
  options.tls = false;
  client::Client client(options);
  auto response = client.Request("GET", "/v1/tls");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message.find("--tls"), std::string::npos) << response.error().message;
}

TEST_F(TlsTest, TlsBelow12IsRefused) {
  namespace net = boost::asio;
  net::io_context ioc;
  net::ssl::context context(net::ssl::context::tls_client);
  SSL_CTX_set_security_level(context.native_handle(), 0);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(context.native_handle(), TLS1_1_VERSION);
  context.set_verify_mode(net::ssl::verify_none);
  net::ssl::stream<net::ip::tcp::socket> stream(ioc, context);
  net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), server_->port());
  stream.lowest_layer().connect(endpoint);
  boost::system::error_code ec;
  stream.handshake(net::ssl::stream_base::client, ec);
  EXPECT_TRUE(ec);
}

TEST(TlsStartTest, BadFilesStopStart) {
  TempDir dir;
  TestPki pki = testing::MakeTestPki(dir.path());
  Server::Options options;
  options.port = 0;
  options.tls_cert_file = dir.path() + "/missing.pem";
  options.tls_key_file = pki.key_file;
  Server missing_cert(options, testing::EchoHandler());
  Status status = missing_cert.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().path, dir.path() + "/missing.pem");

  options.tls_cert_file = pki.ca_file;  // does not match the key
  Server mismatch(options, testing::EchoHandler());
  status = mismatch.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("private key"), std::string::npos)
      << status.error().message;

  options.tls_cert_file = pki.cert_file;
  options.tls_key_file = "";
  Server half(options, testing::EchoHandler());
  EXPECT_FALSE(half.Start().ok());
}

}  // namespace
}  // namespace ipsec::api::http
