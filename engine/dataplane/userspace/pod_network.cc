#include "engine/dataplane/userspace/pod_network.h"

#include <algorithm>
#include <set>

#include "engine/policy/prefix_cover.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

using policy::Action;
using policy::Direction;
using policy::TableEntry;

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", v);
  return buf;
}

std::string PrefixText(IpFamily family, const policy::Prefix& p) {
  return IpAddress(family, p.value).ToString() + "/" + std::to_string(p.len);
}

bool IsFull(const IpRange& r) { return r == IpRange::Full(r.family()); }

std::string Ports(const char* which, const policy::PortRange& r) {
  if (r.first == r.last) return std::string(" th ") + which + " " + std::to_string(r.first);
  return std::string(" th ") + which + " " + std::to_string(r.first) + "-" + std::to_string(r.last);
}

// One nftables rule matching what policy::Matches matches for `e` (classifier.cc).
std::string NftMatch(const TableEntry& e) {
  const bool v4 = e.source.family() == IpFamily::kV4;
  const char* ip = v4 ? "ip" : "ip6";
  std::string m = std::string("meta nfproto ") + (v4 ? "ipv4" : "ipv6");
  if (!e.interfaces.empty()) {
    m += std::string(" ") + (e.direction == Direction::kInbound ? "iifname" : "oifname") + " {";
    for (size_t i = 0; i < e.interfaces.size(); ++i) {
      m += (i ? ", \"" : " \"") + e.interfaces[i] + "\"";
    }
    m += " }";
  }
  if (!IsFull(e.source)) m += std::string(" ") + ip + " saddr " + e.source.ToString();
  if (!IsFull(e.destination)) m += std::string(" ") + ip + " daddr " + e.destination.ToString();
  const bool ports = !e.source_ports.IsAny() || !e.destination_ports.IsAny();
  if (e.protocol) {
    m += " meta l4proto " + std::to_string(*e.protocol);
  } else if (ports) {
    // Only protocols with ports can match a port range (the classifier sees port 0 otherwise).
    m += " meta l4proto { 6, 17, 132, 33 }";
  }
  if (!e.source_ports.IsAny()) m += Ports("sport", e.source_ports);
  if (!e.destination_ports.IsAny()) m += Ports("dport", e.destination_ports);
  return m;
}

}  // namespace

PodNetworkPlan BuildPodNetworkPlan(const PodNetworkConfig& config, const policy::FilterTable& table,
                                   const policy::Policy* policy) {
  PodNetworkPlan plan;
  std::set<std::string> accept_unsecured;
  if (policy != nullptr) {
    for (const auto& fa : policy->filter_actions) {
      if (fa.accept_unsecured) accept_unsecured.insert(fa.name);
    }
  }
  std::set<std::pair<int, std::string>> seen;
  std::string in_rules, out_rules;
  for (const TableEntry& e : (policy != nullptr ? table.entries : std::vector<TableEntry>{})) {
    const bool inbound = e.direction == Direction::kInbound;
    if (!inbound && e.action == Action::kNegotiate) {
      // The packets to secure go to the TUN; the data path classifies them again.
      plan.routed.push_back(e.destination);
      const int bits = FamilyBits(e.destination.family());
      for (const auto& p :
           policy::PrefixCover(e.destination.first.value(), e.destination.last.value(), bits)) {
        std::string text = PrefixText(e.destination.family(), p);
        if (!seen.insert({bits, text}).second) continue;
        (bits == 32 ? plan.routes_v4 : plan.routes_v6).push_back(text);
      }
    }
    std::string verdict;
    switch (e.action) {
      case Action::kPermit:
        verdict = "accept";
        break;
      case Action::kBlock:
        verdict = "counter drop comment \"block entry " + std::to_string(e.id) + "\"";
        break;
      case Action::kNegotiate:
        verdict = inbound && accept_unsecured.count(e.filter_action)
                      ? "accept"
                      : "counter drop comment \"plaintext entry " + std::to_string(e.id) + "\"";
        break;
    }
    (inbound ? in_rules : out_rules) += "    " + NftMatch(e) + " " + verdict + "\n";
  }
  const std::string tun = "\"" + config.tun_name + "\"";
  const std::string name = "ipsec_" + config.tun_name;
  std::string s;
  s += "table inet " + name + " {}\n";
  s += "delete table inet " + name + "\n";
  s += "table inet " + name + " {\n";
  // FAQ 16: peers in a fallback to clear (PodNetwork::SetClearSources fills these).
  s += "  set clear4 {\n    type ipv4_addr; flags interval, timeout;\n  }\n";
  s += "  set clear6 {\n    type ipv6_addr; flags interval, timeout;\n  }\n";
  s += "  chain input {\n    type filter hook input priority 0; policy accept;\n";
  s += "    iifname " + tun + " accept\n";
  s += "    meta mark " + Hex(kBypassMark) + " accept\n";
  s += "    iifname \"lo\" accept\n";
  // IPv6 reassembles after this hook (IPv4 before it): a fragment other than the first carries
  // no ports and would meet the plaintext drop, so an outer ESP (or ESP-in-UDP) packet
  // fragmented on the way (RFC 4301 §7) never arrived. Accepting only those is safe: the first
  // fragment, with the upper-layer header, still meets every rule, and without it nothing is
  // reassembled (overlapping fragments are dropped, RFC 5722).
  s += "    frag frag-off != 0 accept\n";
  s += "    ip saddr @clear4 accept\n";
  s += "    ip6 saddr @clear6 accept\n";
  s += in_rules;
  s += "  }\n";
  s += "  chain output {\n    type filter hook output priority 0; policy accept;\n";
  // RFC 879 / FAQ: TCP must not send segments the ESP overhead would push over the path MTU.
  s += "    oifname " + tun + " tcp flags syn tcp option maxseg size set rt mtu\n";
  s += "    oifname " + tun + " accept\n";
  s += "    meta mark " + Hex(kBypassMark) + " accept\n";
  s += "    oifname \"lo\" accept\n";
  s += out_rules;
  s += "  }\n";
  s += "}\n";
  plan.nft_script = s;
  return plan;
}

PodNetwork::PodNetwork(PodNetworkConfig config, CommandRunner& runner)
    : config_(std::move(config)), runner_(runner) {}

PodNetwork::~PodNetwork() { TeardownRouting(); }

Status PodNetwork::RunChecked(const std::vector<std::string>& argv, const std::string& stdin_text) {
  CommandOutcome o = runner_.Run(argv, stdin_text);
  if (o.exit_code == 0) return Status::Ok();
  return MakeError(ErrorCode::kUnavailable, Describe(argv, o));
}

Status PodNetwork::Setup() {
  // A previous run's leftovers (a crash) would duplicate the rules. Its nftables table stays:
  // it keeps dropping the plaintext the policy forbids until the first Apply replaces it.
  TeardownRouting();
  const std::string pref = std::to_string(kRulePref);
  const std::string table = std::to_string(config_.route_table);
  std::vector<std::vector<std::string>> bypass = {{"fwmark", Hex(kBypassMark)},
                                                  {"ipproto", "udp", "dport", "500"},
                                                  {"ipproto", "udp", "sport", "500"},
                                                  {"ipproto", "udp", "dport", "4500"},
                                                  {"ipproto", "udp", "sport", "4500"},
                                                  {"ipproto", "50"},
                                                  {"ipproto", "51"}};
  for (const char* family : {"-4", "-6"}) {
    for (const auto& match : bypass) {
      std::vector<std::string> argv = {"ip", family, "rule", "add", "pref", pref};
      argv.insert(argv.end(), match.begin(), match.end());
      argv.insert(argv.end(), {"lookup", "main"});
      Status s = RunChecked(argv);
      if (!s.ok() && std::string(family) == "-6") {
        have_v6_ = false;  // no IPv6 in this namespace: IPv4 only
        break;
      }
      if (!s.ok()) return s;
    }
    if (std::string(family) == "-6" && !have_v6_) break;
    if (Status s = RunChecked(
            {"ip", family, "rule", "add", "pref", std::to_string(kRulePref + 1), "lookup", table});
        !s.ok()) {
      return s;
    }
  }
  set_up_ = true;
  const std::string name = "ipsec_" + config_.tun_name;
  if (runner_.Run({"nft", "list", "table", "inet", name}).exit_code == 0) {
    // Killed (SIGKILL, OOM) with a policy in force: until that policy is applied again, the
    // pod's traffic it secured finds no route into the TUN and would leave in clear; the old
    // table's drops stop it (RFC 4301 §4.4.1: the policy is enforced, never bypassed).
    return Status::Ok();
  }
  return Apply(BuildPodNetworkPlan(config_, policy::FilterTable{}, nullptr));
}

Status PodNetwork::Apply(const PodNetworkPlan& plan) {
  const std::string table = std::to_string(config_.route_table);
  for (const char* family : {"-4", "-6"}) {
    if (std::string(family) == "-6" && !have_v6_) continue;
    runner_.Run({"ip", family, "route", "flush", "table", table});
    for (const auto& prefix : std::string(family) == "-4" ? plan.routes_v4 : plan.routes_v6) {
      if (Status s = RunChecked(
              {"ip", family, "route", "replace", prefix, "dev", config_.tun_name, "table", table});
          !s.ok()) {
        return s;
      }
    }
  }
  routed_ = plan.routed;
  std::vector<IpRange> again;  // each range once, though several policies may use it
  for (const auto& [reqid, ranges] : dynamic_) {
    for (const IpRange& r : ranges) {
      if (std::find(again.begin(), again.end(), r) == again.end()) again.push_back(r);
    }
  }
  for (const IpRange& r : again) {
    if (Status s = RouteDynamic(r, true); !s.ok()) return s;
  }
  if (Status s = RunChecked({"nft", "-f", "-"}, plan.nft_script); !s.ok()) return s;
  return clear_.empty() ? Status::Ok() : LoadClearSources();  // the new table's sets are empty
}

bool PodNetwork::Routed(const IpRange& destinations) const {
  for (const IpRange& r : routed_) {
    if (destinations.ContainedIn(r)) return true;
  }
  return false;
}

Status PodNetwork::RouteDynamic(const IpRange& destinations, bool add) {
  if (Routed(destinations)) return Status::Ok();
  const int bits = FamilyBits(destinations.family());
  if (bits == 128 && !have_v6_) return Status::Ok();
  const char* family = bits == 32 ? "-4" : "-6";
  for (const auto& p :
       policy::PrefixCover(destinations.first.value(), destinations.last.value(), bits)) {
    std::vector<std::string> argv = {"ip",
                                     family,
                                     "route",
                                     add ? "replace" : "del",
                                     PrefixText(destinations.family(), p),
                                     "dev",
                                     config_.tun_name,
                                     "table",
                                     std::to_string(config_.route_table)};
    if (Status s = RunChecked(argv); !s.ok() && add) return s;
  }
  return Status::Ok();
}

Status PodNetwork::AddDynamicRoutes(uint32_t reqid, const std::vector<IpRange>& destinations) {
  for (const IpRange& d : destinations) {
    if (Routed(d)) continue;
    auto& mine = dynamic_[reqid];
    if (std::find(mine.begin(), mine.end(), d) != mine.end()) continue;
    mine.push_back(d);
    if (!set_up_) continue;
    if (Status s = RouteDynamic(d, true); !s.ok()) return s;
  }
  return Status::Ok();
}

Status PodNetwork::RemoveDynamicRoutes(uint32_t reqid) {
  auto it = dynamic_.find(reqid);
  if (it == dynamic_.end()) return Status::Ok();
  const std::vector<IpRange> ranges = std::move(it->second);
  dynamic_.erase(it);
  for (const IpRange& d : ranges) {
    bool used = false;  // another policy's route to the same range stays
    for (const auto& [other, theirs] : dynamic_) {
      used |= std::find(theirs.begin(), theirs.end(), d) != theirs.end();
    }
    if (!used && set_up_) (void)RouteDynamic(d, false);
  }
  return Status::Ok();
}

Status PodNetwork::SetClearSources(std::vector<ClearFallback> fallbacks) {
  clear_ = std::move(fallbacks);
  return set_up_ ? LoadClearSources() : Status::Ok();
}

Status PodNetwork::LoadClearSources() {
  const std::string table = "inet ipsec_" + config_.tun_name;
  std::string script = "flush set " + table + " clear4\nflush set " + table + " clear6\n";
  const auto now = std::chrono::steady_clock::now();
  for (const ClearFallback& f : clear_) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(f.until - now).count();
    if (ms <= 0) continue;
    for (const IpRange& r : f.destinations) {
      if (r.family() == IpFamily::kV6 && !have_v6_) continue;
      script += "add element " + table + (r.family() == IpFamily::kV4 ? " clear4" : " clear6") +
                " { " + r.ToString() + " timeout " + std::to_string(ms) + "ms }\n";
    }
  }
  return RunChecked({"nft", "-f", "-"}, script);
}

void PodNetwork::Teardown() {
  TeardownRouting();
  runner_.Run({"nft", "delete", "table", "inet", "ipsec_" + config_.tun_name});
}

void PodNetwork::TeardownRouting() {
  const std::string pref = std::to_string(kRulePref);
  for (const char* family : {"-4", "-6"}) {
    for (const std::string& p : {pref, std::to_string(kRulePref + 1)}) {
      // `ip rule del pref N` removes one rule at a time.
      for (int i = 0; i < 16; ++i) {
        if (runner_.Run({"ip", family, "rule", "del", "pref", p}).exit_code != 0) break;
      }
    }
    runner_.Run({"ip", family, "route", "flush", "table", std::to_string(config_.route_table)});
  }
  set_up_ = false;
}

}  // namespace ipsec::engine::dataplane::userspace
