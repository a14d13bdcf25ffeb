#pragma once

// What the API shows of IKE (FAQ 37-38: the IP Security Monitor): plain copies, taken on the IKE
// thread, without key material.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ipsec::engine::ike {

struct ChildSaSnapshot {
  std::string id;  // "child-<reqid>"
  uint32_t reqid = 0;
  std::string rule;
  std::string state;
  std::string mode;      // tunnel | transport
  std::string protocol;  // esp | ah | ah+esp (FAQ 46)
  std::string algorithms;
  bool pfs = false;
  bool udp_encapsulation = false;
  uint32_t spi_in = 0;
  uint32_t spi_out = 0;
  uint32_t ah_spi_in = 0;  // ah+esp: the AH pair's SPIs (spi_in/spi_out are the ESP pair's)
  uint32_t ah_spi_out = 0;
  std::vector<std::string> local_ts;
  std::vector<std::string> remote_ts;
  int64_t established_unix = 0;
  int64_t rekey_in_seconds = 0;
  int64_t expire_in_seconds = 0;
  uint64_t bytes_in = 0;
  uint64_t packets_in = 0;
  uint64_t bytes_out = 0;
  uint64_t packets_out = 0;
  int64_t last_used_unix = 0;  // 0: no traffic yet
};

struct IkeSaSnapshot {
  std::string id;  // "ike-<n>"
  std::string state;
  std::string role;  // initiator | responder (of the IKE SA)
  std::string local;
  std::string remote;
  std::string local_id;
  std::string remote_id;
  std::string rule;
  std::string algorithms;
  std::string local_auth;   // how we authenticated: "preshared key", "ecdsa-sha256 (RFC 7427)"
  std::string remote_auth;  // how the peer did
  std::string spi_i;        // hex
  std::string spi_r;
  bool nat_local = false;
  bool nat_remote = false;
  bool udp_4500 = false;
  int64_t established_unix = 0;
  int64_t rekey_in_seconds = 0;
  int64_t expire_in_seconds = 0;
  // RFC 7296 §2.2: the message ID of our next request, and of the peer's next request we
  // expect (a forged message must change neither: §2.21.4).
  uint32_t message_id_out = 0;
  uint32_t message_id_in = 0;
  std::string failure;
  std::vector<ChildSaSnapshot> children;
};

struct IkeStatisticsSnapshot {
  uint64_t ike_sas_active = 0;
  uint64_t ike_sas_half_open = 0;
  uint64_t child_sas_active = 0;
  uint64_t negotiations_total = 0;
  uint64_t negotiation_failures_total = 0;
  uint64_t retransmits_total = 0;
  uint64_t dos_drops_total = 0;
  uint64_t cookies_sent_total = 0;
  uint64_t datagrams_dropped_total = 0;   // every discarded datagram: the sum of the next
  // Discarded datagrams by IkeDropReason (its value indexes this; kIkeDropReasonCount long).
  std::array<uint64_t, 11> datagrams_dropped{};
  uint64_t acquires_total = 0;            // FAQ 16-17: packets the data path reported
  uint64_t fallbacks_to_clear_total = 0;  // FAQ 16: peers that did not answer
};

// FAQ 16: traffic that flows in clear because the peer did not answer a negotiation.
struct ClearFallbackSnapshot {
  std::string rule;
  std::string peer;
  int64_t expire_in_seconds = 0;  // then the next packet negotiates again
};

}  // namespace ipsec::engine::ike
