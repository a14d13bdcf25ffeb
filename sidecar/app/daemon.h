#pragma once

#include "sidecar/app/config.h"

namespace ipsec::sidecar::app {

// The daemon's lifecycle: loads the pod-scope state, starts the engine service, the exporter
// and the API, reads the policy directories, then waits for signals — SIGHUP re-reads the
// policy directories, SIGTERM/SIGINT stop it gracefully — while polling the directories at
// their interval and the pod's addresses. Owns everything it starts.
class Daemon {
 public:
  explicit Daemon(Config config) : config_(std::move(config)) {}
  // Runs until a stop signal. Returns the process exit code: 0 after a clean stop, 1 when
  // start-up failed (the reason is logged and printed to stderr).
  int Run();

 private:
  Config config_;
};

}  // namespace ipsec::sidecar::app
