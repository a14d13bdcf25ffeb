#include "api/http/token_auth.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/api/http/test_http.h"

namespace ipsec::api::http {
namespace {

using testing::ReplaceFile;
using testing::TempDir;
using Outcome = TokenAuth::Outcome;

TEST(ParseBearerTest, AcceptsTheBearerSchemeOnly) {
  EXPECT_EQ(ParseBearer("Bearer abc"), "abc");
  EXPECT_EQ(ParseBearer("bearer   abc  "), "abc");
  EXPECT_EQ(ParseBearer("BEARER\tabc"), "abc");
  EXPECT_EQ(ParseBearer("Basic YWJj"), "");
  EXPECT_EQ(ParseBearer("Bearer"), "");
  EXPECT_EQ(ParseBearer("Bearerabc"), "");
  EXPECT_EQ(ParseBearer(""), "");
}

TEST(TokenAuthTest, AcceptsTheTokenWithItsNewlineTrimmed) {
  TempDir dir;
  TokenAuth auth(dir.Write("token", "  s3cret\n"));
  EXPECT_EQ(auth.Check("Bearer s3cret").outcome, Outcome::kOk);
  EXPECT_EQ(auth.Check("Bearer s3cre").outcome, Outcome::kWrongCredentials);
  EXPECT_EQ(auth.Check("Bearer s3cret2").outcome, Outcome::kWrongCredentials);
  EXPECT_EQ(auth.Check("").outcome, Outcome::kMissingCredentials);
  EXPECT_EQ(auth.Check("Basic czNjcmV0").outcome, Outcome::kMissingCredentials);
}

TEST(TokenAuthTest, MissingOrEmptyFileRefusesEverything) {
  TempDir dir;
  TokenAuth missing(dir.path() + "/absent");
  TokenAuth::Decision d = missing.Check("Bearer anything");
  EXPECT_EQ(d.outcome, Outcome::kNoToken);
  EXPECT_NE(d.message.find(dir.path() + "/absent"), std::string::npos) << d.message;
  EXPECT_EQ(missing.Check("").outcome, Outcome::kNoToken);

  TokenAuth empty(dir.Write("empty", " \n"));
  EXPECT_EQ(empty.Check("Bearer ").outcome, Outcome::kNoToken);
  EXPECT_NE(empty.Check("Bearer x").message.find("empty"), std::string::npos);

  TokenAuth unconfigured("");
  EXPECT_EQ(unconfigured.Check("Bearer x").outcome, Outcome::kNoToken);
}

TEST(TokenAuthTest, FollowsRotationAndAppearance) {
  TempDir dir;
  std::string path = dir.path() + "/token";
  TokenAuth auth(path);
  EXPECT_EQ(auth.Check("Bearer one").outcome, Outcome::kNoToken);
  dir.Write("token", "one\n");
  EXPECT_EQ(auth.Check("Bearer one").outcome, Outcome::kOk);
  ReplaceFile(path, "two\n");  // same size, new inode
  EXPECT_EQ(auth.Check("Bearer one").outcome, Outcome::kWrongCredentials);
  EXPECT_EQ(auth.Check("Bearer two").outcome, Outcome::kOk);
  dir.Write("token", "three-longer\n");  // rewritten in place
  EXPECT_EQ(auth.Check("Bearer two").outcome, Outcome::kWrongCredentials);
  EXPECT_EQ(auth.Check("Bearer three-longer").outcome, Outcome::kOk);
  std::filesystem::remove(path);
  EXPECT_EQ(auth.Check("Bearer three-longer").outcome, Outcome::kNoToken);
}

}  // namespace
}  // namespace ipsec::api::http
