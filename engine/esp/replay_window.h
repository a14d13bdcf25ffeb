#pragma once

// The inbound anti-replay window, RFC 4303 §3.4.3, as a ring of 64-bit bitmap words (RFC 6479,
// as WireGuard's counter validation), with the extended-sequence-number inference of RFC 4303
// Appendix A. Not thread-safe: InboundSa guards it with its lock.
//
// Use (../shared/STYLE.md rule 8): Infer() the 64-bit number from the wire's low 32 bits,
// Check() before authenticating, CheckAndCommit() after the ICV verified.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace ipsec::engine::esp {

class ReplayWindow {
 public:
  // `window` packets (rounded up to a multiple of 64, clamped to [kMinReplayWindow,
  // kMaxReplayWindow]); `esn` selects 64-bit sequence numbers (RFC 4304).
  ReplayWindow(uint32_t window, bool esn);

  uint32_t window() const { return window_; }
  bool esn() const { return esn_; }
  // The highest authenticated sequence number (0: none yet).
  uint64_t top() const { return top_; }

  // The full sequence number of a packet carrying `low` on the wire: `low` itself without
  // ESN; with ESN the high half inferred from the window (RFC 4303 Appendix A2.2). nullopt when
  // the inference lands before the first number (it cannot be a valid packet).
  std::optional<uint64_t> Infer(uint32_t low) const;

  // True if `seq` may be new: not 0, not older than the window, not marked seen.
  bool Check(uint64_t seq) const;
  // Check() and, if it passes, marks `seq` seen and advances the window. False: a replay (e.g.
  // a duplicate authenticated meanwhile by another thread).
  bool CheckAndCommit(uint64_t seq);

 private:
  uint64_t top_ = 0;
  std::vector<uint64_t> bitmap_;  // ring of words; bit (seq % 64) of word (seq / 64) % size
  uint32_t window_;
  bool esn_;
};

}  // namespace ipsec::engine::esp
