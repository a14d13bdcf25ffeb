#pragma once

// The namespace lab (../shared/DESIGN.md "Real parts"): a "pod" is a network namespace, a
// "node" is a namespace with a veth pair to each pod and forwarding between them. Names carry a
// random suffix so runs never collide; everything is removed on destruction, also when a test
// fails. Addresses exist only inside the lab: pod i is 10.99.<i+1>.2/24 and fd99:<i+1>::2/64,
// the node side 10.99.<i+1>.1 and fd99:<i+1>::1.

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace ipsec::testing {

class Lab {
 public:
  // Creates the node and `pods` pods. On failure returns nullptr and sets `error` (for instance
  // "not root": integration tests then fail with that message, they never skip).
  static std::unique_ptr<Lab> Create(int pods, std::string* error);
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  const std::string& node() const { return node_; }
  const std::string& pod(int i) const { return pods_.at(i); }
  int pod_count() const { return static_cast<int>(pods_.size()); }
  std::string PodV4(int i) const { return "10.99." + std::to_string(i + 1) + ".2"; }
  std::string PodV6(int i) const { return "fd99:" + std::to_string(i + 1) + "::2"; }
  std::string NodeV4(int i) const { return "10.99." + std::to_string(i + 1) + ".1"; }

  // Runs argv inside namespace `ns`.
  CommandResult Exec(const std::string& ns, const std::vector<std::string>& argv,
                     const std::string& stdin_text = "",
                     std::chrono::seconds timeout = std::chrono::seconds(60)) const;

 private:
  Lab() = default;
  std::string suffix_;
  std::string node_;
  std::vector<std::string> pods_;
};

// The daemon running in a pod of a lab, with its own state, token and policy directories.
class Daemon {
 public:
  struct Options {
    std::vector<std::string> extra_args;
    std::string node_address;  // --node-address
    bool write_token = true;
    // Runs in this namespace instead of the lab pod's (e.g. a NatPod's, behind a NAT).
    std::string netns;
    // Another build of the daemon (e.g. a benchmark's baseline); empty: SidecarBinary().
    std::string binary;
  };
  Daemon(const Lab& lab, int pod, Options options);
  ~Daemon();

  // (Re)starts the daemon; returns false if it does not turn ready within `timeout`.
  bool Start(std::chrono::seconds timeout = std::chrono::seconds(20));
  // Starts and waits for the process to exit by itself (a refused start-up); its exit code.
  int StartExpectingExit(std::chrono::seconds timeout = std::chrono::seconds(20));
  void Kill();                 // SIGKILL, as a crash
  int Terminate();             // SIGTERM; the exit status from waitpid, -1 on timeout
  bool Running();
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  // ipsecctl inside the pod namespace, with this daemon's token.
  CommandResult Ctl(const std::vector<std::string>& args, const std::string& stdin_text = "") const;
  // curl inside the pod namespace: returns "<status>\n<body>" in out.
  CommandResult Http(const std::string& method, const std::string& path,
                     const std::string& body = "", bool with_token = true,
                     const std::vector<std::string>& headers = {}) const;

  const std::string& dir() const { return dir_.path(); }
  std::string state_dir() const { return dir_.path() + "/state"; }
  std::string cluster_dir() const { return dir_.path() + "/cluster"; }
  std::string namespace_dir() const { return dir_.path() + "/namespace"; }
  std::string token_file() const { return dir_.path() + "/token"; }
  std::string log_path() const { return dir_.path() + "/daemon.log"; }
  std::string Log() const { return ReadFile(log_path()); }
  const std::string& token() const { return token_; }

 private:
  std::vector<std::string> Argv() const;
  const std::string& Namespace() const {
    return options_.netns.empty() ? lab_.pod(pod_) : options_.netns;
  }
  const Lab& lab_;
  int pod_;
  Options options_;
  TempDir dir_;
  std::string token_;
  std::unique_ptr<BackgroundProcess> process_;
};

// Paths of the built binaries (set by CMake).
std::string SidecarBinary();
std::string IpsecctlBinary();

}  // namespace ipsec::testing
