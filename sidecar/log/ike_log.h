#pragma once

// IkeLog: the IKE negotiation log, FAQ 39's Oakley log translated. While enabled (the API's
// PUT /v1/config/ike-logging, through EngineService::OnIkeLoggingChanged) it writes every event
// whose type starts with "ike." to <directory>/ike.log; while disabled it drops them and keeps
// no file open.
//
// Rotation, as the FAQ describes Oakley.log: at daemon start (Open) a previous ike.log is saved
// as ike.log.sav and the next Enable starts a new ike.log; a log that would grow beyond
// max_bytes is saved as ike.log.sav the same way (one .sav only, replaced each time). Lines are
// scrubbed of secrets (redact.h).
//
// Thread-safe: every method may be called from any thread (one mutex guards the file).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "engine/common/result.h"
#include "engine/telemetry/event.h"
#include "sidecar/log/format.h"

namespace ipsec::sidecar::log {

class IkeLog final : public engine::telemetry::EventSink {
 public:
  static constexpr uint64_t kDefaultMaxBytes = 10 * 1024 * 1024;

  struct Options {
    std::string directory;  // e.g. /var/log/ipsec-sidecar; created (0750) on Enable
    std::string file_name = "ike.log";
    uint64_t max_bytes = kDefaultMaxBytes;
    LogFormat format = LogFormat::kText;
    std::function<WallTime()> now;  // empty: the system clock
  };

  // Start of the daemon: saves a previous ike.log as ike.log.sav. Fails (kUnavailable) only
  // when an existing log cannot be renamed; a missing directory is not an error.
  static Result<std::unique_ptr<IkeLog>> Open(Options options);
  ~IkeLog() override;
  IkeLog(const IkeLog&) = delete;
  IkeLog& operator=(const IkeLog&) = delete;

  // Creates the directory if needed and opens ike.log for appending (a new file after a
  // rotation). Idempotent.
  Status Enable();
  // Writes a closing line and closes the file. Idempotent.
  void Disable();
  bool enabled() const;

  // Writes "ike.*" events while enabled; ignores everything else.
  void Emit(const engine::telemetry::Event& event) override;

  const std::string& path() const { return path_; }
  const std::string& saved_path() const { return saved_path_; }
  // Lines that could not be written and rotations that failed.
  uint64_t errors() const;

 private:
  explicit IkeLog(Options options);
  // Must hold mu_.
  Status OpenFileLocked();
  void CloseFileLocked();
  void RotateLocked();
  void WriteLocked(const std::string& line);
  std::string Line(const engine::telemetry::Event& event) const;

  const Options options_;
  const std::string path_;
  const std::string saved_path_;
  mutable std::mutex mu_;
  int fd_ = -1;          // guarded by mu_; -1 while disabled
  uint64_t size_ = 0;    // guarded by mu_; bytes in the open file
  uint64_t errors_ = 0;  // guarded by mu_
};

}  // namespace ipsec::sidecar::log
