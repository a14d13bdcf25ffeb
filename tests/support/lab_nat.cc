#include "tests/support/lab_nat.h"

#include <cstdlib>

namespace ipsec::testing {

CommandResult NftInNamespace(const std::string& netns, const std::string& script) {
  return Run({"ip", "netns", "exec", netns, "nft", "-f", "-"}, script);
}

bool AddAddress(const std::string& netns, const std::string& cidr, std::string* error,
                const std::string& dev) {
  CommandResult r = Run({"ip", "-n", netns, "addr", "add", cidr, "dev", dev});
  if (r.exit_code != 0) {
    *error = "ip -n " + netns + " addr add " + cidr + " dev " + dev + ": " + r.err;
    return false;
  }
  return true;
}

std::unique_ptr<NatPod> NatPod::Create(const Lab& lab, int router_pod, std::string* error) {
  if (Shell("command -v nft >/dev/null").exit_code != 0) {
    *error = "nft (Debian package nftables) is missing: run scripts/install-deps.sh";
    return nullptr;
  }
  std::unique_ptr<NatPod> nat(new NatPod());
  std::string suffix = RandomSuffix();
  std::string n = std::to_string(router_pod + 1);
  nat->router_ = lab.pod(router_pod);
  nat->netns_ = "ipsl-natpod" + std::to_string(router_pod) + "-" + suffix;
  nat->address_ = "10.98." + n + ".2";
  nat->router_inside_ = "10.98." + n + ".1";
  nat->public_address_ = lab.PodV4(router_pod);
  nat->router_interface_ = "ni" + n + suffix;  // <= 15 characters
  const std::string& r = nat->router_;
  const std::string& p = nat->netns_;
  std::string script =
      "set -e\nip netns add " + p + "\nip -n " + p + " link set lo up\n" + "ip link add " +
      nat->router_interface_ + " netns " + r + " type veth peer name eth0 netns " + p + "\n" +
      "ip -n " + r + " addr add " + nat->router_inside_ + "/24 dev " + nat->router_interface_ +
      "\nip -n " + r + " link set " + nat->router_interface_ + " up\n" + "ip -n " + p +
      " addr add " + nat->address_ + "/24 dev eth0\nip -n " + p + " link set eth0 up\n" + "ip -n " +
      p + " route add default via " + nat->router_inside_ + "\n" + "ip netns exec " + r +
      " sysctl -qw net.ipv4.ip_forward=1\n";
  CommandResult created = Shell(script);
  if (created.exit_code != 0) {
    *error = "creating the NAT pod failed: " + created.err;
    return nullptr;  // the destructor removes the namespace
  }
  CommandResult nft = NftInNamespace(r,
                                     "table ip ipsl_nat {\n"
                                     "  chain postrouting {\n"
                                     "    type nat hook postrouting priority srcnat; "
                                     "policy accept;\n"
                                     "    oifname \"eth0\" masquerade\n"
                                     "  }\n"
                                     "}\n");
  if (nft.exit_code != 0) {
    *error = "nftables masquerade in " + r + " failed: " + nft.err;
    return nullptr;
  }
  return nat;
}

NatPod::~NatPod() {
  if (!router_.empty()) {
    Run({"ip", "netns", "exec", router_, "nft", "delete", "table", "ip", "ipsl_nat"});
  }
  if (!netns_.empty()) Shell("ip netns del " + netns_ + " 2>/dev/null");
}

std::string NatPod::NatTable() const {
  return Shell("ip netns exec " + router_ +
               " sh -c 'conntrack -L 2>/dev/null || cat /proc/net/nf_conntrack 2>/dev/null'")
      .out;
}

std::unique_ptr<PacketLoss> PacketLoss::Add(const std::string& netns, int percent,
                                            std::string* error, const std::string& hook,
                                            const std::string& match) {
  if (percent < 0 || percent > 100) {
    *error = "PacketLoss: percent must be 0..100";
    return nullptr;
  }
  std::unique_ptr<PacketLoss> loss(new PacketLoss());
  loss->netns_ = netns;
  loss->table_ = "ipsl_loss_" + RandomSuffix();
  loss->match_ = match;
  std::string script = "table inet " + loss->table_ + " {\n  chain c {\n    type filter hook " +
                       hook + " priority -10; policy accept;\n    " + Rule(match, percent) +
                       "\n  }\n}\n";
  CommandResult r = NftInNamespace(netns, script);
  if (r.exit_code != 0) {
    *error = "nftables loss rule in " + netns + " failed: " + r.err + "\n" + script;
    loss->table_.clear();
    return nullptr;
  }
  return loss;
}

std::string PacketLoss::Rule(const std::string& match, int percent) {
  // numgen random mod 100 is uniform over 0..99: "< percent" drops percent out of 100.
  std::string random =
      percent >= 100 ? "" : "numgen random mod 100 < " + std::to_string(percent) + " ";
  return match + (match.empty() ? "" : " ") + random + "counter drop";
}

bool PacketLoss::SetPercent(int percent, std::string* error) {
  if (percent < 0 || percent > 100) {
    *error = "PacketLoss: percent must be 0..100";
    return false;
  }
  // One transaction: the chain is never without its rule, and stays registered.
  const std::string script = "flush chain inet " + table_ + " c\nadd rule inet " + table_ +
                             " c " + Rule(match_, percent) + "\n";
  CommandResult r = NftInNamespace(netns_, script);
  if (r.exit_code != 0) {
    *error = "nftables loss rule in " + netns_ + " not changed: " + r.err + "\n" + script;
    return false;
  }
  return true;
}

PacketLoss::~PacketLoss() {
  if (!table_.empty())
    Run({"ip", "netns", "exec", netns_, "nft", "delete", "table", "inet", table_});
}

int64_t PacketLoss::Dropped() const {
  CommandResult r = Run({"ip", "netns", "exec", netns_, "nft", "list", "table", "inet", table_});
  size_t pos = r.out.find("counter packets ");
  if (r.exit_code != 0 || pos == std::string::npos) return -1;
  return std::strtoll(r.out.c_str() + pos + 16, nullptr, 10);
}

}  // namespace ipsec::testing
