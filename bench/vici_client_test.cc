#include "bench/vici_client.h"

#include <gtest/gtest.h>

#include <string>

namespace ipsec::bench {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

TEST(ViciClientTest, EncodesANamedRequestWithKeyValues) {
  // initiate { child = net, timeout = -1 }
  std::string msg = ViciMessageBuilder().KeyValue("child", "net").KeyValue("timeout", "-1").bytes();
  std::string packet = EncodeViciPacket(ViciPacketType::kCmdRequest, "initiate", msg);
  // length 0x23 = 35 (10 + 12 + 13): type 00, name 08 "initiate", 03 05 "child" 0003 "net",
  // 03 07 "timeout" 0002 "-1".
  EXPECT_EQ(Hex(packet),
            "00000023"
            "00"
            "08" +
                Hex("initiate") +
                "03"
                "05" +
                Hex("child") + "0003" + Hex("net") +
                "03"
                "07" +
                Hex("timeout") + "0002" + Hex("-1"));
}

TEST(ViciClientTest, EncodesSectionsListsAndUnnamedPackets) {
  std::string msg = ViciMessageBuilder()
                        .BeginSection("conn")
                        .BeginList("addrs")
                        .ListItem("10.0.0.1")
                        .EndList()
                        .EndSection()
                        .bytes();
  EXPECT_EQ(Hex(msg),
            "01"
            "04" +
                Hex("conn") +
                "04"
                "05" +
                Hex("addrs") +
                "05"
                "0008" +
                Hex("10.0.0.1") +
                "06"
                "02");
  // Event registration is named; a confirmation has no name.
  EXPECT_EQ(Hex(EncodeViciPacket(ViciPacketType::kEventRegister, "child-updown")),
            "0000000e"
            "03"
            "0c" +
                Hex("child-updown"));
  EXPECT_EQ(Hex(EncodeViciPacket(ViciPacketType::kEventConfirm, "ignored")),
            "00000001"
            "05");
}

TEST(ViciClientTest, DecodesWhatItEncodes) {
  std::string msg = ViciMessageBuilder()
                        .KeyValue("up", "yes")
                        .BeginSection("bench")
                        .KeyValue("state", "ESTABLISHED")
                        .BeginList("tasks")
                        .ListItem("a")
                        .ListItem("b")
                        .EndList()
                        .EndSection()
                        .bytes();
  std::string packet = EncodeViciPacket(ViciPacketType::kEvent, "child-updown", msg);
  std::string error;
  auto p = DecodeViciPacket(packet.substr(4), &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->type, ViciPacketType::kEvent);
  EXPECT_EQ(p->name, "child-updown");
  EXPECT_EQ(p->Get("up"), "yes");
  EXPECT_EQ(p->Get("bench.state"), "ESTABLISHED");
  ASSERT_EQ(p->values.size(), 4u);
  EXPECT_EQ(p->values[2].first, "bench.tasks[]");
  EXPECT_EQ(p->values[3].second, "b");
  EXPECT_FALSE(p->Get("missing"));

  auto response = DecodeViciPacket(
      std::string("\x01") +
          ViciMessageBuilder().KeyValue("success", "no").KeyValue("errmsg", "x").bytes(),
      &error);
  ASSERT_TRUE(response) << error;
  EXPECT_EQ(response->type, ViciPacketType::kCmdResponse);
  EXPECT_EQ(response->name, "");
  EXPECT_EQ(response->Get("success"), "no");
}

TEST(ViciClientTest, RejectsMalformedPackets) {
  std::string error;
  EXPECT_FALSE(DecodeViciPacket("", &error));
  EXPECT_FALSE(DecodeViciPacket("\x09", &error));  // unknown packet type
  EXPECT_NE(error.find("packet type"), std::string::npos);
  EXPECT_FALSE(DecodeViciPacket(std::string("\x07\x05"
                                            "ab",
                                            4),
                                &error));  // name too short
  // A value longer than the packet.
  EXPECT_FALSE(DecodeViciPacket(std::string("\x01\x03\x01k\x00\x09v", 7), &error));
  // Unbalanced: a section end without a start; an unterminated section.
  EXPECT_FALSE(DecodeViciPacket(std::string("\x01\x02", 2), &error));
  EXPECT_FALSE(DecodeViciPacket(std::string("\x01\x01\x01s", 4), &error));
  EXPECT_NE(error.find("unterminated"), std::string::npos);
  EXPECT_FALSE(DecodeViciPacket(std::string("\x01\x05\x00\x01x", 5), &error));  // item, no list
  EXPECT_FALSE(DecodeViciPacket(std::string("\x01\x63", 2), &error));           // element 99
}

}  // namespace
}  // namespace ipsec::bench
