#pragma once

// AH, RFC 4302: integrity for a whole IP packet, including the immutable fields of its IP
// header (§3.3.3.1: mutable fields are zeroed for the ICV). Unlike ESP, AH needs the IP
// header, so these SAs take whole IP packets. Pure: no I/O, no allocation per packet.
//
// Both modes are the same operation here: AH goes right after the outermost IP header (IPv4
// header with options; IPv6 header and the hop-by-hop, routing and fragment extension headers,
// RFC 4302 §3.1.1) and takes that header's protocol as its Next Header.
//   Transport mode: pass the original packet (AH's next header: TCP, UDP, ...).
//   Tunnel mode:    first prepend the outer IP header (WriteIpv4Header/WriteIpv6Header in
//                   udp_encap.h) to the inner packet, then pass the result (next header 4/41).
//
// AH+ESP bundle (FAQ 46; RFC 4301 §4.5: ESP inner, AH outer). Outbound: ESP first
// (OutboundSa::Protect on the payload), then the IP header in front of the ESP packet (the
// original header in transport mode with protocol 50, or the outer header in tunnel mode),
// then AhOutboundSa::Protect on that IP packet, so AH authenticates the ESP packet and the
// outer header. Inbound the reverse: AhInboundSa::Unprotect, then InboundSa::Unprotect on the
// ESP packet that follows the IP header. Raw only: AH cannot cross NAT (RFC 3948 covers ESP).
//
// Thread-safety as OutboundSa/InboundSa: per-worker contexts, atomic sequence counter, the
// inbound window under a lock.

#include <atomic>
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

// The AH header length for an ICV of `icv_size` on IPv4 (multiple of 4) or IPv6 (multiple of
// 8), RFC 4302 §2.2/§3.3.3.2.1 (the padding is zeroed and covered by the ICV).
size_t AhHeaderSize(size_t icv_size, bool ipv6);

class AhOutboundSa {
 public:
  // params.protocol must be kAh and the transform integrity-only (encryption_id 0).
  static Result<std::unique_ptr<AhOutboundSa>> Create(const SaParams& params);
  ~AhOutboundSa();
  AhOutboundSa(const AhOutboundSa&) = delete;
  AhOutboundSa& operator=(const AhOutboundSa&) = delete;

  uint32_t spi() const { return spi_; }
  // What callers must reserve before the IP packet: the largest AH header (IPv6 padding).
  size_t headroom() const { return AhHeaderSize(transform_.icv_size, true); }
  // The AH header this SA writes after an IPv4 or IPv6 header (MTU arithmetic).
  size_t header_size(bool ipv6) const { return AhHeaderSize(transform_.icv_size, ipv6); }

  struct Protected {
    size_t offset = 0;  // where the IP packet with AH now starts
    size_t length = 0;
    uint64_t sequence = 0;
    bool rekey_due = false;
  };
  // Inserts AH into the IP packet buffer[packet_offset, + packet_length): moves the IP header
  // (and IPv6 extension headers AH goes after) back into the headroom, writes AH, updates the
  // protocol/next-header field, lengths and the IPv4 header checksum, computes the ICV.
  // Errors: kInvalidArgument (not an IP packet, too little headroom, bad worker, too long),
  // kUnimplemented (a fragment, or an IPv6 routing header with segments left),
  // kFailedPrecondition (sequence would cycle), kInternal. After an error the buffer's
  // contents are unspecified (drop the packet).
  Result<Protected> Protect(unsigned worker, uint8_t* buffer, size_t capacity, size_t packet_offset,
                            size_t packet_length);

  // The next sequence number Protect will use (monitoring, tests), as OutboundSa's.
  uint64_t next_sequence() const { return counter_.load(std::memory_order_relaxed) + 1; }
  void SetNextSequenceForTesting(uint64_t next) {
    counter_.store(next - 1, std::memory_order_relaxed);
  }

 private:
  AhOutboundSa(const SaParams& params, ResolvedTransform transform,
               std::unique_ptr<SaCrypto> crypto);

  alignas(64) std::atomic<uint64_t> counter_{0};
  alignas(64) uint32_t spi_;
  bool esn_;
  ResolvedTransform transform_;
  std::unique_ptr<SaCrypto> crypto_;
};

class AhInboundSa {
 public:
  static Result<std::unique_ptr<AhInboundSa>> Create(const SaParams& params);
  ~AhInboundSa();
  AhInboundSa(const AhInboundSa&) = delete;
  AhInboundSa& operator=(const AhInboundSa&) = delete;

  uint32_t spi() const { return spi_; }

  struct Unprotected {
    size_t offset = 0;  // the IP packet without AH, from `packet`
    size_t length = 0;
    size_t payload_offset = 0;  // its upper-layer payload (tunnel mode: the inner packet)
    uint8_t next_header = 0;    // AH's next header (4/41 in tunnel mode, 50 in a bundle)
    uint64_t sequence = 0;
  };
  // `packet` is an IP packet whose (outermost) header is followed by AH with our SPI. Checks
  // the window, verifies the ICV (mutable fields zeroed, in a copy of the header on the stack
  // for IPv4 and in place, then restored, for IPv6), commits, and removes AH in place (the IP
  // header moves forward; protocol, lengths and IPv4 checksum updated).
  std::variant<Unprotected, DropReason> Unprotect(unsigned worker, uint8_t* packet, size_t length);

  uint64_t highest_sequence() const;

 private:
  AhInboundSa(const SaParams& params, ResolvedTransform transform,
              std::unique_ptr<SaCrypto> crypto);

  uint32_t spi_;
  bool esn_;
  ResolvedTransform transform_;
  std::unique_ptr<SaCrypto> crypto_;
  mutable std::mutex window_lock_;
  ReplayWindow window_;  // guarded by window_lock_
};

}  // namespace ipsec::engine::esp
