#pragma once

// The receiving side of one ESP SA (RFC 4303 §3.4): replay check, ICV verification and
// decryption in place, then commit (../shared/STYLE.md rule 8), then padding and next-header
// checks. Pure: no I/O, no allocation per packet. Every bad packet is a DropReason, never a
// crash.
//
// Thread-safety: Unprotect may run on several threads at once, each with its own worker index
// (< SaParams::workers). The replay window is guarded by window_lock_, held only for the peek
// and the commit; decryption runs outside it. Owns its contexts and keys.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <variant>

#include "engine/common/result.h"
#include "engine/esp/esp_wire.h"
#include "engine/esp/replay_window.h"
#include "engine/esp/transform.h"

namespace ipsec::engine::esp {

class SaCrypto;

class InboundSa {
 public:
  static Result<std::unique_ptr<InboundSa>> Create(const SaParams& params);
  ~InboundSa();
  InboundSa(const InboundSa&) = delete;
  InboundSa& operator=(const InboundSa&) = delete;

  uint32_t spi() const { return spi_; }
  Mode mode() const { return mode_; }
  const ResolvedTransform& transform() const { return transform_; }

  struct Unprotected {
    size_t payload_offset = 0;  // from `packet`
    size_t payload_length = 0;
    uint8_t next_header = 0;  // kNextHeaderIpv4/Ipv6 in tunnel mode
    uint64_t sequence = 0;    // the full (ESN-inferred) sequence number
  };

  // `packet` is the ESP packet from its SPI on (after any UDP encapsulation header, RFC 3948
  // §2.1), `length` its size. Decrypts in place. A dummy packet (next header 59) is authentic
  // but returned as DropReason::kDummy (RFC 4303 §2.6: dropped silently, counted).
  std::variant<Unprotected, DropReason> Unprotect(unsigned worker, uint8_t* packet, size_t length);

  // The highest authenticated sequence number (0: none).
  uint64_t highest_sequence() const;

  // Tests: marks `seq` authenticated, as if a packet with it had arrived (to move an ESN
  // window into a high subspace).
  void CommitForTesting(uint64_t seq);

 private:
  InboundSa(const SaParams& params, ResolvedTransform transform, std::unique_ptr<SaCrypto> crypto);

  uint32_t spi_;
  Mode mode_;
  bool esn_;
  ResolvedTransform transform_;
  std::unique_ptr<SaCrypto> crypto_;
  mutable std::mutex window_lock_;
  ReplayWindow window_;  // guarded by window_lock_
};

}  // namespace ipsec::engine::esp
