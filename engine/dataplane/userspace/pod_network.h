#pragma once

// PodNetwork: the pod namespace's plumbing that makes the filter table true for the traffic the
// TUN device does not see, and steers to the TUN what it must see. Set up at start, re-applied
// whenever the policy changes, removed at stop. A killed daemon's nftables table outlives it
// (the TUN and its routes do not) and is replaced only by the next start's first Apply.
//
// Routing (policy routing, so the pod's own routes stay untouched):
//   pref kRulePref     fwmark kBypassMark    lookup main   our ESP/raw sockets (SO_MARK)
//   pref kRulePref     ipproto udp [s|d]port 500/4500  lookup main   IKE and ESP-in-UDP
//   pref kRulePref     ipproto esp|ah      lookup main
//   pref kRulePref + 1                     lookup <table>   one route per prefix of every
//                                                           outbound "negotiate" destination
//                                                           range, dev <tun>
// A destination with no route in <table> falls through to main (permitted or blocked traffic).
//
// Enforcement: an nftables table `inet ipsec_<tun>` with an input and an output chain. The TUN,
// the bypass mark and the data path's own packets are accepted first; then every filter table
// entry of that direction, in table order (highest weight first, so nftables' first match is
// the classifier's decision): permit -> accept, block -> counter drop, negotiate -> counter
// drop (plaintext where IPsec is required; "accept unsecured" actions, FAQ 17, accept inbound
// plaintext). Unmatched traffic is accepted (FAQ 6). TCP MSS is clamped to the route MTU
// (`tcp option maxseg size set rt mtu`) for packets leaving through the TUN.
//
// Commands (`ip`, `nft -f -`) rather than netlink: they run at set-up and policy changes only,
// never per packet, and an nft script replaces the whole table atomically.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/dataplane/backend.h"
#include "engine/dataplane/userspace/command_runner.h"
#include "engine/policy/filter_table.h"
#include "engine/policy/model.h"

namespace ipsec::engine::dataplane::userspace {

inline constexpr uint32_t kBypassMark = 0x1e5ec;  // our own sockets' SO_MARK
inline constexpr int kRulePref = 9700;

struct PodNetworkConfig {
  std::string tun_name = "ipsec0";
  uint32_t route_table = 9700;
};

// What the filter table turns into (pure: unit-tested).
struct PodNetworkPlan {
  std::vector<std::string> routes_v4;  // prefixes routed into the TUN
  std::vector<std::string> routes_v6;
  std::string nft_script;       // replaces the table atomically
  std::vector<IpRange> routed;  // the destination ranges those routes cover
};

// `policy` may be null (no policy in force: nothing routed, nothing enforced).
PodNetworkPlan BuildPodNetworkPlan(const PodNetworkConfig& config, const policy::FilterTable& table,
                                   const policy::Policy* policy);

class PodNetwork {
 public:
  // Not owned: `runner` outlives this object.
  PodNetwork(PodNetworkConfig config, CommandRunner& runner);
  // Removes the rules and routes, not the nft table: a daemon that stops (SIGTERM: a container
  // restart, a liveness failure) leaves it dropping the plaintext the policy forbids, as a killed
  // one does, until the next start applies the policy again. The pod's end takes the table with
  // its network namespace; Teardown() removes it explicitly.
  ~PodNetwork();

  // The ip rules (IPv4 and IPv6) and an empty nft table. An nft table left by a previous run
  // that was killed stays in force (fail closed) until the first Apply replaces it.
  Status Setup();
  // Replaces the routes of the table and the nft table.
  Status Apply(const PodNetworkPlan& plan);
  // Removes rules, routes and the nft table; idempotent, best effort.
  void Teardown();

  // FAQ 19: the default response rule's child SAs have "dynamic" filters: the outbound
  // traffic of the policy with `reqid` is routed into the TUN while the policy exists, unless
  // the plan routes it anyway (the usual case: then nothing is run or kept). Kept across Apply.
  Status AddDynamicRoutes(uint32_t reqid, const std::vector<IpRange>& destinations);
  Status RemoveDynamicRoutes(uint32_t reqid);
  // FAQ 16: plaintext from the fallbacks' destinations is accepted (nftables set elements with
  // a timeout: they go by themselves) while each fallback to clear lasts. Replaces the previous
  // set; kept across Apply.
  Status SetClearSources(std::vector<ClearFallback> fallbacks);

 private:
  Status RunChecked(const std::vector<std::string>& argv, const std::string& stdin_text = "");
  void TeardownRouting();  // rules and routes, not the nft table
  bool Routed(const IpRange& destinations) const;
  Status RouteDynamic(const IpRange& destinations, bool add);
  Status LoadClearSources();
  PodNetworkConfig config_;
  CommandRunner& runner_;
  bool set_up_ = false;
  bool have_v6_ = true;
  std::vector<IpRange> routed_;                       // the plan's, since the last Apply
  std::map<uint32_t, std::vector<IpRange>> dynamic_;  // reqid -> ranges the plan does not route
  std::vector<ClearFallback> clear_;
};

}  // namespace ipsec::engine::dataplane::userspace
