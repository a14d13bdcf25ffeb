#include "tests/support/strongswan_config.h"

#include <gtest/gtest.h>

namespace ipsec::testing {
namespace {

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(StrongswanConfigTest, CharonConfLoadsLibipsecBeforeNetlink) {
  std::string conf = RenderStrongswanConf(CharonOptions{}, "/tmp/x");
  size_t libipsec = conf.find("kernel-libipsec");
  size_t netlink = conf.find("kernel-netlink");
  ASSERT_NE(libipsec, std::string::npos);
  ASSERT_NE(netlink, std::string::npos);
  EXPECT_LT(libipsec, netlink);
  EXPECT_TRUE(Contains(conf, "socket = unix:///tmp/x/charon.vici")) << conf;
  EXPECT_TRUE(Contains(conf, "path = /tmp/x/charon.log")) << conf;
  EXPECT_TRUE(Contains(conf, "file = /tmp/x/resolv.conf")) << conf;
  EXPECT_TRUE(Contains(conf, "retransmit_timeout = 1.0")) << conf;
  EXPECT_TRUE(Contains(conf, "retransmit_tries = 2")) << conf;
  EXPECT_TRUE(Contains(conf, "dos_protection = yes")) << conf;
  EXPECT_TRUE(Contains(conf, "ike = 2")) << conf;
  EXPECT_FALSE(Contains(conf, "cookie_threshold")) << conf;
}

TEST(StrongswanConfigTest, CharonOptions) {
  CharonOptions o;
  o.log_keys = true;
  o.dos_protection = false;
  o.cookie_threshold = 100000;
  o.retransmit_timeout = 0.5;
  o.reuse_ikesa = false;
  o.extra = {{"half_open_timeout", "5"}};
  o.plugin_settings["kernel-libipsec"] = {{"allow_peer_ts", "no"}};
  std::string conf = RenderStrongswanConf(o, "/d");
  EXPECT_TRUE(Contains(conf, "ike = 4")) << conf;
  EXPECT_TRUE(Contains(conf, "chd = 4")) << conf;
  EXPECT_TRUE(Contains(conf, "dos_protection = no")) << conf;
  EXPECT_TRUE(Contains(conf, "cookie_threshold = 100000")) << conf;
  EXPECT_TRUE(Contains(conf, "retransmit_timeout = 0.5")) << conf;
  EXPECT_TRUE(Contains(conf, "reuse_ikesa = no")) << conf;
  EXPECT_TRUE(Contains(conf, "half_open_timeout = 5")) << conf;
  EXPECT_TRUE(Contains(conf, "kernel-libipsec {\n      allow_peer_ts = no")) << conf;
}

TEST(StrongswanConfigTest, SwanctlConf) {
  SwanctlConfig config;
  ConnectionConfig c;
  c.name = "host";
  c.local_addrs = {"10.99.1.2"};
  c.remote_addrs = {"10.99.2.2"};
  c.local = {"psk", "C=CH, O=\"x\", CN=a"};
  c.remote = {"pubkey", "b.example", {}, {"ca.pem"}};
  c.encap = true;
  c.dpd_delay = "1s";
  ChildConfig child;
  child.name = "net";
  child.local_ts = {"10.199.1.1/32", "10.199.1.2/32"};
  child.remote_ts = {"10.199.2.1/32"};
  child.start_action = StartAction::kTrap;
  child.rekey_time = "30m";
  c.children = {child};
  config.connections = {c};
  config.shared_keys = {{"k", {"a.example", "b.example"}, "s3cr\\et"}};
  std::string conf = RenderSwanctlConf(config);
  EXPECT_TRUE(Contains(conf, "  host {\n    version = 2\n")) << conf;
  EXPECT_TRUE(Contains(conf, "local_addrs = 10.99.1.2")) << conf;
  EXPECT_TRUE(Contains(conf, "proposals = aes128gcm16-prfsha256-x25519")) << conf;
  EXPECT_TRUE(Contains(conf, "encap = yes")) << conf;
  EXPECT_TRUE(Contains(conf, "mobike = no")) << conf;
  EXPECT_TRUE(Contains(conf, "unique = never")) << conf;
  EXPECT_TRUE(Contains(conf, "dpd_delay = 1s")) << conf;
  EXPECT_TRUE(Contains(conf, "id = \"C=CH, O=\\\"x\\\", CN=a\"")) << conf;
  EXPECT_TRUE(Contains(conf, "auth = pubkey")) << conf;
  EXPECT_TRUE(Contains(conf, "cacerts = ca.pem")) << conf;
  EXPECT_TRUE(Contains(conf, "local_ts = 10.199.1.1/32,10.199.1.2/32")) << conf;
  EXPECT_TRUE(Contains(conf, "esp_proposals = aes128gcm16")) << conf;
  EXPECT_TRUE(Contains(conf, "mode = tunnel")) << conf;
  EXPECT_TRUE(Contains(conf, "start_action = trap")) << conf;
  EXPECT_TRUE(Contains(conf, "rekey_time = 30m")) << conf;
  EXPECT_TRUE(Contains(conf,
                       "ike-k {\n    id-1 = \"a.example\"\n    id-2 = \"b.example\"\n"
                       "    secret = \"s3cr\\\\et\"\n"))
      << conf;
  EXPECT_FALSE(Contains(conf, "remote_addrs = \n")) << conf;
}

TEST(StrongswanConfigTest, CredentialFilesGoToTheirDirectories) {
  SwanctlConfig config;
  config.AddCert("a.pem", "A");
  config.AddCaCert("ca.pem", "CA");
  config.AddPrivateKey("a.key", "K");
  ASSERT_EQ(config.files.size(), 3u);
  EXPECT_EQ(config.files[0].dir, "x509");
  EXPECT_EQ(config.files[1].dir, "x509ca");
  EXPECT_EQ(config.files[2].dir, "private");
}

}  // namespace
}  // namespace ipsec::testing
