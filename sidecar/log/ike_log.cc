#include "sidecar/log/ike_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sidecar/log/fd_writer.h"

namespace ipsec::sidecar::log {
namespace {

using engine::telemetry::Event;
using engine::telemetry::Severity;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + strerror(errno);
}

// mkdir -p with `mode` for the directories it creates.
Status MakeDirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return Status::Ok();
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kUnavailable, Errno("cannot create directory", prefix), dir);
    }
  }
  return Status::Ok();
}

bool IsIkeEvent(const Event& event) { return event.type.rfind("ike.", 0) == 0; }

}  // namespace

IkeLog::IkeLog(Options options)
    : options_(std::move(options)),
      path_(options_.directory + "/" + options_.file_name),
      saved_path_(path_ + ".sav") {}

IkeLog::~IkeLog() {
  std::lock_guard lock(mu_);
  CloseFileLocked();
}

Result<std::unique_ptr<IkeLog>> IkeLog::Open(Options options) {
  if (options.directory.empty() || options.file_name.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the IKE log needs a directory and file name");
  }
  std::unique_ptr<IkeLog> log(new IkeLog(std::move(options)));
  // FAQ 39: "A new Oakley.log file is created each time the IPsec Policy Agent is started and
  // the previous version of the Oakley.log file is saved as Oakley.log.sav."
  // ENOENT/ENOTDIR: no previous log (Enable reports a directory that cannot be made).
  if (::rename(log->path_.c_str(), log->saved_path_.c_str()) != 0 && errno != ENOENT &&
      errno != ENOTDIR) {
    return MakeError(ErrorCode::kUnavailable, Errno("cannot save the previous IKE log", log->path_),
                     log->path_);
  }
  return log;
}

Status IkeLog::Enable() {
  std::lock_guard lock(mu_);
  if (fd_ >= 0) return Status::Ok();
  if (Status s = MakeDirs(options_.directory, 0750); !s.ok()) return s;
  if (Status s = OpenFileLocked(); !s.ok()) return s;
  WriteLocked(Line(Event{"ike.log", Severity::kInfo, "IKE logging enabled"}.With(
      "max_bytes", std::to_string(options_.max_bytes))));
  return Status::Ok();
}

void IkeLog::Disable() {
  std::lock_guard lock(mu_);
  if (fd_ < 0) return;
  WriteLocked(Line(Event{"ike.log", Severity::kInfo, "IKE logging disabled"}));
  CloseFileLocked();
}

bool IkeLog::enabled() const {
  std::lock_guard lock(mu_);
  return fd_ >= 0;
}

uint64_t IkeLog::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

void IkeLog::Emit(const Event& event) {
  if (!IsIkeEvent(event)) return;
  {
    std::lock_guard lock(mu_);  // cheap check first: no formatting while disabled
    if (fd_ < 0) return;
  }
  const std::string line = Line(event);
  std::lock_guard lock(mu_);
  if (fd_ < 0) return;
  WriteLocked(line);
}

std::string IkeLog::Line(const Event& event) const {
  return FormatLine(event, options_.now ? options_.now() : std::chrono::system_clock::now(),
                    options_.format);
}

Status IkeLog::OpenFileLocked() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    return MakeError(ErrorCode::kUnavailable, Errno("cannot open the IKE log", path_), path_);
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return Status::Ok();
}

void IkeLog::CloseFileLocked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

// Saves the full log as ike.log.sav and starts a new one. On failure the current file stays
// open and grows: losing IKE log lines is worse than a big file.
void IkeLog::RotateLocked() {
  if (::rename(path_.c_str(), saved_path_.c_str()) != 0) {
    ++errors_;
    return;
  }
  const int old_fd = fd_;
  fd_ = -1;
  if (!OpenFileLocked().ok()) {
    ++errors_;
    fd_ = old_fd;  // keep writing to the renamed file rather than losing lines
    return;
  }
  ::close(old_fd);
}

void IkeLog::WriteLocked(const std::string& line) {
  if (size_ > 0 && size_ + line.size() > options_.max_bytes) RotateLocked();
  if (WriteAll(fd_, line).ok()) {
    size_ += line.size();
  } else {
    ++errors_;
  }
}

}  // namespace ipsec::sidecar::log
