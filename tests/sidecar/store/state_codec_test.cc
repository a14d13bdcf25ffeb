#include "sidecar/store/state_codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/sidecar/store/state_fixtures.h"

namespace ipsec::sidecar::store {
namespace {

using engine::service::LocalState;
using nlohmann::json;
using testing::Seal;
using testing::TwoPolicies;

const std::string kFile = "/var/lib/ipsec-sidecar/state.json";

json Encoded(const LocalState& s) {
  auto text = EncodeState(s);
  EXPECT_TRUE(text.ok());
  return json::parse(*text);
}

// The error is kDataLoss, names the file and contains `what`.
void ExpectCorrupt(const std::string& text, const std::string& what) {
  auto r = DecodeState(text, kFile);
  ASSERT_FALSE(r.ok()) << "decoded: " << text.substr(0, 200);
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(r.error().path, kFile);
  EXPECT_NE(r.error().message.find(kFile), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
}

TEST(StateCodecTest, RoundTripKeepsEverythingIncludingPresharedKeys) {
  const LocalState in = TwoPolicies();
  auto text = EncodeState(in);
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  EXPECT_NE(text->find("beta key with spaces"), std::string::npos);
  auto out = DecodeState(*text, kFile);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_EQ(out->last_revision, 9u);
  EXPECT_EQ(out->assigned, std::optional<std::string>("beta"));
  ASSERT_EQ(out->policies.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(out->policies[i].revision, in.policies[i].revision);
    EXPECT_EQ(out->policies[i].policy, in.policies[i].policy);
  }
  EXPECT_EQ(out->policies[1].policy.rules.at(0).auth_methods.at(0).preshared_key.view(),
            "beta key with spaces");
}

TEST(StateCodecTest, TheDocumentedEnvelope) {
  json j = Encoded(TwoPolicies());
  EXPECT_EQ(j["format"], "ipsec-sidecar-state");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["last_revision"], 9);
  EXPECT_EQ(j["assigned"], "beta");
  EXPECT_EQ(j["policies"][0]["revision"], 3);
  EXPECT_EQ(j["policies"][0]["policy"]["name"], "alpha");
  EXPECT_EQ(j["checksum"].get<std::string>().rfind("crc32:", 0), 0u);
}

TEST(StateCodecTest, EmptyStateAndNoAssignment) {
  auto text = EncodeState(LocalState{});
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(json::parse(*text)["assigned"].is_null());
  auto out = DecodeState(*text, kFile);
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  EXPECT_TRUE(out->policies.empty());
  EXPECT_FALSE(out->assigned);
  EXPECT_EQ(out->last_revision, 0u);
}

TEST(StateCodecTest, SortsPoliciesByName) {
  LocalState s = TwoPolicies();
  std::swap(s.policies[0], s.policies[1]);
  auto out = DecodeState(*EncodeState(s), kFile);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->policies[0].policy.name, "alpha");
}

TEST(StateCodecTest, ReindentedFileStillVerifies) {
  json j = Encoded(TwoPolicies());
  EXPECT_TRUE(DecodeState(j.dump(), kFile).ok());
  EXPECT_TRUE(DecodeState(j.dump(7), kFile).ok());
}

TEST(StateCodecTest, TruncatedAndGarbageAreCorrupt) {
  const std::string text = *EncodeState(TwoPolicies());
  ExpectCorrupt("", "empty");
  for (size_t cut : {size_t{1}, text.size() / 3, text.size() / 2, text.size() - 3}) {
    ExpectCorrupt(text.substr(0, cut), "not valid JSON");
  }
  ExpectCorrupt(std::string("\x00\x13\x37garbage\xff", 12), "not valid JSON");
  ExpectCorrupt("[1, 2, 3]", "not a JSON object");
  ExpectCorrupt("\"state\"", "not a JSON object");
}

TEST(StateCodecTest, ChangedContentFailsTheChecksum) {
  const std::string text = *EncodeState(TwoPolicies());
  // A changed digit, a changed character in a key, a changed description.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"last_revision\": 9", "\"last_revision\": 8"},
           {"beta key with spaces", "beta key with spacez"},
           {"policy alpha", "policy alphb"}}) {
    std::string bad = text;
    auto pos = bad.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    bad.replace(pos, from.size(), to);
    ExpectCorrupt(bad, "checksum mismatch");
  }
  json j = json::parse(text);
  j["checksum"] = "crc32:00000000";
  ExpectCorrupt(j.dump(), "checksum mismatch");
  j.erase("checksum");
  ExpectCorrupt(j.dump(), "\"checksum\" is missing");
}

TEST(StateCodecTest, EnvelopeFaults) {
  json good = Encoded(TwoPolicies());
  json j = good;
  j["format"] = "something-else";
  ExpectCorrupt(Seal(j), "\"format\"");
  j = good;
  j["version"] = 2;
  ExpectCorrupt(Seal(j), "version 2 is not the supported version 1");
  j = good;
  j["extra"] = true;
  ExpectCorrupt(Seal(j), "unexpected field \"extra\"");
  j = good;
  j["last_revision"] = -1;
  ExpectCorrupt(Seal(j), "\"last_revision\"");
  j = good;
  j["assigned"] = 5;
  ExpectCorrupt(Seal(j), "\"assigned\"");
  j = good;
  j["policies"] = json::object();
  ExpectCorrupt(Seal(j), "\"policies\"");
}

TEST(StateCodecTest, InvalidPoliciesAreCorrupt) {
  json good = Encoded(TwoPolicies());
  json j = good;
  j["policies"][1]["policy"]["rules"][0]["filter_action"] = "no-such-action";
  ExpectCorrupt(Seal(j), "/policies/1/policy");
  j = good;
  j["policies"][0]["policy"]["unknown_field"] = 1;
  ExpectCorrupt(Seal(j), "/policies/0/policy");
  j = good;
  j["policies"][0]["policy"] = "not a policy";
  ExpectCorrupt(Seal(j), "/policies/0/policy");
  j = good;
  j["policies"][0]["revision"] = 10;  // above last_revision: it would be reused
  ExpectCorrupt(Seal(j), "/policies/0/revision");
  j = good;
  j["policies"][0]["extra"] = 1;
  ExpectCorrupt(Seal(j), "/policies/0 is not");
  j = good;
  j["policies"][0]["policy"]["name"] = "beta";
  ExpectCorrupt(Seal(j), "policy 'beta' is stored twice");
  j = good;
  j["assigned"] = "gamma";
  ExpectCorrupt(Seal(j), "the assigned policy 'gamma' is not stored");
}

}  // namespace
}  // namespace ipsec::sidecar::store
