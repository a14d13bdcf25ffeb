#include "bench/ike_lab.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "bench/bench_machine.h"

namespace ipsec::bench {

using testing::CharonOptions;
using testing::ChildConfig;
using testing::ConnectionConfig;
using testing::Lab;
using testing::SwanctlConfig;

// VmRSS of `pid` in KiB (0 if unreadable).
long RssKib(pid_t pid) {
  std::istringstream in(ReadText("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// utime + stime of `pid` (all threads) in seconds.
double CpuSeconds(pid_t pid) {
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string Comm(pid_t pid) {
  std::string c = ReadText("/proc/" + std::to_string(pid) + "/comm");
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

CharonOptions BenchCharonOptions(bool verbose) {
  CharonOptions o;
  if (verbose) {
    o.log_levels = {{"default", 1}, {"ike", 2}, {"chd", 2}, {"cfg", 2}, {"knl", 2}};
  } else {
    o.log_levels = {{"default", 0}, {"ike", 0}, {"cfg", 0}, {"knl", 0}, {"net", 0},
                    {"enc", 0},     {"chd", 0}, {"mgr", 0}, {"lib", 0}};
  }
  // Generous retransmits: under load an answer may take longer than a second.
  o.retransmit_timeout = 2.0;
  o.retransmit_base = 1.4;
  o.retransmit_tries = 3;
  o.ikesa_table_size = 16384;
  o.extra = {{"install_routes", "no"}, {"ikesa_table_segments", "16"}};
  return o;
}

namespace {

ConnectionConfig BenchConnection(bool initiator, const std::string& local,
                                 const std::string& remote) {
  ConnectionConfig c;
  c.name = "bench";
  c.local_addrs = {local};
  if (initiator) c.remote_addrs = {remote};
  c.proposals = "aes128gcm16-prfsha256-x25519";
  c.local = {"psk", local};
  c.remote = {"psk", remote};
  c.unique = "never";
  ChildConfig child;
  child.name = "net";
  child.local_ts = {std::string(initiator ? kInitiatorInner : kResponderInner) + "/32"};
  child.remote_ts = {std::string(initiator ? kResponderInner : kInitiatorInner) + "/32"};
  child.esp_proposals = "aes128gcm16";
  c.children = {child};
  return c;
}

}  // namespace

SwanctlConfig BenchSwanctl(bool initiator, const std::string& local, const std::string& remote) {
  SwanctlConfig config;
  config.connections = {BenchConnection(initiator, local, remote)};
  config.shared_keys = {{"bench", {local, remote}, kBenchPsk}};
  return config;
}

std::string BenchDaemonPolicy(const std::string& peer_address, bool initiator) {
  const std::string local = initiator ? kInitiatorInner : kResponderInner;
  const std::string remote = initiator ? kResponderInner : kInitiatorInner;
  return std::string(R"({"name": "bench",
  "key_exchange": {"proposals": [{"encryption": "aes128gcm16", "integrity": "none",
                                  "prf": "prfsha256", "dh_group": "curve25519"}]},
  "filter_lists": [{"name": "tun", "filters": [
    {"source": ")") +
         local + R"(", "destination": ")" + remote + R"(", "mirrored": true}]}],
  "filter_actions": [{"name": "secure", "type": "negotiate", "security_methods": [
    {"protocol": "esp", "esp_encryption": "aes128gcm16", "esp_integrity": "none"}]}],
  "rules": [{"name": "tun", "filter_list": "tun", "filter_action": "secure",
    "tunnel_endpoint": ")" +
         peer_address + R"(",
    "auth_methods": [{"type": "psk", "preshared_key": ")" +
         kBenchPsk + R"("}]}]
})";
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// The UDP receive-buffer drops counted in namespace `ns` (/proc/net/snmp Udp: RcvbufErrors).
long UdpRcvbufErrors(const Lab& lab, const std::string& ns) {
  auto r = lab.Exec(ns, {"cat", "/proc/net/snmp"});
  std::istringstream in(r.out);
  std::string header, values, line;
  while (std::getline(in, line)) {
    if (line.rfind("Udp:", 0) != 0) continue;
    if (header.empty()) {
      header = line;
    } else {
      values = line;
      break;
    }
  }
  std::istringstream h(header), v(values);
  std::string name, value;
  while (h >> name && v >> value) {
    if (name == "RcvbufErrors") return std::atol(value.c_str());
  }
  return -1;
}

bool AddInnerAddress(const Lab& lab, int pod, std::string* error) {
  // kernel-libipsec routes the tunnel via a local address inside the local traffic selector.
  auto r =
      lab.Exec(lab.pod(pod),
               {"ip", "addr", "add",
                std::string(pod == 0 ? kInitiatorInner : kResponderInner) + "/32", "dev", "lo"});
  if (r.exit_code != 0) *error = "inner address: " + r.err;
  return r.exit_code == 0;
}

}  // namespace ipsec::bench
