#pragma once

// Network helpers on top of the namespace lab (lab.h) for interop tests: a pod behind a NAT
// router (NAT-T, RFC 3948), random packet loss (nftables numgen: this kernel has no netem),
// and extra addresses. Everything carries a random suffix and is removed on destruction.
//
//   pod behind NAT -- NAT router (lab pod r, nftables masquerade) -- node -- other lab pods
//   10.98.<r+1>.2      10.98.<r+1>.1 | 10.99.<r+1>.2                  10.99.<i+1>.2

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/lab.h"

namespace ipsec::testing {

// Runs `nft -f -` with `script` inside `netns`.
CommandResult NftInNamespace(const std::string& netns, const std::string& script);

// Adds `cidr` (e.g. "10.199.1.1/32") to `dev` in `netns`. kernel-libipsec cannot tunnel
// traffic to the peer's own IKE address (its route would capture the IKE packets), so lab
// tunnels run between such extra "inner" addresses.
bool AddAddress(const std::string& netns, const std::string& cidr, std::string* error,
                const std::string& dev = "lo");

// A new namespace behind lab pod `router_pod`, which becomes its NAT router: forwarding on,
// and nftables masquerade of everything leaving the router's eth0 toward the node. Peers on
// the node side see the router's address (lab.PodV4(router_pod)) and a translated port.
class NatPod {
 public:
  static std::unique_ptr<NatPod> Create(const Lab& lab, int router_pod, std::string* error);
  ~NatPod();
  NatPod(const NatPod&) = delete;
  NatPod& operator=(const NatPod&) = delete;

  const std::string& netns() const { return netns_; }                  // the pod behind the NAT
  const std::string& router() const { return router_; }                // the NAT router (a lab pod)
  const std::string& address() const { return address_; }              // 10.98.<r+1>.2
  const std::string& router_inside() const { return router_inside_; }  // 10.98.<r+1>.1
  const std::string& public_address() const { return public_address_; }      // 10.99.<r+1>.2
  const std::string& router_interface() const { return router_interface_; }  // inside veth

  // The router's NAT connection tracking table (conntrack -L or /proc), for messages.
  std::string NatTable() const;

 private:
  NatPod() = default;
  std::string netns_, router_, address_, router_inside_, public_address_, router_interface_;
};

// Drops about `percent` % of the packets at nftables hook `hook` (input, output or forward)
// in `netns` that match `match` (an nft expression such as "udp dport 4500"; empty: all).
class PacketLoss {
 public:
  static std::unique_ptr<PacketLoss> Add(const std::string& netns, int percent, std::string* error,
                                         const std::string& hook = "forward",
                                         const std::string& match = "");
  ~PacketLoss();
  PacketLoss(const PacketLoss&) = delete;
  PacketLoss& operator=(const PacketLoss&) = delete;

  // Packets dropped so far (the rule's counter); -1 if it cannot be read.
  int64_t Dropped() const;
  // Drops `percent` % from now on (0: none), and restarts the counter. It replaces the rule in
  // place: adding or deleting a table with a base chain re-registers the hook, and the kernel
  // then drops every packet an NFQUEUE program holds at that hook (PacketReorder's).
  bool SetPercent(int percent, std::string* error);

 private:
  PacketLoss() = default;
  static std::string Rule(const std::string& match, int percent);
  std::string netns_, table_, match_;
};

}  // namespace ipsec::testing
