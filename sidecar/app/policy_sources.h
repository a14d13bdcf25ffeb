#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "engine/service/engine_service.h"

namespace ipsec::sidecar::app {

// Reads the cluster- and namespace-scope policies from directories as a Kubernetes ConfigMap
// mounts them (FAQ 20: "closest GPO wins" becomes cluster -> namespace -> pod). A directory
// assigns the policy in its `policy.yaml`, `policy.yml` or `policy.json` (the ConfigMap key);
// a missing directory or file assigns none. A file that cannot be read or parsed is reported
// on the scope and the previous policy stays in force.
//
// Each directory is re-read at the polling interval of the policy it holds (FAQ 10), or at
// the default interval while it holds none, and on demand (SIGHUP). Not thread-safe: the
// daemon calls it from one thread.
class PolicySources {
 public:
  PolicySources(engine::service::EngineService& service,  // not owned
                std::string cluster_dir, std::string namespace_dir,
                std::chrono::seconds default_poll);

  // Reads both directories now.
  void ReloadAll(const std::string& cause, std::chrono::steady_clock::time_point now);
  // Reads the directories whose poll is due; returns when the next one is due.
  std::chrono::steady_clock::time_point PollDue(std::chrono::steady_clock::time_point now);

 private:
  struct Source {
    engine::policy::Scope scope;
    std::string dir;
    std::chrono::steady_clock::time_point next_due{};
    std::chrono::seconds interval{60};
  };
  void Load(Source& source, const std::string& cause, std::chrono::steady_clock::time_point now);

  engine::service::EngineService& service_;
  std::chrono::seconds default_poll_;
  Source sources_[2];
};

// Reads `<dir>/policy.{yaml,yml,json}`: nullopt policy when the directory or file is absent.
struct ScopeFile {
  std::string path;  // the file read, or the directory when there is none
  std::optional<engine::policy::Policy> policy;
};
Result<ScopeFile> ReadScopeDirectory(const std::string& dir);

}  // namespace ipsec::sidecar::app
