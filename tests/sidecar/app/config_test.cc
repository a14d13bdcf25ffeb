#include "sidecar/app/config.h"

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace ipsec::sidecar::app {
namespace {

Result<Config> Parse(std::vector<std::string> args, int* code) {
  args.insert(args.begin(), "ipsec-sidecar");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseConfig(static_cast<int>(argv.size()), argv.data(), code);
}

TEST(ConfigTest, DefaultsListenOnLoopback) {
  int code = 0;
  auto c = Parse({}, &code);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(code, -1);
  EXPECT_EQ(c->api_listen, "127.0.0.1:9443");
  EXPECT_TRUE(ValidateConfig(*c).ok());
}

TEST(ConfigTest, DosLimitFlags) {
  int code = 0;
  auto d = Parse({}, &code);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->dos_cookie_threshold, 10u);  // engine::ike::DosLimits defaults (FAQ 59)
  EXPECT_EQ(d->dos_max_half_open_per_ip, 35u);
  EXPECT_EQ(d->dos_max_half_open_per_endpoint, 5u);
  EXPECT_EQ(d->dos_max_half_open, engine::ike::kDefaultMaxHalfOpen);
  auto c = Parse({"--dos-cookie-threshold=1000", "--dos-max-half-open-per-ip=0",
                  "--dos-max-half-open-per-endpoint=7", "--dos-max-half-open=100"},
                 &code);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->dos_cookie_threshold, 1000u);
  EXPECT_EQ(c->dos_max_half_open_per_ip, 0u);
  EXPECT_EQ(c->dos_max_half_open_per_endpoint, 7u);
  EXPECT_EQ(c->dos_max_half_open, 100u);
  EXPECT_FALSE(Parse({"--dos-max-half-open-per-ip=-1"}, &code).ok());
}

TEST(ConfigTest, IkeTimerFlags) {
  int code = 0;
  auto d = Parse({}, &code);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->dpd_seconds, 30u);  // engine::ike::IkeTimers defaults
  EXPECT_EQ(d->retransmit_base_ms, 1000u);
  EXPECT_EQ(d->retransmit_tries, 5u);
  auto c = Parse({"--dpd-seconds=2", "--retransmit-base-ms=250", "--retransmit-tries=3"}, &code);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->dpd_seconds, 2u);
  EXPECT_EQ(c->retransmit_base_ms, 250u);
  EXPECT_EQ(c->retransmit_tries, 3u);
  EXPECT_FALSE(Parse({"--dpd-seconds=0"}, &code).ok());
  EXPECT_FALSE(Parse({"--retransmit-tries=11"}, &code).ok());
  EXPECT_FALSE(Parse({"--retransmit-base-ms=10"}, &code).ok());
}

TEST(ConfigTest, FlagsAndConfigFileFlagsWin) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() + "/sidecar.conf",
                     "state-dir = \"/srv/state\"\nlog-format = \"text\"\n"
                     "api-listen = \"127.0.0.1:7000\"\n");
  int code = 0;
  auto c = Parse({"--config", dir.path() + "/sidecar.conf", "--api-listen=127.0.0.1:7001",
                  "--interface", "eth0", "--interface", "eth1"},
                 &code);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->state_dir, "/srv/state");
  EXPECT_EQ(c->log_format, "text");
  EXPECT_EQ(c->api_listen, "127.0.0.1:7001");
  EXPECT_EQ(c->interfaces, (std::vector<std::string>{"eth0", "eth1"}));
}

TEST(ConfigTest, BadFlagsAreUsageErrors) {
  int code = 0;
  auto c = Parse({"--log-format=xml"}, &code);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(code, 0);
  EXPECT_NE(c.error().message.find("log-format"), std::string::npos) << c.error().message;
  auto help = Parse({"--help"}, &code);
  ASSERT_FALSE(help.ok());
  EXPECT_EQ(code, 0);
  EXPECT_NE(help.error().message.find("--token-file"), std::string::npos);
}

TEST(ConfigTest, ValidationNamesTheFlag) {
  Config c;
  c.api_listen = "10.0.0.1:9443";
  Status s = ValidateConfig(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().path, "--api-listen");
  EXPECT_NE(s.error().message.find("TLS"), std::string::npos);
  c.insecure_listen = true;
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.tls_cert = "/x.pem";
  EXPECT_EQ(ValidateConfig(c).error().path, "--tls-cert");
  c = Config{};
  c.metrics_listen = "nowhere";
  EXPECT_EQ(ValidateConfig(c).error().path.rfind("--metrics-listen", 0), 0u);
  c = Config{};
  c.node_address = "10.0.0.300";
  EXPECT_EQ(ValidateConfig(c).error().path, "--node-address");
}

TEST(ConfigTest, HostPort) {
  EXPECT_EQ(ParseHostPort("[::1]:80")->host, "::1");
  EXPECT_EQ(ParseHostPort("0.0.0.0:9090")->port, 9090);
  EXPECT_FALSE(ParseHostPort("1.2.3.4").ok());
  EXPECT_FALSE(ParseHostPort("1.2.3.4:99999").ok());
  EXPECT_FALSE(ParseHostPort("example.com:80").ok());
  EXPECT_TRUE(IsLoopbackHost("127.0.0.2"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
}

}  // namespace
}  // namespace ipsec::sidecar::app
