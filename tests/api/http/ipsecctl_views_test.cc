// ipsecctl's pieces without a server: tables, views, --api parsing, the match body.

#include <gtest/gtest.h>

#include <sstream>

#include "sidecar/ipsecctl/api_call.h"
#include "sidecar/ipsecctl/commands.h"
#include "sidecar/ipsecctl/table.h"
#include "sidecar/ipsecctl/views.h"

namespace ipsec::sidecar::ipsecctl {
namespace {

TEST(TableTest, AlignsColumnsWithoutTrailingBlanks) {
  Table table({"NAME", "ACTION", "NOTE"});
  table.AddRow({"db", "negotiate", ""});
  table.AddRow({"allow-all", "permit", "x"});
  table.AddRow({"é", "block"});
  std::ostringstream out;
  table.Print(out);
  EXPECT_EQ(out.str(),
            "NAME       ACTION     NOTE\n"
            "db         negotiate\n"
            "allow-all  permit     x\n"
            "é          block\n");
}

TEST(KeyValuesTest, AlignsValues) {
  KeyValues kv;
  kv.Add("Action", "permit");
  kv.Add("Rule", "-");
  std::ostringstream out;
  kv.Print(out);
  EXPECT_EQ(out.str(), "Action:  permit\nRule:    -\n");
}

TEST(CellTest, RendersEveryJsonType) {
  EXPECT_EQ(Cell(nullptr), "-");
  EXPECT_EQ(Cell("x"), "x");
  EXPECT_EQ(Cell(true), "yes");
  EXPECT_EQ(Cell(12), "12");
  EXPECT_EQ(Cell(Json::array({"eth0", "eth1"})), "eth0,eth1");
  EXPECT_EQ(Cell(Json::object({{"a", 1}})), "{\"a\":1}");
  EXPECT_EQ(Str(Json::array(), "key"), "-");  // not an object: no crash
}

TEST(ViewsTest, PolicyViewShowsRulesListsAndActions) {
  Json policy = Json::parse(R"({
    "name": "web-tier", "description": "web to db", "polling_interval_seconds": 10800,
    "allow_legacy_algorithms": false,
    "key_exchange": {"proposals": [{"encryption": "aes128gcm16", "integrity": "none",
      "prf": "prfsha256", "dh_group": "curve25519"}], "ike_sa_lifetime_seconds": 28800,
      "max_child_sas_per_ike_sa": 0},
    "filter_lists": [{"name": "to-db", "filters": [{"source": "me", "destination":
      "10.99.2.0/24", "protocol": "tcp", "source_ports": "any", "destination_ports": 5432,
      "mirrored": true}]}],
    "filter_actions": [{"name": "require", "type": "negotiate", "security_methods": [
      {"protocol": "esp", "esp_encryption": "aes128gcm16", "esp_integrity": "none",
       "ah_integrity": "none", "lifetime_kilobytes": 100000, "lifetime_seconds": 3600}],
      "session_key_pfs": true}],
    "rules": [{"name": "db", "filter_list": "to-db", "filter_action": "require",
      "auth_methods": [{"type": "psk", "preshared_key": "<redacted>"},
                       {"type": "certificate", "certificate_authority": "CN=ca"}],
      "tunnel_endpoint": null, "connection_type": "all", "active": true}],
    "default_response_rule": {"active": true},
    "exemptions": {"ike": true, "dns": false}})");
  std::ostringstream out;
  PrintPolicy(policy, "4", out);
  std::string text = out.str();
  EXPECT_NE(text.find("Policy:                    web-tier (revision 4)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("aes128gcm16/none/prfsha256/curve25519"), std::string::npos);
  EXPECT_NE(text.find("dns=off"), std::string::npos);
  EXPECT_NE(text.find("db    to-db        require        psk, certificate(CN=ca)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("to-db  0  me      10.99.2.0/24  tcp       any        5432"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("esp aes128gcm16/none 100000KB/3600s"), std::string::npos) << text;
  EXPECT_NE(text.find("pfs"), std::string::npos);
  EXPECT_EQ(text.find("<redacted>"), std::string::npos);
}

TEST(ViewsTest, EmptyStatesSayNone) {
  std::ostringstream out;
  PrintSas(Json::parse(R"({"ike_sas":[]})"), out);
  EXPECT_EQ(out.str(), "IKE SAs (main mode)\n(none)\n\nChild SAs (quick mode)\n(none)\n");
  out.str("");
  PrintGenericFilters(Json::parse(R"({"policy":null,"default_action":"permit","filters":[]})"),
                      out);
  EXPECT_EQ(out.str(), "No policy in force; unmatched traffic: permit\nNo filters.\n");
  out.str("");
  PrintPolicyList(Json::parse(R"({"policies":[]})"), out);
  EXPECT_EQ(out.str(), "No pod-scope policies.\n");
}

// The IP Security Monitor's fields (FAQ 37-38): identities, algorithms, mode, NAT, times, bytes
// and packets both ways, last traffic; a failed IKE SA says why.
TEST(ViewsTest, SasShowTheMonitorsFields) {
  std::ostringstream out;
  PrintSas(Json::parse(R"({"ike_sas":[{"id":"ike-3","state":"established","role":"initiator",
      "local":"10.0.0.1:4500","remote":"10.0.0.2:4500","local_id":"10.0.0.1",
      "remote_id":"gw.example","rule":"gw","algorithms":"AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519",
      "spi_i":"0102030405060708","spi_r":"1112131415161718","nat_local":true,"nat_remote":false,
      "udp_4500":true,"established_unix":1800000000,"rekey_in_seconds":3000,
      "expire_in_seconds":3600,"failure":null,"child_sas":[{"id":"child-9","rule":"gw",
      "state":"installed","mode":"tunnel","protocol":"esp","algorithms":"AES_GCM_16_128",
      "pfs":false,"udp_encapsulation":true,"spi_in":"c0ffee01","spi_out":"c0ffee02",
      "local_ts":["10.99.1.0/24"],"remote_ts":["10.99.3.0/24"],"established_unix":1800000001,
      "rekey_in_seconds":2000,"expire_in_seconds":2400,"bytes_in":1500,"packets_in":3,
      "bytes_out":700,"packets_out":2,"last_used_unix":0}]},
      {"id":"ike-4","state":"connecting","role":"initiator","remote":"10.0.0.5:500",
       "failure":"timeout: no answer","child_sas":[]}]})"),
           out);
  const std::string text = out.str();
  for (const char* want :
       {"LOCAL ID", "REMOTE ID", "gw.example", "local", "2027-01-15T08:00:00Z", "3000", "3600",
        "tunnel", "esp", "c0ffee01", "c0ffee02", "10.99.3.0/24", "1500/3", "700/2",
        "2027-01-15T08:00:01Z", "2400", "LAST TRAFFIC", "failed ike-4: timeout: no answer"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
}

TEST(ViewsTest, StatsShowRulesConfiguredVersusEstablished) {
  std::ostringstream out;
  PrintStats(Json::parse(R"({"ike":{"running":true,"ike_sas_active":1,"rules":[
      {"rule":"gw","tunnel":true,"ike_sas":0,"child_sas":0},
      {"rule":"db","tunnel":false,"ike_sas":1,"child_sas":2}]},
      "policy":{"generation":3}})"),
             out);
  const std::string text = out.str();
  EXPECT_NE(text.find("ike.running:         yes\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("ike.rules"), std::string::npos) << text;
  EXPECT_NE(text.find("policy.generation:   3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gw    tunnel (always up)  0        0          DOWN\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("db    on demand           1        2          up\n"), std::string::npos)
      << text;
}

TEST(ViewsTest, ExemptionsNameThemselves) {
  std::ostringstream out;
  PrintMatch(Json::parse(R"({"action":"permit","policy":"p","generation":2,"rule":null,
      "weight":9,"entry":{"id":17,"direction":"outbound","source":"0.0.0.0/0",
      "destination":"0.0.0.0/0","protocol":"udp","source_ports":"any",
      "destination_ports":"53","origin":{"kind":"exemption","exemption":"dns"}},
      "reason":"exemption 'dns'"})"),
             out);
  EXPECT_NE(out.str().find("Rule:    exemption dns\n"), std::string::npos) << out.str();
  out.str("");
  PrintMatch(Json::parse(R"({"action":"permit","policy":null,"generation":1,"rule":null,
      "weight":null,"entry":null,"reason":"default"})"),
             out);
  EXPECT_NE(out.str().find("Rule:    - (no filter matched)\n"), std::string::npos) << out.str();
  out.str("");
  PrintGenericFilters(Json::parse(R"({"policy":"p","scope":"pod","generation":2,
      "default_action":"permit","filters":[{"rule":null,"exemption":"dns","filter_list":null,
      "filter_index":null,"source":"me","destination":"any","protocol":"udp",
      "source_ports":"any","destination_ports":"53","mirrored":true,"action":"permit",
      "weight":5}]})"),
                      out);
  EXPECT_NE(out.str().find("exemption dns  -            -  me"), std::string::npos) << out.str();
}

TEST(ParseApiAddressTest, Forms) {
  auto a = ParseApiAddress("127.0.0.1:9443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9443);
  EXPECT_FALSE(a->tls);
  a = ParseApiAddress("https://[fd00::1]:8443/");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "fd00::1");
  EXPECT_EQ(a->port, 8443);
  EXPECT_TRUE(a->tls);
  a = ParseApiAddress("localhost");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 9443);
  EXPECT_FALSE(ParseApiAddress("fd00::1:9443").ok());
  EXPECT_FALSE(ParseApiAddress("host:0").ok());
  EXPECT_FALSE(ParseApiAddress("host:99999").ok());
  EXPECT_FALSE(ParseApiAddress(":9443").ok());
}

TEST(MatchBodyTest, NumbersAndNames) {
  MatchArgs args;
  args.direction = "in";
  args.source = "fd00::1";
  args.destination = "fd00::2";
  args.protocol = "58";
  Json body = MatchBody(args);
  EXPECT_EQ(body, Json::parse(R"({"direction":"inbound","source":"fd00::1",
                                  "destination":"fd00::2","protocol":58})"));
}

}  // namespace
}  // namespace ipsec::sidecar::ipsecctl
