#include "engine/esp/replay_window.h"

#include <gtest/gtest.h>

#include "engine/esp/esp_wire.h"

namespace ipsec::engine::esp {
namespace {

constexpr uint64_t W = 1024;  // the window of the numbered cases

struct Case {
  int number;
  uint64_t seq;
  bool accepted;
};

// Numbered like WireGuard's counter self-test (drivers/net/wireguard/selftest/counter.c), for
// RFC 4303 §3.4.3 semantics: numbers start at 1, the window holds the W numbers up to the top.
TEST(ReplayWindowTest, NumberedCases) {
  const Case cases[] = {
      {1, 0, false},                 // 0 is never sent (RFC 4303 §3.3.3)
      {2, 1, true},                  // first packet
      {3, 1, false},                 // duplicate
      {4, 9, true},                  // jump ahead
      {5, 8, true},                  // late but inside the window
      {6, 7, true},                  //
      {7, 7, false},                 // duplicate of a late one
      {8, W, true},                  // top moves to W
      {9, W - 1, true},              //
      {10, W - 1, false},            //
      {11, W - 2, true},             //
      {12, 2, true},                 // top - 2 = W - 2 < W: still inside
      {13, 2, false},                //
      {14, W + 16, true},            // top W + 16
      {15, 3, false},                // now left of the window
      {16, W + 16, false},           //
      {17, 4 * W, true},             // jump over several words
      {18, 4 * W - (W - 1), true},   // the oldest number in the window
      {19, 10, false},               //
      {20, 4 * W - W, false},        // one left of the window
      {21, 4 * W - (W + 1), false},  //
      {22, 4 * W - (W - 2), true},   //
      {23, 4 * W + 1 - W, false},    // = case 18, seen
      {24, 0, false},                //
      {25, 4 * W + 64 * 100, true},  // a jump larger than the whole ring clears it
      {26, 4 * W + 64 * 100 - 1, true},
      {27, 4 * W, false},               // far left
      {28, kMaxSequence32, true},       // the last 32-bit number
      {29, kMaxSequence32 + 1, false},  // beyond 32 bits without ESN
      {30, kMaxSequence32, false},      //
      {31, kMaxSequence32 - W + 1, true},
      {32, kMaxSequence32 - W, false},
  };
  ReplayWindow window(W, /*esn=*/false);
  ASSERT_EQ(window.window(), W);
  for (const Case& c : cases) {
    const bool peek = window.Check(c.seq);
    EXPECT_EQ(peek, c.accepted) << "case " << c.number << " (check)";
    EXPECT_EQ(window.CheckAndCommit(c.seq), c.accepted) << "case " << c.number;
  }
}

TEST(ReplayWindowTest, CheckDoesNotCommit) {
  ReplayWindow window(W, false);
  EXPECT_TRUE(window.Check(5));
  EXPECT_TRUE(window.Check(5));
  EXPECT_EQ(window.top(), 0u);
  EXPECT_TRUE(window.CheckAndCommit(5));
  EXPECT_FALSE(window.Check(5));
  EXPECT_EQ(window.top(), 5u);
}

TEST(ReplayWindowTest, EveryNumberOfAFullWindowOnceInReverse) {
  ReplayWindow window(W, false);
  const uint64_t top = 10 * W + 37;
  for (uint64_t s = top; s > top - W; --s) EXPECT_TRUE(window.CheckAndCommit(s)) << s;
  for (uint64_t s = top; s > top - W; --s) EXPECT_FALSE(window.CheckAndCommit(s)) << s;
  EXPECT_FALSE(window.CheckAndCommit(top - W));
  // Sliding by one word keeps the remaining marks.
  EXPECT_TRUE(window.CheckAndCommit(top + 64));
  for (uint64_t s = top + 64 - W + 1; s <= top; ++s) EXPECT_FALSE(window.Check(s)) << s;
}

TEST(ReplayWindowTest, SizesAreClampedAndRounded) {
  EXPECT_EQ(ReplayWindow(0, false).window(), kMinReplayWindow);
  EXPECT_EQ(ReplayWindow(100, false).window(), 128u);
  EXPECT_EQ(ReplayWindow(kDefaultReplayWindow, false).window(), 4096u);
  EXPECT_EQ(ReplayWindow(1u << 30, false).window(), kMaxReplayWindow);
  EXPECT_GE(kDefaultReplayWindow, 1024u);  // issue 4
}

// RFC 4303 Appendix A2.2: inferring the high half from the window.
TEST(ReplayWindowTest, EsnInference) {
  ReplayWindow window(W, /*esn=*/true);
  // Fresh (T = 0, case B): small numbers are in subspace 0; numbers just below 2^32 would be
  // in subspace -1, i.e. before the first packet.
  EXPECT_EQ(window.Infer(1), 1u);
  EXPECT_EQ(window.Infer(0xFFFF'FFFF), std::nullopt);
  // Near the end of subspace 0 (case A).
  ASSERT_TRUE(window.CheckAndCommit(0xFFFF'FFF0));
  EXPECT_EQ(window.Infer(0xFFFF'FF00), 0xFFFF'FF00u);
  EXPECT_EQ(window.Infer(5), 0x1'0000'0005u);  // wrapped: next subspace
  ASSERT_TRUE(window.CheckAndCommit(*window.Infer(5)));
  EXPECT_EQ(window.top(), 0x1'0000'0005u);
  // Now the window spans two subspaces (case B).
  EXPECT_EQ(window.Infer(0xFFFF'FFF8), 0xFFFF'FFF8u);
  EXPECT_TRUE(window.Check(0xFFFF'FFF8));   // inside the window, not seen
  EXPECT_FALSE(window.Check(0xFFFF'FFF0));  // seen before the wrap
  EXPECT_EQ(window.Infer(6), 0x1'0000'0006u);
  EXPECT_EQ(window.Infer(0x8000'0000), 0x1'8000'0000u);
}

TEST(ReplayWindowTest, EsnNumberedWrapCases) {
  struct EsnCase {
    int number;
    uint32_t low;
    uint64_t inferred;
    bool accepted;
  };
  const EsnCase cases[] = {
      {1, 1, 1, true},
      {2, 0xFFFF'FC00, 0xFFFF'FC00, true},  // case A after this
      {3, 0xFFFF'FFFF, 0xFFFF'FFFF, true},
      {4, 0, 0x1'0000'0000, true},           // low 0 is valid in a later subspace
      {5, 0xFFFF'FFFE, 0xFFFF'FFFE, true},   // late, from the old subspace
      {6, 0xFFFF'FFFF, 0xFFFF'FFFF, false},  // duplicate across the wrap
      {7, 0, 0x1'0000'0000, false},
      {8, 0xFFFF'FC01, 0xFFFF'FC01, true},    // oldest in the window (T = 2^32)
      {9, 0xFFFF'FC00, 0x1'FFFF'FC00, true},  // left of the window: infers the future
  };
  ReplayWindow window(W, true);
  for (const EsnCase& c : cases) {
    std::optional<uint64_t> seq = window.Infer(c.low);
    ASSERT_TRUE(seq.has_value()) << "case " << c.number;
    EXPECT_EQ(*seq, c.inferred) << "case " << c.number;
    EXPECT_EQ(window.CheckAndCommit(*seq), c.accepted) << "case " << c.number;
  }
}

TEST(ReplayWindowTest, EsnTopOfTheSpace) {
  ReplayWindow window(W, true);
  ASSERT_TRUE(window.CheckAndCommit(0xFFFF'FFFF'FFFF'FFF0));
  EXPECT_EQ(window.Infer(0xFFFF'FFF8), 0xFFFF'FFFF'FFFF'FFF8u);
  EXPECT_EQ(window.Infer(3), std::nullopt);  // would need a 33-bit high half
}

}  // namespace
}  // namespace ipsec::engine::esp
