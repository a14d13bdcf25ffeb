#include "api/dto/json_reader.h"

#include <gtest/gtest.h>

namespace ipsec::api::dto {
namespace {

TEST(ChildPathTest, EscapesPerRfc6901) {
  EXPECT_EQ(ChildPath("", "a"), "/a");
  EXPECT_EQ(ChildPath("/a", "b/c~d"), "/a/b~1c~0d");
  EXPECT_EQ(ChildPath("/rules", size_t{3}), "/rules/3");
}

TEST(TypeNameTest, NamesEveryType) {
  EXPECT_EQ(TypeName(Json(nullptr)), "null");
  EXPECT_EQ(TypeName(Json::object()), "an object");
  EXPECT_EQ(TypeName(Json::array()), "an array");
  EXPECT_EQ(TypeName(Json("x")), "a string");
  EXPECT_EQ(TypeName(Json(true)), "a boolean");
  EXPECT_EQ(TypeName(Json(1)), "a number");
  EXPECT_EQ(TypeName(Json(-1)), "a number");
  EXPECT_EQ(TypeName(Json(1.5)), "a number");
}

TEST(ClosestNameTest, SuggestsOnlyNearTypos) {
  std::vector<std::string> known = {"name", "filter_lists", "filter_actions", "rules"};
  EXPECT_EQ(ClosestName("filter_lsts", known), "filter_lists");
  EXPECT_EQ(ClosestName("rule", known), "rules");
  EXPECT_EQ(ClosestName("nmae", known), "name");
  EXPECT_EQ(ClosestName("completely_different", known), "");
  EXPECT_EQ(ClosestName("x", known), "");
  EXPECT_EQ(ClosestName("anything", {}), "");
}

TEST(ReadUnsignedTest, ChecksSignRangeAndKind) {
  EXPECT_EQ(*ReadUnsigned(Json(5), "/x", 10), 5u);
  EXPECT_EQ(*ReadUnsigned(Json(10), "/x", 10), 10u);
  auto big = ReadUnsigned(Json(11), "/x", 10);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().path, "/x");
  EXPECT_NE(big.error().message.find("too large"), std::string::npos);
  auto negative = ReadUnsigned(Json(-1), "/x", 10);
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("-1"), std::string::npos);
  auto fraction = ReadUnsigned(Json(1.0), "/x", 10);
  ASSERT_FALSE(fraction.ok());
  EXPECT_NE(fraction.error().message.find("whole number"), std::string::npos);
  auto text = ReadUnsigned(Json("5"), "/x", 10);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, "expected a number, got a string");
}

TEST(ReadArrayTest, StopsAtFirstErrorWithIndexPath) {
  std::vector<std::string> seen;
  Status s = ReadArray(Json::parse(R"(["a", 1, "c"])"), "/list",
                       [&](const Json& v, const std::string& path) -> Status {
                         auto str = ReadString(v, path);
                         if (!str.ok()) return str.error();
                         seen.push_back(*str);
                         return Status::Ok();
                       });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().path, "/list/1");
  EXPECT_EQ(seen, std::vector<std::string>{"a"});
  EXPECT_FALSE(ReadArray(Json::object(), "/list", {}).ok());
}

TEST(ObjectReaderTest, ReadsFieldsAndDefaults) {
  Json j = Json::parse(R"({"s": "x", "b": false, "n": 7, "big": 18446744073709551615})");
  ObjectReader r(j, "/o", "thing");
  std::string s;
  bool b = true;
  uint32_t n = 0;
  uint64_t big = 0;
  std::string absent = "default";
  r.String("s", s, ObjectReader::kRequired);
  r.Bool("b", b);
  r.Uint32("n", n);
  r.Uint64("big", big);
  r.String("absent", absent);
  ASSERT_TRUE(r.Finish().ok());
  EXPECT_EQ(s, "x");
  EXPECT_FALSE(b);
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(big, UINT64_MAX);
  EXPECT_EQ(absent, "default");
}

TEST(ObjectReaderTest, UnknownFieldReportedBeforeMissingRequiredOne) {
  Json j = Json::parse(R"({"nmae": "x"})");
  ObjectReader r(j, "", "policy");
  std::string name;
  r.String("name", name, ObjectReader::kRequired);
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  // A key that is not one of the API's field names is request content: not repeated, and the
  // path stops at its object (docs/api.md, "Errors").
  EXPECT_EQ(s.error().path, "");
  EXPECT_EQ(s.error().message, "the policy has an unknown field (did you mean 'name'?)");
}

TEST(ObjectReaderTest, UnknownFieldThatIsOneOfOursIsNamed) {
  Json j = Json::parse(R"({"name": "x", "filters": []})");
  ObjectReader r(j, "/rules/0", "rule");
  std::string name;
  r.String("name", name, ObjectReader::kRequired);
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().path, "/rules/0/filters");
  EXPECT_EQ(s.error().message, "unknown field 'filters' in the rule; known fields: name");
}

TEST(ObjectReaderTest, UnknownFieldWithoutNearMatchListsKnownFields) {
  Json j = Json::parse(R"({"zzzzzzzz": 1})");
  ObjectReader r(j, "", "thing");
  bool a = false;
  r.Bool("alpha", a);
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("known fields: alpha"), std::string::npos);
}

TEST(ObjectReaderTest, MissingRequiredAndWrongType) {
  Json j = Json::parse(R"({"flag": "yes"})");
  ObjectReader r(j, "/x", "thing");
  std::string name;
  bool flag = false;
  r.String("name", name, ObjectReader::kRequired);
  r.Bool("flag", flag);
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().path, "/x/name");
  EXPECT_EQ(s.error().message, "missing required field 'name' of the thing");
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);

  ObjectReader r2(j, "/x", "thing");
  r2.Bool("flag", flag);
  s = r2.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().path, "/x/flag");
  EXPECT_EQ(s.error().message, "expected true or false, got a string");
}

TEST(ObjectReaderTest, NotAnObject) {
  const Json array = Json::array();
  ObjectReader r(array, "/rules/0", "rule");
  std::string name;
  r.String("name", name, ObjectReader::kRequired);
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().path, "/rules/0");
  EXPECT_EQ(s.error().message, "expected a rule (a JSON object), got an array");
  const Json number = 1;
  ObjectReader r2(number, "", "IKE proposal");
  EXPECT_EQ(r2.Finish().error().message, "expected an IKE proposal (a JSON object), got a number");
}

TEST(ObjectReaderTest, NullIsNotAbsent) {
  Json j = Json::parse(R"({"description": null})");
  ObjectReader r(j, "", "rule");
  std::string d;
  r.String("description", d);
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "expected a string, got null");
}

enum class Color { kRed, kGreen };
std::optional<Color> ParseColor(std::string_view s) {
  if (s == "red") return Color::kRed;
  if (s == "green") return Color::kGreen;
  return std::nullopt;
}

TEST(ObjectReaderTest, EnumListsExpectedNames) {
  Json j = Json::parse(R"({"c": "gren"})");
  ObjectReader r(j, "", "thing");
  Color c = Color::kRed;
  r.Enum("c", c, ParseColor, {"red", "green"}, "color");
  Status s = r.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().path, "/c");
  // The value is not repeated; the hint and the names are ours.
  EXPECT_EQ(s.error().message, "unknown color (did you mean 'green'?); expected one of: red, green");

  Json ok = Json::parse(R"({"c": "green"})");
  ObjectReader r2(ok, "", "thing");
  r2.Enum("c", c, ParseColor, {"red", "green"}, "color");
  ASSERT_TRUE(r2.Finish().ok());
  EXPECT_EQ(c, Color::kGreen);
}

TEST(ObjectReaderTest, FirstErrorWins) {
  Json j = Json::parse(R"({"a": 1, "b": 2})");
  ObjectReader r(j, "", "thing");
  std::string a, b;
  r.String("a", a);
  r.String("b", b);
  EXPECT_EQ(r.Finish().error().path, "/a");
}

TEST(QuoteTest, Quotes) { EXPECT_EQ(Quote("x"), "'x'"); }

}  // namespace
}  // namespace ipsec::api::dto
