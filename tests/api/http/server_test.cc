#include "api/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "api/client/client.h"
#include "tests/api/http/test_http.h"

namespace ipsec::api::http {
namespace {

using namespace std::chrono_literals;
using testing::GetRequest;
using testing::RawConnection;
using testing::RawResponse;
using testing::StartServer;
using testing::TempDir;

constexpr char kToken[] = "t0ken-for-tests";

class ServerTest : public ::testing::Test {
 protected:
  Server::Options AuthOptions() {
    Server::Options options;
    options.token_file = dir_.Write("token", std::string(kToken) + "\n");
    return options;
  }
  // Counts handler calls, then echoes.
  Handler CountingHandler() {
    return [this](const Request& request) {
      ++calls_;
      return testing::EchoHandler()(request);
    };
  }

  TempDir dir_;
  std::atomic<int> calls_{0};
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = StartServer(AuthOptions(), CountingHandler());
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(connection.Send(GetRequest("/v1/x" + std::to_string(i), kToken)));
    RawResponse response = connection.ReadResponse();
    ASSERT_FALSE(response.closed);
    EXPECT_EQ(response.status, 200);
    EXPECT_NE(response.body.find("/v1/x" + std::to_string(i)), std::string::npos);
    EXPECT_EQ(response.headers.count("connection"), 0u);  // keep-alive is the 1.1 default
  }
  // Two pipelined requests, the second asking to close.
  ASSERT_TRUE(connection.Send(GetRequest("/a", kToken) + GetRequest("/b", kToken, false)));
  EXPECT_EQ(connection.ReadResponse().status, 200);
  RawResponse last = connection.ReadResponse();
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.headers["connection"], "close");
  EXPECT_TRUE(connection.WaitClosed(2s));
  EXPECT_EQ(server->stats().connections_accepted, 1u);
  EXPECT_EQ(calls_, 5);
}

TEST_F(ServerTest, RequestsWithoutTheRightTokenGet401) {
  std::vector<LogEvent> events;
  std::mutex mu;
  auto server = StartServer(AuthOptions(), CountingHandler(), {}, [&](const LogEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
  });
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies")));
  RawResponse missing = connection.ReadResponse();
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.headers["www-authenticate"], "Bearer");
  EXPECT_EQ(missing.headers["content-type"], "application/json");
  EXPECT_NE(missing.body.find("\"code\":\"unauthenticated\""), std::string::npos);
  EXPECT_NE(missing.body.find("\"path\":\"\""), std::string::npos);

  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies", "wrong")));
  RawResponse wrong = connection.ReadResponse();
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.headers["www-authenticate"].find("Bearer"), std::string::npos);
  EXPECT_NE(wrong.body.find("invalid bearer token"), std::string::npos);

  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies", kToken)));
  EXPECT_EQ(connection.ReadResponse().status, 200);
  EXPECT_EQ(calls_, 1);
  server->Stop();
  std::lock_guard<std::mutex> lock(mu);
  int auth_failures = 0;
  for (const auto& e : events) {
    if (e.kind == LogKind::kAuthFailure) ++auth_failures;
    EXPECT_EQ(e.message.find(kToken), std::string::npos) << "a log line carries the token";
    EXPECT_EQ(e.message.find("wrong"), std::string::npos);
  }
  EXPECT_EQ(auth_failures, 2);
}

TEST_F(ServerTest, UnauthenticatedBodyIsNotReadAndTheConnectionCloses) {
  auto server = StartServer(AuthOptions(), CountingHandler());
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send(
      "PUT /v1/policies/x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789"));
  RawResponse response = connection.ReadResponse();
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.headers["connection"], "close");
  EXPECT_TRUE(connection.WaitClosed(2s));
  EXPECT_EQ(calls_, 0);
}

TEST_F(ServerTest, MissingOrEmptyTokenFileRefusesWith503) {
  Server::Options options;
  options.token_file = dir_.path() + "/no-such-token";
  auto server = StartServer(options, CountingHandler());
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies", "anything")));
  RawResponse response = connection.ReadResponse();
  EXPECT_EQ(response.status, 503);
  EXPECT_NE(response.body.find("\"code\":\"unavailable\""), std::string::npos);
  EXPECT_NE(response.body.find("no-such-token"), std::string::npos);
  // The token appears: access works without a restart.
  dir_.Write("no-such-token", "fresh\n");
  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies", "fresh")));
  EXPECT_EQ(connection.ReadResponse().status, 200);
  // Emptied: refused again.
  dir_.Write("no-such-token", "\n");
  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies", "fresh")));
  EXPECT_EQ(connection.ReadResponse().status, 503);
  EXPECT_EQ(calls_, 1);
}

TEST_F(ServerTest, RotatedTokenTakesEffectAtOnce) {
  Server::Options options = AuthOptions();
  auto server = StartServer(options, CountingHandler());
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send(GetRequest("/v1/x", kToken)));
  EXPECT_EQ(connection.ReadResponse().status, 200);
  testing::ReplaceFile(options.token_file, "rotated\n");
  ASSERT_TRUE(connection.Send(GetRequest("/v1/x", kToken)));
  EXPECT_EQ(connection.ReadResponse().status, 401);
  ASSERT_TRUE(connection.Send(GetRequest("/v1/x", "rotated")));
  EXPECT_EQ(connection.ReadResponse().status, 200);
}

TEST_F(ServerTest, PublicPathsNeedNoToken) {
  Server::Options options;
  options.token_file = dir_.path() + "/absent";  // even without any token
  auto server = StartServer(options, CountingHandler());
  RawConnection connection(server->port());
  for (const char* path : {"/healthz", "/readyz", "/healthz?verbose=1"}) {
    ASSERT_TRUE(connection.Send(GetRequest(path)));
    EXPECT_EQ(connection.ReadResponse().status, 200) << path;
  }
  ASSERT_TRUE(connection.Send(GetRequest("/healthz/../v1/policies")));
  EXPECT_EQ(connection.ReadResponse().status, 503);
  EXPECT_EQ(calls_, 3);
}

TEST_F(ServerTest, HandlerStatusesPassThroughWithTheirRoute) {
  std::mutex mu;
  std::vector<std::tuple<std::string, std::string, int>> observed;
  auto server = StartServer(
      AuthOptions(),
      [](const Request& request) {
        Response response(beast_http::status::not_found, request.version());
        response.set(beast_http::field::content_type, "application/json");
        response.body() = R"({"error":{"code":"not_found","message":"no","path":""}})";
        return std::make_pair(std::move(response), std::string("/v1/policies/{name}"));
      },
      [&](std::string_view method, std::string_view route, int status, double seconds) {
        std::lock_guard<std::mutex> lock(mu);
        observed.emplace_back(std::string(method), std::string(route), status);
        EXPECT_GE(seconds, 0);
      });
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies/nope", kToken)));
  RawResponse response = connection.ReadResponse();
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers["content-length"], std::to_string(response.body.size()));
  ASSERT_TRUE(connection.Send(GetRequest("/v1/policies/nope")));
  EXPECT_EQ(connection.ReadResponse().status, 401);
  server->Stop();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(observed.size(), 2u);
  EXPECT_EQ(observed[0], std::make_tuple("GET", "/v1/policies/{name}", 404));
  EXPECT_EQ(observed[1], std::make_tuple("GET", std::string(kServerRoute), 401));
}

TEST_F(ServerTest, BodiesOverTheLimitGet413) {
  Server::Options options = AuthOptions();
  options.body_limit = 1024;
  auto server = StartServer(options, CountingHandler());
  {  // announced by Content-Length: refused before the body is sent
    RawConnection connection(server->port());
    ASSERT_TRUE(connection.Send("PUT /v1/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " +
                                std::string(kToken) + "\r\nContent-Length: 2000\r\n\r\n"));
    RawResponse response = connection.ReadResponse();
    EXPECT_EQ(response.status, 413);
    EXPECT_NE(response.body.find("1024"), std::string::npos);
    // The code docs/api.md gives 413, as the handlers' own check answers (request_body.cc).
    EXPECT_NE(response.body.find(R"("code":"payload_too_large")"), std::string::npos)
        << response.body;
  }
  {  // chunked: found while reading
    RawConnection connection(server->port());
    std::string chunk(800, 'x');
    ASSERT_TRUE(connection.Send("PUT /v1/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " +
                                std::string(kToken) + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
    RawResponse response = connection.ReadResponse();
    EXPECT_EQ(response.status, 413);
    EXPECT_NE(response.body.find(R"("code":"payload_too_large")"), std::string::npos)
        << response.body;
  }
  {  // at the limit: fine
    RawConnection connection(server->port());
    ASSERT_TRUE(connection.Send("PUT /v1/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " +
                                std::string(kToken) + "\r\nContent-Length: 1024\r\n\r\n" +
                                std::string(1024, 'y')));
    EXPECT_EQ(connection.ReadResponse().status, 200);
  }
  EXPECT_EQ(calls_, 1);
}

TEST_F(ServerTest, DefaultBodyLimitIs16MiB) {
  auto server = StartServer(AuthOptions(), CountingHandler());
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send("PUT /v1/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " +
                              std::string(kToken) + "\r\nContent-Length: 16777217\r\n\r\n"));
  EXPECT_EQ(connection.ReadResponse().status, 413);
}

TEST_F(ServerTest, MalformedRequestsGet400) {
  auto server = StartServer(AuthOptions(), CountingHandler());
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send("GARBAGE\r\n\r\n"));
  RawResponse response = connection.ReadResponse();
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("malformed HTTP request"), std::string::npos);
  EXPECT_TRUE(connection.WaitClosed(2s));
}

TEST_F(ServerTest, HandlerExceptionBecomes500AndTheServerCarriesOn) {
  std::atomic<bool> logged{false};
  auto server = StartServer(
      AuthOptions(),
      [](const Request& request) -> std::pair<Response, std::string> {
        if (request.target() == "/throw") throw std::runtime_error("boom");
        if (request.target() == "/bad204") {
          Response response(beast_http::status::no_content, 11);
          response.body() = "a 204 with a body";
          return {std::move(response), "/bad204"};
        }
        return testing::EchoHandler()(request);
      },
      {},
      [&](const LogEvent& e) {
        if (e.kind == LogKind::kHandlerException && e.message.find("boom") != std::string::npos) {
          logged = true;
        }
      });
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send(GetRequest("/throw", kToken)));
  RawResponse response = connection.ReadResponse();
  EXPECT_EQ(response.status, 500);
  EXPECT_NE(response.body.find("\"code\":\"internal\""), std::string::npos);
  EXPECT_EQ(response.body.find("boom"), std::string::npos);  // details stay in the log
  ASSERT_TRUE(connection.Send(GetRequest("/bad204", kToken)));
  EXPECT_EQ(connection.ReadResponse().status, 500);
  ASSERT_TRUE(connection.Send(GetRequest("/fine", kToken)));
  EXPECT_EQ(connection.ReadResponse().status, 200);
  EXPECT_TRUE(logged);
}

TEST_F(ServerTest, ExpectContinueIsAnswered) {
  auto server = StartServer(AuthOptions(), CountingHandler());
  RawConnection connection(server->port());
  ASSERT_TRUE(connection.Send("PUT /v1/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " +
                              std::string(kToken) +
                              "\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  EXPECT_EQ(connection.ReadResponse().status, 100);
  ASSERT_TRUE(connection.Send("body"));
  EXPECT_EQ(connection.ReadResponse().status, 200);
}

TEST_F(ServerTest, SlowAndIdleClientsAreDropped) {
  Server::Options options = AuthOptions();
  options.read_timeout = 300ms;
  options.idle_timeout = 300ms;
  auto server = StartServer(options, CountingHandler());
  RawConnection slow(server->port());
  ASSERT_TRUE(slow.Send("GET /v1/x HTTP/1.1\r\nHost:"));  // and never finishes
  RawConnection idle(server->port());
  ASSERT_TRUE(idle.Send(GetRequest("/v1/x", kToken)));
  EXPECT_EQ(idle.ReadResponse().status, 200);
  RawConnection silent(server->port());  // connects, sends nothing
  EXPECT_TRUE(slow.WaitClosed(3s));
  EXPECT_TRUE(idle.WaitClosed(3s));
  EXPECT_TRUE(silent.WaitClosed(3s));
  // The client sees the FIN a moment before the session object is gone.
  for (int i = 0; i < 200 && server->stats().connections_open != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server->stats().connections_open, 0u);
}

}  // namespace
}  // namespace ipsec::api::http
