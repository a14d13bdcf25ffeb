#pragma once

// StateStore: durable storage of the pod-scope policy (engine::service::LocalState) in
// <state_dir>/state.json, the format of state_codec.h. It holds preshared keys, so the file is
// mode 0600 and its directory 0700 when the store creates it.
//
// A Save is atomic and durable before it returns (the service acknowledges a write only
// after): the state goes to a temp file in the same directory (state.json.tmp-XXXXXX), which
// is fsynced and renamed over state.json, and then the directory is fsynced so the rename
// itself survives a crash. A crash at any point leaves either the old or the new state.json,
// never a mix; a leftover temp file is removed at the next Load.
//
// A failed Save changes nothing the service relies on (engine_service.h, StatePersistence): its
// error is for API clients, says why in general terms (SaveFailureReason) and names no file;
// the file, the failing step and the system's error go to the event log (state.save_failed).
//
// Thread-safe: Save may be called from any thread; calls are serialized by a mutex (the
// service serializes them already). Load and SetAsideCorrupt are for start-up, before any
// StateStore of the same directory saves.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/common/result.h"
#include "engine/service/engine_service.h"
#include "engine/telemetry/event.h"

namespace ipsec::sidecar::store {

// Why a save failed, for API clients: "the state volume is full", "the state volume is
// read-only", ... from the errno of the failing call. Names no file.
std::string SaveFailureReason(int err);

class StateStore final : public engine::service::StatePersistence {
 public:
  static constexpr const char* kFileName = "state.json";
  static constexpr const char* kTempPrefix = "state.json.tmp-";

  // Creates the state directory (and its parents, mode 0700) if missing. kUnavailable when it
  // cannot be created or is not a directory. `events` (not owned, may be null; must outlive the
  // store) receives state.save_failed.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& state_dir,
                                                  engine::telemetry::EventSink* events = nullptr);

  // Start-up: reads <state_dir>/state.json. No file (the first start) is an empty state.
  // A file that cannot be read, is not a regular file (a FIFO would block the open), or is
  // truncated, garbled, fails its checksum or holds an invalid policy, is kDataLoss with a
  // message naming the file and the fault (Error::path is the file). Creates the directory if
  // missing and removes leftover temp files of a crash.
  static Result<engine::service::LocalState> Load(const std::string& state_dir);

  // For starting empty despite a corrupt file (--start-empty): renames state.json to
  // state.json.corrupt-<unix seconds> so the next Save does not destroy what an operator may
  // want to inspect. Returns the new path ("" when there was no file).
  static Result<std::string> SetAsideCorrupt(const std::string& state_dir);

  // Writes `state` durably (above). When the disk refuses: kUnavailable, state.json unchanged
  // and no temp file left; kDataLoss when only the final directory fsync failed (the new file
  // is in place but may not survive a crash). The message is SaveFailureReason's.
  Status Save(const engine::service::LocalState& state) override;

  const std::string& state_dir() const { return state_dir_; }
  const std::string& file_path() const { return file_path_; }
  // Successful saves since Open.
  uint64_t saves() const;

 private:
  // What failed in a save, for the log.
  struct Failure {
    std::string step;      // "write the temp file", ...
    int err = 0;           // errno
    bool renamed = false;  // the new state.json was in place when it failed
  };
  StateStore(std::string state_dir, engine::telemetry::EventSink* events);
  // Must hold mu_. nullopt on success.
  std::optional<Failure> WriteLocked(const std::string& text);

  const std::string state_dir_;
  const std::string file_path_;
  engine::telemetry::EventSink* const events_;  // not owned; may be null
  mutable std::mutex mu_;
  uint64_t saves_ = 0;  // guarded by mu_
};

}  // namespace ipsec::sidecar::store
