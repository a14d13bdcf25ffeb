#include "engine/common/secret_bytes.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <utility>

namespace ipsec {
namespace {

TEST(SecretBytesTest, HoldsItsBytes) {
  SecretBytes s("hunter2");
  EXPECT_EQ(s.size(), 7u);
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.view(), "hunter2");
  EXPECT_EQ(s.data()[0], 'h');
  EXPECT_TRUE(SecretBytes().empty());
  EXPECT_STREQ(SecretBytes::kRedacted, "<redacted>");
}

TEST(SecretBytesTest, CopyAndCompare) {
  SecretBytes a("key-a");
  SecretBytes b = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.view(), "key-a");
  SecretBytes c("key-b");
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == SecretBytes("key-a "));
  c = a;
  EXPECT_EQ(c.view(), "key-a");
  c = c;  // self-assignment keeps the key
  EXPECT_EQ(c.view(), "key-a");
}

TEST(SecretBytesTest, MoveLeavesTheSourceEmpty) {
  SecretBytes a("moving");
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.view(), "moving");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  SecretBytes c("old");
  c = std::move(b);
  EXPECT_EQ(c.view(), "moving");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(SecretBytesTest, HasNoImplicitTextConversion) {
  // A secret must not reach a log line by accident (STYLE.md rule 10).
  static_assert(!std::is_convertible_v<SecretBytes, std::string>);
  static_assert(!std::is_convertible_v<SecretBytes, std::string_view>);
  static_assert(!std::is_convertible_v<std::string, SecretBytes>);
}

}  // namespace
}  // namespace ipsec
