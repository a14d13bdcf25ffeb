#pragma once

// Runs the pod-setup commands (`ip`, `nft`) with an argument vector (no shell) and optional
// standard input, waiting for them. Used at set-up, policy change and teardown only, never per
// packet (pod_network.h says why commands rather than netlink).

#include <string>
#include <vector>

#include "engine/common/result.h"

namespace ipsec::engine::dataplane::userspace {

struct CommandOutcome {
  int exit_code = -1;  // -1: could not run
  std::string output;  // stdout and stderr together, for error messages
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual CommandOutcome Run(const std::vector<std::string>& argv,
                             const std::string& stdin_text = "") = 0;
};

// fork + execvp, stdin from a pipe, output captured (bounded).
class ProcessRunner final : public CommandRunner {
 public:
  CommandOutcome Run(const std::vector<std::string>& argv,
                     const std::string& stdin_text = "") override;
};

// "ip rule add ..." and its output, for error messages.
std::string Describe(const std::vector<std::string>& argv, const CommandOutcome& outcome);

}  // namespace ipsec::engine::dataplane::userspace
