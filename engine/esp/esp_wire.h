#pragma once

// ESP and AH on the wire: constants, limits and layouts in one place (../shared/STYLE.md
// rule 2). Nothing here has state.
//
// ESP packet, RFC 4303 §2:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//   |               Security Parameters Index (SPI)                 | ^Int.
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//   |                      Sequence Number                          | |ered
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
//   |                    IV (per transform)                         | |   ^
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
//   ~                    Payload Data (variable)                    ~ |Conf.
//   +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//   |               |     Padding (0-255 bytes)                     | |ered*
//   +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
//   |                               |  Pad Length   | Next Header   | v   v
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
//   |         Integrity Check Value-ICV   (variable)                |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// AH header, RFC 4302 §2:
//   | Next Header   |  Payload Len  |          RESERVED             |
//   |                 Security Parameters Index (SPI)               |
//   |                    Sequence Number Field                      |
//   |                Integrity Check Value-ICV (variable)           |

#include <cstddef>
#include <cstdint>

namespace ipsec::engine::esp {

enum class Protocol : uint8_t { kEsp = 50, kAh = 51 };
enum class Mode { kTransport, kTunnel };

// ---- ESP (RFC 4303) ---------------------------------------------------------------------------
inline constexpr size_t kEspHeaderSize = 8;   // SPI + sequence number, RFC 4303 §2
inline constexpr size_t kEspTrailerSize = 2;  // pad length + next header, RFC 4303 §2.4/§2.6
inline constexpr size_t kMaxIvSize = 16;      // AES-CBC (RFC 3602); GCM/ChaCha use 8
inline constexpr size_t kMaxIcvSize = 32;     // HMAC-SHA-512-256 (RFC 4868)
inline constexpr size_t kMaxPadding = 255;    // RFC 4303 §2.4: the pad length is one octet
inline constexpr size_t kMaxBlockSize = 16;   // the largest cipher block we pad to
// The ESP header + IV + the largest default padding (block - 1) + trailer + ICV: what Protect
// adds to a payload at most (no TFC padding).
inline constexpr size_t kMaxEspOverhead =
    kEspHeaderSize + kMaxIvSize + (kMaxBlockSize - 1) + kEspTrailerSize + kMaxIcvSize;  // 73

// ---- Sequence numbers and anti-replay (RFC 4303 §3.3.3, §3.4.3; RFC 4304) -------------------
// RFC 4303 §3.4.3: the window must be at least 32, SHOULD be 64; issue 4 asks for >= 1024.
inline constexpr uint32_t kDefaultReplayWindow = 4096;
inline constexpr uint32_t kMinReplayWindow = 64;
inline constexpr uint32_t kMaxReplayWindow = 1u << 16;
// The sender reports a rekey as due from these sequence numbers on (1/16 of the space before
// the counter would cycle, RFC 4303 §3.3.3: it must never cycle).
inline constexpr uint64_t kSeqRekeyThreshold = 0xF000'0000ull;            // 32-bit numbers
inline constexpr uint64_t kEsnRekeyThreshold = 0xF000'0000'0000'0000ull;  // ESN (RFC 4304)
inline constexpr uint64_t kMaxSequence32 = 0xFFFF'FFFFull;

// ---- Next header values (IANA protocol numbers; RFC 4303 §2.6) -------------------------------
inline constexpr uint8_t kNextHeaderHopByHop = 0;
inline constexpr uint8_t kNextHeaderIcmp = 1;
inline constexpr uint8_t kNextHeaderIpv4 = 4;  // tunnel mode, inner IPv4
inline constexpr uint8_t kNextHeaderTcp = 6;
inline constexpr uint8_t kNextHeaderUdp = 17;
inline constexpr uint8_t kNextHeaderIpv6 = 41;  // tunnel mode, inner IPv6
inline constexpr uint8_t kNextHeaderRouting = 43;
inline constexpr uint8_t kNextHeaderFragment = 44;
inline constexpr uint8_t kNextHeaderEsp = 50;
inline constexpr uint8_t kNextHeaderAh = 51;
inline constexpr uint8_t kNextHeaderIcmpv6 = 58;
inline constexpr uint8_t kNextHeaderNone = 59;  // dummy packet, RFC 4303 §2.6
inline constexpr uint8_t kNextHeaderDestOptions = 60;

// ---- AH (RFC 4302) ------------------------------------------------------------------------------
inline constexpr size_t kAhFixedSize = 12;  // next header, length, reserved, SPI, sequence

// ---- UDP encapsulation (RFC 3948) and outer headers ---------------------------------------------
inline constexpr size_t kUdpEncapHeaderSize = 8;  // RFC 3948 §2.1: a plain UDP header
inline constexpr size_t kIpv4HeaderSize = 20;     // without options
inline constexpr size_t kIpv6HeaderSize = 40;
// What a tunnel-mode packet may grow by at most: outer IPv6 header, UDP encapsulation, ESP.
// The data path subtracts this from the link MTU for the TUN MTU and the TCP MSS.
inline constexpr size_t kMaxOutboundOverhead =
    kIpv6HeaderSize + kUdpEncapHeaderSize + kMaxEspOverhead;  // 121
// FAQ 46's AH+ESP bundle (never UDP-encapsulated, RFC 3715 §2.1): outer IPv6 header, ESP, and
// the largest AH header: 12 octets + the largest ICV (32, HMAC-SHA2-512-256), a multiple of 8
// on IPv6 (RFC 4302 §2.2) = 48. The data path leaves this much room once a bundle exists.
inline constexpr size_t kMaxAhHeaderSize = (kAhFixedSize + kMaxIcvSize + 7) / 8 * 8;  // 48
inline constexpr size_t kMaxBundleOverhead =
    kIpv6HeaderSize + kMaxEspOverhead + kMaxAhHeaderSize;  // 161

// ---- Drops -------------------------------------------------------------------------------------
// Why an inbound packet was dropped: a bounded set, for counters (../shared/STYLE.md rule 9).
enum class DropReason : uint8_t {
  kMalformed,         // too short, wrong SPI, misaligned ciphertext, bad header fields
  kReplay,            // seen before, or older than the window (RFC 4303 §3.4.3)
  kIntegrity,         // the ICV did not verify (RFC 4303 §3.4.4)
  kPadding,           // pad length too long or padding not 1, 2, 3, ... (RFC 4303 §2.4)
  kDummy,             // next header 59: a dummy packet, dropped silently (RFC 4303 §2.6)
  kSequenceOverflow,  // the sender's counter would cycle (outbound; RFC 4303 §3.3.3)
  kUnsupported,       // valid but not handled (e.g. an IPv6 routing header under AH)
  kInternal,          // a crypto library failure we count rather than crash on
};
inline constexpr size_t kDropReasonCount = 8;
const char* DropReasonName(DropReason reason);  // "malformed", "replay", ...

}  // namespace ipsec::engine::esp
