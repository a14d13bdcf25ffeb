#include "sidecar/app/policy_sources.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/dto/policy_json.h"

namespace ipsec::sidecar::app {

namespace fs = std::filesystem;
using engine::policy::Scope;

namespace {
constexpr const char* kPolicyFileNames[] = {"policy.yaml", "policy.yml", "policy.json"};
constexpr uintmax_t kMaxPolicyFileBytes = 16u << 20;
}  // namespace

Result<ScopeFile> ReadScopeDirectory(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return ScopeFile{dir, std::nullopt};
  for (const char* name : kPolicyFileNames) {
    fs::path path = fs::path(dir) / name;
    if (!fs::exists(path, ec)) continue;
    auto size = fs::file_size(path, ec);
    if (ec) return MakeError(ErrorCode::kUnavailable, "cannot stat: " + ec.message(), path);
    if (size > kMaxPolicyFileBytes) {
      return MakeError(ErrorCode::kInvalidArgument, "policy file larger than 16 MiB", path);
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return MakeError(ErrorCode::kUnavailable, "cannot read the file", path);
    }
    auto json = api::dto::ParseJsonOrYaml(text.str());
    if (!json.ok()) return json.error().WithPathPrefix(path.string() + ": ");
    auto policy = api::dto::PolicyFromJson(*json);
    if (!policy.ok()) return policy.error().WithPathPrefix(path.string() + ": ");
    return ScopeFile{path.string(), std::move(policy).value()};
  }
  return ScopeFile{dir, std::nullopt};
}

PolicySources::PolicySources(engine::service::EngineService& service, std::string cluster_dir,
                             std::string namespace_dir, std::chrono::seconds default_poll)
    : service_(service),
      default_poll_(default_poll),
      sources_{{Scope::kCluster, std::move(cluster_dir), {}, default_poll},
               {Scope::kNamespace, std::move(namespace_dir), {}, default_poll}} {}

void PolicySources::Load(Source& source, const std::string& cause,
                         std::chrono::steady_clock::time_point now) {
  engine::service::ChangeContext ctx{"file:" + source.dir, "file-watcher (" + cause + ")"};
  auto file = ReadScopeDirectory(source.dir);
  source.interval = default_poll_;
  if (!file.ok()) {
    service_.ReportScopeError(source.scope, source.dir, file.error().ToString());
  } else {
    uint32_t poll = file->policy ? file->policy->polling_interval_seconds : 0;
    // A policy's own interval applies once it is valid and loaded.
    if (service_.SetScopePolicy(source.scope, std::move(file->policy), file->path, ctx).ok() &&
        poll > 0) {
      source.interval = std::chrono::seconds(poll);
    }
  }
  source.next_due = now + source.interval;
}

void PolicySources::ReloadAll(const std::string& cause,
                              std::chrono::steady_clock::time_point now) {
  for (Source& s : sources_) Load(s, cause, now);
}

std::chrono::steady_clock::time_point PolicySources::PollDue(
    std::chrono::steady_clock::time_point now) {
  auto next = std::chrono::steady_clock::time_point::max();
  for (Source& s : sources_) {
    if (now >= s.next_due) Load(s, "poll", now);
    next = std::min(next, s.next_due);
  }
  return next;
}

}  // namespace ipsec::sidecar::app
