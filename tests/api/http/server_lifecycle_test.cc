// The server's life: start errors, concurrent clients, graceful and forced Stop.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "api/client/client.h"
#include "api/http/server.h"
#include "tests/api/http/test_http.h"

namespace ipsec::api::http {
namespace {

using namespace std::chrono_literals;
using testing::GetRequest;
using testing::RawConnection;
using testing::RawResponse;
using testing::StartServer;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "lifecycle-token";

Server::Options Options(const TempDir& dir) {
  Server::Options options;
  options.token_file = dir.Write("token", kToken);
  return options;
}

client::Client MakeClient(uint16_t port) {
  client::Options options;
  options.port = port;
  options.token = kToken;
  options.timeout = 5s;
  return client::Client(options);
}

TEST(ServerLifecycleTest, StartReportsBindFailuresAndBadAddresses) {
  TempDir dir;
  auto first = StartServer(Options(dir), testing::EchoHandler());
  Server::Options options = Options(dir);
  options.port = first->port();
  Server second(options, testing::EchoHandler());
  Status status = second.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(
      status.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(first->port())),
      std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find("in use"), std::string::npos) << status.error().message;

  options.address = "localhost.example";
  Server third(options, testing::EchoHandler());
  status = third.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("not an IP address"), std::string::npos);
}

TEST(ServerLifecycleTest, ListensOnIpv6Loopback) {
  TempDir dir;
  Server::Options options = Options(dir);
  options.address = "::1";
  options.port = 0;
  Server server(options, testing::EchoHandler());
  Status status = server.Start();
  // The lab and the daemon tests need IPv6 as well: a machine without ::1 fails here, loudly.
  ASSERT_TRUE(status.ok()) << "no IPv6 loopback (::1), which the API's IPv6 listening needs: "
                           << status.error().message;
  client::Options client_options;
  client_options.host = "::1";
  client_options.port = server.port();
  client_options.token = kToken;
  client::Client client(client_options);
  auto response = client.Request("GET", "/v1/x");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
}

TEST(ServerLifecycleTest, ConcurrentClients) {
  TempDir dir;
  std::atomic<int> calls{0};
  auto server = StartServer(Options(dir), [&](const Request& request) {
    ++calls;
    return testing::EchoHandler()(request);
  });
  constexpr int kClients = 8;
  constexpr int kRequests = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      client::Client client = MakeClient(server->port());
      for (int i = 0; i < kRequests; ++i) {
        std::string target = "/v1/c" + std::to_string(c) + "/" + std::to_string(i);
        auto response = client.Request("GET", target);
        if (response.ok() && response->status == 200 &&
            response->body.find(target) != std::string::npos) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kClients * kRequests);
  EXPECT_EQ(calls, kClients * kRequests);
  EXPECT_EQ(server->stats().connections_accepted, static_cast<uint64_t>(kClients));
  EXPECT_EQ(server->stats().requests, static_cast<uint64_t>(kClients * kRequests));
}

TEST(ServerLifecycleTest, StopLetsTheRequestInFlightFinishAndClosesIdleConnections) {
  TempDir dir;
  std::atomic<bool> entered{false};
  auto server = StartServer(Options(dir), [&](const Request& request) {
    if (request.target() == "/slow") {
      entered = true;
      std::this_thread::sleep_for(400ms);
    }
    return testing::EchoHandler()(request);
  });
  RawConnection idle(server->port());
  ASSERT_TRUE(idle.Send(GetRequest("/v1/x", kToken)));
  ASSERT_EQ(idle.ReadResponse().status, 200);

  RawConnection busy(server->port());
  ASSERT_TRUE(busy.Send(GetRequest("/slow", kToken)));
  while (!entered) std::this_thread::sleep_for(1ms);
  auto start = Clock::now();
  std::thread stopper([&] { server->Stop(); });
  EXPECT_TRUE(idle.WaitClosed(1s));  // closed at once, not after the grace period
  RawResponse response = busy.ReadResponse();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["connection"], "close");
  stopper.join();
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_FALSE(RawConnection(server->port()).connected());  // no longer listening
  server->Stop();                                           // idempotent
}

TEST(ServerLifecycleTest, StopIsBoundedWhenAClientHoldsAHalfRequest) {
  TempDir dir;
  Server::Options options = Options(dir);
  options.shutdown_grace = 300ms;
  auto server = StartServer(options, testing::EchoHandler());
  RawConnection half(server->port());
  ASSERT_TRUE(half.Send("GET /v1/x HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(100ms);
  auto start = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(half.WaitClosed(1s));
}

TEST(ServerLifecycleTest, StopWaitsForAHandlerPastTheGracePeriod) {
  TempDir dir;
  Server::Options options = Options(dir);
  options.shutdown_grace = 100ms;
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  auto server = StartServer(options, [&](const Request& request) {
    entered = true;
    std::this_thread::sleep_for(600ms);
    finished = true;
    return testing::EchoHandler()(request);
  });
  RawConnection busy(server->port());
  ASSERT_TRUE(busy.Send(GetRequest("/v1/x", kToken)));
  while (!entered) std::this_thread::sleep_for(1ms);
  server->Stop();
  EXPECT_TRUE(finished);  // the handler was never abandoned mid-call
}

TEST(ServerLifecycleTest, DestructorStops) {
  TempDir dir;
  uint16_t port;
  {
    auto server = StartServer(Options(dir), testing::EchoHandler());
    port = server->port();
    RawConnection idle(port);
    ASSERT_TRUE(idle.Send(GetRequest("/v1/x", kToken)));
    ASSERT_EQ(idle.ReadResponse().status, 200);
  }
  EXPECT_FALSE(RawConnection(port).connected());
}

}  // namespace
}  // namespace ipsec::api::http
