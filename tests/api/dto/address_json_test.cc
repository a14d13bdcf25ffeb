#include "api/dto/address_json.h"

#include <gtest/gtest.h>

namespace ipsec::api::dto {
namespace {

using policy::AddressKind;
using policy::AddressSpec;
using policy::PortRange;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

struct AddressCase {
  const char* text;
  AddressSpec expected;
  const char* canonical;
};

TEST(AddressSpecTest, ParsesEveryFormAndPrintsCanonically) {
  const AddressCase cases[] = {
      {"any", AddressSpec::Any(), "any"},
      {"any4", AddressSpec::Any(IpFamily::kV4), "any4"},
      {"any6", AddressSpec::Any(IpFamily::kV6), "any6"},
      {"me", AddressSpec::Me(), "me"},
      {"me4", AddressSpec::Me(IpFamily::kV4), "me4"},
      {"me6", AddressSpec::Me(IpFamily::kV6), "me6"},
      {"10.0.0.1", AddressSpec::Single(Ip("10.0.0.1")), "10.0.0.1"},
      {" 10.0.0.1 ", AddressSpec::Single(Ip("10.0.0.1")), "10.0.0.1"},
      {"fd00::1", AddressSpec::Single(Ip("fd00::1")), "fd00::1"},
      {"FD00:0:0::1", AddressSpec::Single(Ip("fd00::1")), "fd00::1"},
      {"10.0.0.0/24", AddressSpec::Subnet(Ip("10.0.0.0"), 24), "10.0.0.0/24"},
      {"10.0.0.0/255.255.255.0", AddressSpec::Subnet(Ip("10.0.0.0"), 24), "10.0.0.0/24"},
      {"0.0.0.0/0", AddressSpec::Subnet(Ip("0.0.0.0"), 0), "0.0.0.0/0"},
      {"0.0.0.0/0.0.0.0", AddressSpec::Subnet(Ip("0.0.0.0"), 0), "0.0.0.0/0"},
      {"10.1.2.3/32", AddressSpec::Subnet(Ip("10.1.2.3"), 32), "10.1.2.3/32"},
      {"fd00::/64", AddressSpec::Subnet(Ip("fd00::"), 64), "fd00::/64"},
      {"fd00::/ffff:ffff::", AddressSpec::Subnet(Ip("fd00::"), 32), "fd00::/32"},
      {"10.0.0.5-10.0.0.9", AddressSpec::Range(Ip("10.0.0.5"), Ip("10.0.0.9")),
       "10.0.0.5-10.0.0.9"},
      {"10.0.0.0 - 10.0.0.255", AddressSpec::Range(Ip("10.0.0.0"), Ip("10.0.0.255")),
       "10.0.0.0-10.0.0.255"},
      {"fd00::1-fd00::9", AddressSpec::Range(Ip("fd00::1"), Ip("fd00::9")), "fd00::1-fd00::9"},
      {"10.0.0.7-10.0.0.7", AddressSpec::Range(Ip("10.0.0.7"), Ip("10.0.0.7")),
       "10.0.0.7-10.0.0.7"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto a = ParseAddressSpec(c.text, "/x");
    ASSERT_TRUE(a.ok()) << a.error().ToString();
    EXPECT_EQ(*a, c.expected);
    EXPECT_EQ(AddressSpecToString(*a), c.canonical);
    auto again = ParseAddressSpec(AddressSpecToString(*a), "/x");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *a);
  }
}

struct BadAddress {
  const char* text;
  const char* message_part;
};

TEST(AddressSpecTest, RejectsBadAddressesWithClearMessages) {
  const BadAddress cases[] = {
      {"", "empty"},
      {"anyy", "the value is not an address; expected any, any4"},
      {"10.0.0.300", "the value is not an address"},
      {"10.0.0", "is not an address"},
      {"10.0.0.0/33", "must be a number from 0 to 32 for ipv4"},
      {"fd00::/129", "from 0 to 128 for ipv6"},
      {"10.0.0.0/", "the prefix length (after '/')"},
      {"10.0.0.0/-1", "the prefix length (after '/')"},
      {"10.0.0.0/24x", "the prefix length (after '/')"},
      {"10.0.0.1/24", "has host bits set; the subnet is 10.0.0.0/24"},
      {"10.0.0.0/255.0.255.0", "mask 255.0.255.0 is not contiguous"},
      {"10.0.0.0/0.255.255.255", "is not contiguous"},
      {"10.0.0.0/ffff::", "is not an ipv4 mask"},
      {"fd00::/255.255.0.0", "is not an ipv6 mask"},
      {"10.0.0.0/300.1.1.1", "is not an ipv4 mask"},
      {"nope/24", "the network (before '/') is not an IPv4 or IPv6 address"},
      {"10.0.0.9-10.0.0.5", "is reversed; the first address must not be greater than the last "
                            "(write 10.0.0.5-10.0.0.9)"},
      {"10.0.0.1-fd00::1", "mixes IPv4 and IPv6"},
      {"10.0.0.1-", "the last address of the range is not an IPv4 or IPv6 address"},
      {"x-10.0.0.1", "the first address of the range is not an IPv4 or IPv6 address"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto a = ParseAddressSpec(c.text, "/filters/0/source");
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(a.error().path, "/filters/0/source");
    EXPECT_NE(a.error().message.find(c.message_part), std::string::npos) << a.error().message;
    // The text is never repeated (docs/api.md, "Errors"); what derives from a parsed address may
    // be ("the subnet is 10.0.0.0/24").
    // (Shorter texts are in the message's own examples: "10.0.0.1".)
    if (std::string(c.text).size() > 6 && std::string(c.text) != "10.0.0.1/24") {
      EXPECT_EQ(a.error().message.find(c.text), std::string::npos) << a.error().message;
    }
  }
}

TEST(AddressTest, ParsesOneAddress) {
  EXPECT_EQ(*ParseAddress("10.0.0.1", "/p"), Ip("10.0.0.1"));
  EXPECT_EQ(*ParseAddress("fd00::1", "/p"), Ip("fd00::1"));
  for (const char* bad : {"10.0.0.0/24", "any", "", "10.0.0.1-10.0.0.2"}) {
    auto a = ParseAddress(bad, "/p");
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.error().path, "/p");
  }
}

TEST(PortsTest, ParsesEveryForm) {
  EXPECT_EQ(*PortsFromJson(Json("any"), ""), PortRange{});
  EXPECT_EQ(*PortsFromJson(Json(443), ""), PortRange::Single(443));
  EXPECT_EQ(*PortsFromJson(Json("443"), ""), PortRange::Single(443));
  EXPECT_EQ(*PortsFromJson(Json(" 80 "), ""), PortRange::Single(80));
  EXPECT_EQ(*PortsFromJson(Json(0), ""), PortRange::Single(0));
  EXPECT_EQ(*PortsFromJson(Json(65535), ""), PortRange::Single(65535));
  EXPECT_EQ(*PortsFromJson(Json("1000-2000"), ""), (PortRange{1000, 2000}));
  EXPECT_EQ(*PortsFromJson(Json("1000 - 2000"), ""), (PortRange{1000, 2000}));
  EXPECT_EQ(*PortsFromJson(Json("0-65535"), ""), PortRange{});
}

TEST(PortsTest, RejectsBadPorts) {
  const std::pair<Json, const char*> cases[] = {
      {Json(65536), "too large"},
      {Json::parse("65536"), "too large"},
      {Json(-1), "-1"},
      {Json(1.5), "whole number"},
      {Json("65536"), "is not a port"},
      {Json("http"), "the value is not a port; expected \"any\", a port number 0-65535"},
      {Json("2000-1000"), "is reversed; the first port must not be greater than the last (write "
                          "1000-2000)"},
      {Json("1-2-3"), "is not a port"},
      {Json("-5"), "is not a port"},
      {Json(""), "is not a port"},
      {Json(true), "expected \"any\", a port number or \"first-last\", got a boolean"},
      {Json::array(), "got an array"},
  };
  for (const auto& [value, part] : cases) {
    SCOPED_TRACE(value.dump());
    auto p = PortsFromJson(value, "/destination_ports");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().path, "/destination_ports");
    EXPECT_NE(p.error().message.find(part), std::string::npos) << p.error().message;
  }
}

TEST(PortsTest, Prints) {
  EXPECT_EQ(PortsToJson(PortRange{}), Json("any"));
  EXPECT_EQ(PortsToJson(PortRange::Single(5432)), Json(5432));
  EXPECT_EQ(PortsToJson(PortRange{1, 2}), Json("1-2"));
  EXPECT_EQ(PortsToString(PortRange{}), "any");
  EXPECT_EQ(PortsToString(PortRange::Single(5432)), "5432");
  EXPECT_EQ(PortsToString(PortRange{1, 2}), "1-2");
}

TEST(PortTest, OnePort) {
  EXPECT_EQ(*PortFromJson(Json(80), ""), 80);
  EXPECT_EQ(*PortFromJson(Json("80"), ""), 80);
  EXPECT_FALSE(PortFromJson(Json("80-81"), "").ok());
  EXPECT_FALSE(PortFromJson(Json(70000), "").ok());
  EXPECT_FALSE(PortFromJson(Json(nullptr), "").ok());
}

TEST(ProtocolTest, ParsesNamesNumbersAndAny) {
  EXPECT_EQ(*ProtocolFromJson(Json("any"), ""), std::nullopt);
  EXPECT_EQ(*ProtocolFromJson(Json("tcp"), ""), std::optional<uint8_t>(6));
  EXPECT_EQ(*ProtocolFromJson(Json("udp"), ""), std::optional<uint8_t>(17));
  EXPECT_EQ(*ProtocolFromJson(Json("icmp"), ""), std::optional<uint8_t>(1));
  EXPECT_EQ(*ProtocolFromJson(Json("icmpv6"), ""), std::optional<uint8_t>(58));
  EXPECT_EQ(*ProtocolFromJson(Json("esp"), ""), std::optional<uint8_t>(50));
  EXPECT_EQ(*ProtocolFromJson(Json("ah"), ""), std::optional<uint8_t>(51));
  EXPECT_EQ(*ProtocolFromJson(Json("sctp"), ""), std::optional<uint8_t>(132));
  EXPECT_EQ(*ProtocolFromJson(Json(47), ""), std::optional<uint8_t>(47));
  EXPECT_EQ(*ProtocolFromJson(Json("47"), ""), std::optional<uint8_t>(47));
  EXPECT_EQ(*ProtocolFromJson(Json(0), ""), std::optional<uint8_t>(0));
  EXPECT_EQ(*ProtocolFromJson(Json(255), ""), std::optional<uint8_t>(255));
}

TEST(ProtocolTest, RejectsUnknown) {
  for (const Json& bad : {Json("gre"), Json(256), Json("256"), Json(-1), Json(true)}) {
    auto p = ProtocolFromJson(bad, "/protocol");
    ASSERT_FALSE(p.ok()) << bad.dump();
    EXPECT_EQ(p.error().path, "/protocol");
  }
  EXPECT_NE(ProtocolFromJson(Json("gre"), "").error().message.find("expected any, tcp, udp"),
            std::string::npos);
}

TEST(ProtocolTest, Prints) {
  EXPECT_EQ(ProtocolToJson(std::nullopt), Json("any"));
  EXPECT_EQ(ProtocolToJson(6), Json("tcp"));
  EXPECT_EQ(ProtocolToJson(47), Json(47));
}

}  // namespace
}  // namespace ipsec::api::dto
