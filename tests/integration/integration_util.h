#pragma once

// Small helpers the integration tests share: a daemon's HTTP answer (Daemon::Http gives
// "<status>\n<body>"), polling until a condition holds, the tools a test needs.

#include <chrono>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/process.h"

namespace ipsec::testing {

// The JSON body of a Daemon::Http answer (discarded when it is not JSON).
inline nlohmann::json Body(const CommandResult& r) {
  auto nl = r.out.find('\n');
  return nlohmann::json::parse(nl == std::string::npos ? "" : r.out.substr(nl + 1), nullptr, false);
}

// The HTTP status of a Daemon::Http answer.
inline int Status(const CommandResult& r) { return std::atoi(r.out.c_str()); }

// Polls `done` every `poll` until it holds or `budget` has passed; its last answer.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds budget = std::chrono::seconds(10),
                    std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

// "" when every tool is on the PATH, else what to tell: "<tool> is missing: run
// scripts/install-deps.sh" (tests fail with it, never skip).
inline std::string MissingTool(std::initializer_list<const char*> tools) {
  for (const char* tool : tools) {
    if (Run({"sh", "-c", std::string("command -v ") + tool}).exit_code != 0) {
      return std::string(tool) + " is missing: run scripts/install-deps.sh";
    }
  }
  return "";
}

}  // namespace ipsec::testing
