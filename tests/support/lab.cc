#include "tests/support/lab.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace ipsec::testing {

std::string SidecarBinary() { return IPSEC_SIDECAR_BIN; }
std::string IpsecctlBinary() { return IPSECCTL_BIN; }

std::unique_ptr<Lab> Lab::Create(int pods, std::string* error) {
  if (geteuid() != 0) {
    *error = "the namespace lab needs root (ip netns); run the integration tests as root";
    return nullptr;
  }
  if (Shell("command -v ip >/dev/null").exit_code != 0) {
    *error = "the namespace lab needs iproute2's `ip`: run scripts/install-deps.sh";
    return nullptr;
  }
  std::unique_ptr<Lab> lab(new Lab());
  lab->suffix_ = RandomSuffix();
  lab->node_ = "ipsl-node-" + lab->suffix_;
  std::string script = "set -e\nip netns add " + lab->node_ + "\n" + "ip -n " + lab->node_ +
                       " link set lo up\n" + "ip netns exec " + lab->node_ +
                       " sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1\n";
  for (int i = 0; i < pods; ++i) {
    std::string ns = "ipsl-pod" + std::to_string(i) + "-" + lab->suffix_;
    lab->pods_.push_back(ns);
    std::string n = std::to_string(i + 1);
    std::string host_if = "vn" + n + lab->suffix_;  // <= 15 chars
    script += "ip netns add " + ns + "\n" + "ip -n " + ns + " link set lo up\n" +
              "ip link add " + host_if + " netns " + lab->node_ + " type veth peer name eth0 netns " +
              ns + "\n" + "ip -n " + lab->node_ + " addr add 10.99." + n + ".1/24 dev " + host_if +
              "\n" + "ip -n " + lab->node_ + " addr add fd99:" + n + "::1/64 dev " + host_if +
              " nodad\n" + "ip -n " + lab->node_ + " link set " + host_if + " up\n" + "ip -n " +
              ns + " addr add 10.99." + n + ".2/24 dev eth0\n" + "ip -n " + ns +
              " addr add fd99:" + n + "::2/64 dev eth0 nodad\n" + "ip -n " + ns +
              " link set eth0 up\n" + "ip -n " + ns + " route add default via 10.99." + n +
              ".1\n" + "ip -n " + ns + " -6 route add default via fd99:" + n + "::1\n";
  }
  CommandResult r = Shell(script);
  if (r.exit_code != 0) {
    *error = "creating the lab failed: " + r.err;
    return nullptr;  // the destructor removes what was created
  }
  return lab;
}

Lab::~Lab() {
  for (const auto& ns : pods_) Shell("ip netns del " + ns + " 2>/dev/null");
  if (!node_.empty()) Shell("ip netns del " + node_ + " 2>/dev/null");
}

CommandResult Lab::Exec(const std::string& ns, const std::vector<std::string>& argv,
                        const std::string& stdin_text, std::chrono::seconds timeout) const {
  std::vector<std::string> full = {"ip", "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  return Run(full, stdin_text, timeout);
}

Daemon::Daemon(const Lab& lab, int pod, Options options)
    : lab_(lab), pod_(pod), options_(std::move(options)) {
  token_ = "test-token-" + RandomSuffix(24);
  mkdir(cluster_dir().c_str(), 0755);
  mkdir(namespace_dir().c_str(), 0755);
  if (options_.write_token) {
    WriteFile(token_file(), token_ + "\n");
    chmod(token_file().c_str(), 0600);
  }
}

Daemon::~Daemon() {
  if (process_) process_->Stop(SIGTERM, std::chrono::seconds(10));
}

std::vector<std::string> Daemon::Argv() const {
  std::vector<std::string> argv = {"ip",
                                   "netns",
                                   "exec",
                                   Namespace(),
                                   options_.binary.empty() ? SidecarBinary() : options_.binary,
                                   "--api-listen=127.0.0.1:9443",
                                   "--metrics-listen=0.0.0.0:9090",
                                   "--token-file=" + token_file(),
                                   "--state-dir=" + state_dir(),
                                   "--cluster-policy-dir=" + cluster_dir(),
                                   "--namespace-policy-dir=" + namespace_dir(),
                                   "--log-dir=" + dir_.path() + "/log",
                                   "--default-poll-seconds=1"};
  if (!options_.node_address.empty()) argv.push_back("--node-address=" + options_.node_address);
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return argv;
}

bool Daemon::Start(std::chrono::seconds timeout) {
  process_ = std::make_unique<BackgroundProcess>(Argv(), log_path());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->Running()) return false;
    CommandResult r = Http("GET", "/readyz", "", false);
    if (r.exit_code == 0 && r.out.rfind("200\n", 0) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int Daemon::StartExpectingExit(std::chrono::seconds timeout) {
  process_ = std::make_unique<BackgroundProcess>(Argv(), log_path());
  return process_->WaitExit(timeout);
}

void Daemon::Kill() {
  if (process_) process_->Kill();
}

int Daemon::Terminate() {
  return process_ ? process_->Stop(SIGTERM, std::chrono::seconds(15)) : -1;
}

bool Daemon::Running() { return process_ && process_->Running(); }

CommandResult Daemon::Ctl(const std::vector<std::string>& args,
                          const std::string& stdin_text) const {
  std::vector<std::string> argv = {IpsecctlBinary(), "--api=127.0.0.1:9443",
                                   "--token-file=" + token_file()};
  argv.insert(argv.end(), args.begin(), args.end());
  return lab_.Exec(Namespace(), argv, stdin_text);
}

CommandResult Daemon::Http(const std::string& method, const std::string& path,
                           const std::string& body, bool with_token,
                           const std::vector<std::string>& headers) const {
  std::vector<std::string> argv = {"curl", "-sS", "-X", method, "-o", "/dev/stdout", "-w",
                                   "\n%{http_code}", "--max-time", "10"};
  if (with_token) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token_});
  for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
  if (!body.empty()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", "@-"});
  }
  argv.push_back("http://127.0.0.1:9443" + path);
  CommandResult r = lab_.Exec(Namespace(), argv, body, std::chrono::seconds(15));
  // Reorder to "<status>\n<body>" so callers can check the status first.
  auto nl = r.out.rfind('\n');
  if (nl != std::string::npos) r.out = r.out.substr(nl + 1) + "\n" + r.out.substr(0, nl);
  return r;
}

}  // namespace ipsec::testing
