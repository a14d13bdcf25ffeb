#include "engine/esp/replay_window.h"

#include <algorithm>

#include "engine/esp/esp_wire.h"

namespace ipsec::engine::esp {
namespace {

uint32_t ClampWindow(uint32_t window) {
  window = std::clamp(window, kMinReplayWindow, kMaxReplayWindow);
  return (window + 63) / 64 * 64;
}

}  // namespace

// One word more than the window needs, so the word the top is in can be partly ahead of the
// window while the oldest word still covers its whole range (RFC 6479 §2).
ReplayWindow::ReplayWindow(uint32_t window, bool esn)
    : bitmap_(ClampWindow(window) / 64 + 1, 0), window_(ClampWindow(window)), esn_(esn) {}

std::optional<uint64_t> ReplayWindow::Infer(uint32_t low) const {
  if (!esn_) return low;
  // RFC 4303 Appendix A2.2, with T = top_, W = window_.
  const uint32_t tl = static_cast<uint32_t>(top_);
  const uint32_t th = static_cast<uint32_t>(top_ >> 32);
  const uint32_t bottom = tl - (window_ - 1);  // Tl - W + 1, modulo 2^32
  uint64_t seqh;
  if (tl >= window_ - 1) {
    // Case A: the window lies within one subspace.
    seqh = low >= bottom ? th : uint64_t{th} + 1;
  } else {
    // Case B: the window spans two subspaces.
    if (low >= bottom) {
      if (th == 0) return std::nullopt;  // before the first sequence number
      seqh = th - 1;
    } else {
      seqh = th;
    }
  }
  if (seqh > 0xFFFF'FFFFull) return std::nullopt;  // the 64-bit counter cannot cycle either
  return seqh << 32 | low;
}

bool ReplayWindow::Check(uint64_t seq) const {
  if (seq == 0) return false;  // RFC 4303 §3.3.3: the first packet is number 1
  if (!esn_ && seq > kMaxSequence32) return false;
  if (seq > top_) return true;
  if (top_ - seq >= window_) return false;  // left of the window
  const uint64_t word = bitmap_[(seq / 64) % bitmap_.size()];
  return ((word >> (seq % 64)) & 1) == 0;
}

bool ReplayWindow::CheckAndCommit(uint64_t seq) {
  if (!Check(seq)) return false;
  if (seq > top_) {
    // Clear the words the window slides over (at most the whole ring).
    const uint64_t top_word = top_ / 64;
    const uint64_t new_word = seq / 64;
    const uint64_t n = std::min<uint64_t>(new_word - top_word, bitmap_.size());
    for (uint64_t i = 1; i <= n; ++i) bitmap_[(top_word + i) % bitmap_.size()] = 0;
    top_ = seq;
  }
  bitmap_[(seq / 64) % bitmap_.size()] |= uint64_t{1} << (seq % 64);
  return true;
}

}  // namespace ipsec::engine::esp
