#include "tests/support/lab_faults.h"

#include <signal.h>

#include <cstdlib>
#include <thread>

namespace ipsec::testing {
namespace {

int64_t Field(const std::string& text, const std::string& name) {
  const size_t at = text.find(" " + name + "=");
  if (at == std::string::npos) return -1;
  return std::strtoll(text.c_str() + at + name.size() + 2, nullptr, 10);
}

}  // namespace

std::string NfqReorderBinary() { return IPSEC_NFQ_REORDER_BIN; }

std::string IkeMatch500(const char* direction) { return std::string("udp ") + direction + " 500"; }

std::string IkeMatch4500(const char* direction) {
  // @th,64,32: the 32 bits after the 8-octet UDP header.
  return std::string("udp ") + direction + " 4500 @th,64,32 0";
}

std::unique_ptr<PacketReorder> PacketReorder::Add(const std::string& netns,
                                                  const std::vector<std::string>& matches,
                                                  const Options& options, std::string* error) {
  std::unique_ptr<PacketReorder> r(new PacketReorder());
  r->netns_ = netns;
  const int queue =
      100 + static_cast<int>(std::strtoul(RandomSuffix(4).c_str(), nullptr, 36) % 60000);
  const std::string stats = r->dir_.path() + "/stats";
  r->helper_ = std::make_unique<BackgroundProcess>(
      std::vector<std::string>{
          "ip", "netns", "exec", netns, NfqReorderBinary(), "--queue", std::to_string(queue),
          "--stats", stats, "--hold-percent", std::to_string(options.hold_percent),
          "--min-delay-ms", std::to_string(options.min_delay_ms), "--max-delay-ms",
          std::to_string(options.max_delay_ms), "--seed", std::to_string(options.seed)},
      r->dir_.path() + "/helper.log");
  // The helper writes its stats file once the queue is bound.
  for (int i = 0; i < 100 && ReadFile(stats).rfind("ready", 0) != 0; ++i) {
    if (!r->helper_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (ReadFile(stats).rfind("ready", 0) != 0) {
    *error = "ipsec_nfq_reorder did not bind NFQUEUE " + std::to_string(queue) + " in " + netns +
             ": " + ReadFile(r->dir_.path() + "/helper.log");
    return nullptr;
  }
  // This kernel has no nftables `queue` expression (CONFIG_NFT_QUEUE), but has the xtables
  // NFQUEUE target, which iptables-nft reaches through nftables' compat layer.
  r->chain_ = "IPSL_REORDER_" + RandomSuffix(4);
  std::string script = "set -e\niptables-nft -N " + r->chain_ + "\n";
  for (const std::string& match : matches) {
    script += "iptables-nft -A " + r->chain_ + " " + match + " -j NFQUEUE --queue-num " +
              std::to_string(queue) + "\n";
  }
  script += "iptables-nft -A " + options.hook + " -j " + r->chain_ + "\n";
  CommandResult ipt = Run({"ip", "netns", "exec", netns, "sh", "-c", script});
  if (ipt.exit_code != 0) {
    *error = "NFQUEUE rules in " + netns +
             " failed (iptables-nft from Debian's iptables: run "
             "scripts/install-deps.sh): " +
             ipt.err + "\n" + script;
    r->Remove();
    return nullptr;
  }
  r->hooked_ = options.hook;
  return r;
}

void PacketReorder::Remove() {
  if (chain_.empty()) return;
  std::string script;
  if (!hooked_.empty()) script += "iptables-nft -D " + hooked_ + " -j " + chain_ + "\n";
  script += "iptables-nft -F " + chain_ + "\niptables-nft -X " + chain_ + "\n";
  Run({"ip", "netns", "exec", netns_, "sh", "-c", script});
  chain_.clear();
}

PacketReorder::~PacketReorder() {
  Remove();
  if (helper_) helper_->Stop(SIGTERM, std::chrono::seconds(5));
}

PacketReorder::Stats PacketReorder::Read() const {
  const std::string text = ReadFile(dir_.path() + "/stats");
  return {Field(text, "packets"), Field(text, "held"), Field(text, "overtaken")};
}

}  // namespace ipsec::testing
