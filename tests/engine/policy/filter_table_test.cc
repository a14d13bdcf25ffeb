#include "engine/policy/filter_table.h"

#include <gtest/gtest.h>

namespace ipsec::engine::policy {
namespace {

TEST(FilterTableTest, Names) {
  EXPECT_STREQ(Name(Direction::kOutbound), "outbound");
  EXPECT_STREQ(Name(Direction::kInbound), "inbound");
  EXPECT_STREQ(Name(Action::kPermit), "permit");
  EXPECT_STREQ(Name(Action::kNegotiate), "negotiate");
  EXPECT_STREQ(Name(Action::kBlock), "block");
}

// FAQ 23: block is more restrictive than secure, which is more restrictive than permit; the
// compiler and the classifier compare the enum's values.
TEST(FilterTableTest, ActionsAreOrderedByRestrictiveness) {
  EXPECT_LT(Action::kPermit, Action::kNegotiate);
  EXPECT_LT(Action::kNegotiate, Action::kBlock);
}

}  // namespace
}  // namespace ipsec::engine::policy
