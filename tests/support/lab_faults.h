#pragma once

// Faults on the wire for the namespace lab (lab.h), all real packets in the kernel: packet
// reordering through NFQUEUE (the xtables target via iptables-nft) and a helper process
// (ipsec_nfq_reorder: it holds some packets for a random time and lets later ones overtake them;
// this kernel has no netem and nftables cannot delay). Loss is PacketLoss (lab_nat.h: nftables
// numgen). Everything carries a random suffix and is removed on destruction, also when a test
// fails.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace ipsec::testing {

// The nftables match of IKE datagrams, without ESP in UDP: UDP 500, and UDP 4500 with the
// non-ESP marker (four zero octets, RFC 3948 §2.2). `direction` is "dport" or "sport".
std::string IkeMatch500(const char* direction = "dport");
std::string IkeMatch4500(const char* direction = "dport");

// Sends the IPv4 packets matching any of `matches` (iptables match arguments, e.g. "-p udp") at
// hook `hook` (FORWARD, INPUT or OUTPUT) of `netns` through a reordering helper: `hold_percent`
// % of them are held between `min_delay_ms` and `max_delay_ms`. The rules live in a chain of
// their own, removed on destruction.
class PacketReorder {
 public:
  struct Options {
    std::string hook = "FORWARD";
    int hold_percent = 20;
    int min_delay_ms = 5;
    int max_delay_ms = 150;
    uint64_t seed = 1;
  };
  struct Stats {
    int64_t packets = -1;    // queued so far (-1: unreadable)
    int64_t held = -1;       // of which held back
    int64_t overtaken = -1;  // held ones that left after a later packet: real reorders
  };
  static std::unique_ptr<PacketReorder> Add(const std::string& netns,
                                            const std::vector<std::string>& matches,
                                            const Options& options, std::string* error);
  ~PacketReorder();  // the rules first, then the helper (it lets the held packets go)
  PacketReorder(const PacketReorder&) = delete;
  PacketReorder& operator=(const PacketReorder&) = delete;

  Stats Read() const;

 private:
  PacketReorder() = default;
  void Remove();
  std::string netns_, chain_, hooked_;
  TempDir dir_;
  std::unique_ptr<BackgroundProcess> helper_;
};

// Path of the built helper (set by CMake).
std::string NfqReorderBinary();

}  // namespace ipsec::testing
