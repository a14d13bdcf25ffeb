#pragma once

// The attacker of ike_flood_bench: it owns a range of IPv4 addresses (routed to its namespace,
// a local route there so that it receives what is sent to them) and floods a responder with
// IKE_SA_INIT requests from them, each from the next address with a new SPIi. It answers every
// HDR, N(COOKIE) with the request again carrying the cookie (RFC 7296 §2.6), as an off-path
// attacker that receives the answers at its addresses can, and never sends IKE_AUTH: every
// request the responder admits leaves a half-open IKE SA there.
//
// One UDP socket bound to 0.0.0.0:500 sends with the source address chosen per datagram
// (IP_PKTINFO) and receives the answers to every address. Runs in the calling thread.

#include <cstdint>
#include <string>

namespace ipsec::bench {

struct FloodOptions {
  std::string target;        // the responder's IPv4 address
  uint16_t port = 500;       // its IKE port (and ours)
  std::string first_source;  // the first of our addresses, e.g. 10.200.0.1
  uint32_t sources = 60000;  // how many consecutive addresses we send from
  uint32_t rate = 2000;      // datagrams per second (first requests and cookie answers); 0: max
  double seconds = 10;       // how long
};

struct FloodStats {
  uint64_t sent_initial = 0;      // requests without a cookie
  uint64_t sent_with_cookie = 0;  // requests again with the cookie the responder gave
  uint64_t send_failures = 0;     // the kernel refused (ENOBUFS, EAGAIN)
  uint64_t cookies = 0;           // HDR, N(COOKIE) answers received
  uint64_t responses = 0;         // full IKE_SA_INIT responses (a half-open SA exists)
  uint64_t other = 0;             // anything else received
  double seconds = 0;             // measured duration
  // "key value" lines, one per figure (what the bench reads back from the attacker's output).
  std::string Lines() const;
};

// False with `error` when the socket cannot be set up.
bool RunFlood(const FloodOptions& options, FloodStats* stats, std::string* error);

}  // namespace ipsec::bench
