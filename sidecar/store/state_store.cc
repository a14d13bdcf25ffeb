#include "sidecar/store/state_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sidecar/store/state_codec.h"

namespace ipsec::sidecar::store {
namespace {

using engine::service::LocalState;

// A state file larger than this is not one we wrote (16 MiB bodies, a few hundred policies).
constexpr off_t kMaxStateBytes = off_t{1} << 30;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + strerror(errno);
}

// mkdir -p; directories it creates get `mode`.
Status MakeDirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "the state directory is empty");
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kUnavailable, Errno("cannot create state directory", prefix),
                       dir);
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kUnavailable, "state directory " + dir + " is not a directory",
                     dir);
  }
  return Status::Ok();
}

// Removes state.json.tmp-* left by a crash between creating and renaming a temp file.
void RemoveLeftovers(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const std::string prefix = StateStore::kTempPrefix;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string_view(e->d_name).substr(0, prefix.size()) == prefix) {
      ::unlinkat(::dirfd(d), e->d_name, 0);
    }
  }
  ::closedir(d);
}

// False with errno set when the write fails.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Result<std::string> ReadAll(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return MakeError(ErrorCode::kDataLoss, Errno("cannot stat state file", path), path);
  }
  if (st.st_size > kMaxStateBytes) {
    return MakeError(ErrorCode::kDataLoss,
                     "state file " + path + " is corrupt: " + std::to_string(st.st_size) +
                         " bytes is larger than any state this daemon writes",
                     path);
  }
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size) + 1);  // one buffer: no stray copies of keys
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      explicit_bzero(buf, sizeof(buf));
      if (n == 0) return text;
      return MakeError(ErrorCode::kDataLoss, Errno("cannot read state file", path), path);
    }
    text.append(buf, static_cast<size_t>(n));
  }
}

// The file's text holds preshared keys: wipe it before the memory is freed.
void Wipe(std::string& text) {
  if (!text.empty()) explicit_bzero(text.data(), text.size());
  text.clear();
}

// 0 or the errno of the failing open or fsync.
int SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  return rc == 0 ? 0 : saved;
}

Status FsyncDir(const std::string& dir) {
  if (int err = SyncDir(dir); err != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot fsync directory " + dir + ": " + strerror(err));
  }
  return Status::Ok();
}

}  // namespace

std::string SaveFailureReason(int err) {
  switch (err) {
    case ENOSPC:
      return "the state volume is full";
    case EDQUOT:
      return "disk quota exceeded on the state volume";
    case EROFS:
      return "the state volume is read-only";
    case EACCES:
    case EPERM:
      return "permission denied on the state directory";
    case ENOENT:
    case ENOTDIR:
      return "the state directory is missing";
    case EIO:
      return "I/O error on the state volume";
    case EMFILE:
    case ENFILE:
      return "the daemon has too many open files";
    default:
      return std::string("the state volume refused the write: ") + strerror(err);
  }
}

StateStore::StateStore(std::string state_dir, engine::telemetry::EventSink* events)
    : state_dir_(std::move(state_dir)), file_path_(state_dir_ + "/" + kFileName), events_(events) {}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& state_dir,
                                                     engine::telemetry::EventSink* events) {
  if (Status s = MakeDirs(state_dir, 0700); !s.ok()) return s.error();
  return std::unique_ptr<StateStore>(new StateStore(state_dir, events));
}

Result<LocalState> StateStore::Load(const std::string& state_dir) {
  if (Status s = MakeDirs(state_dir, 0700); !s.ok()) return s.error();
  RemoveLeftovers(state_dir);
  const std::string path = state_dir + "/" + kFileName;
  // O_NONBLOCK: a FIFO in its place must not block start-up waiting for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) return LocalState{};  // first start
  if (fd < 0) return MakeError(ErrorCode::kDataLoss, Errno("cannot open state file", path), path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(
        ErrorCode::kDataLoss,
        "state file " + path + " is not a regular file (a directory, FIFO or device); move it away",
        path);
  }
  auto text = ReadAll(fd, path);
  ::close(fd);
  if (!text.ok()) return text.error();
  auto state = DecodeState(*text, path);
  Wipe(*text);
  return state;
}

Result<std::string> StateStore::SetAsideCorrupt(const std::string& state_dir) {
  const std::string path = state_dir + "/" + kFileName;
  const std::string aside = path + ".corrupt-" + std::to_string(::time(nullptr));
  if (::rename(path.c_str(), aside.c_str()) != 0) {
    if (errno == ENOENT) return std::string();
    return MakeError(ErrorCode::kUnavailable, Errno("cannot set aside state file", path), path);
  }
  if (Status s = FsyncDir(state_dir); !s.ok()) return s.error();
  return aside;
}

Status StateStore::Save(const LocalState& state) {
  auto text = EncodeState(state);
  if (!text.ok()) return text.error();
  std::lock_guard lock(mu_);
  std::optional<Failure> failed = WriteLocked(*text);
  Wipe(*text);
  if (failed) {
    if (events_ != nullptr) {
      events_->Emit(engine::telemetry::Event{"state.save_failed",
                                             engine::telemetry::Severity::kError,
                                             "the pod-scope state could not be saved"}
                        .With("file", file_path_)
                        .With("step", failed->step)
                        .With("error", strerror(failed->err))
                        .With("new_file_in_place", failed->renamed ? "yes" : "no"));
    }
    return MakeError(failed->renamed ? ErrorCode::kDataLoss : ErrorCode::kUnavailable,
                     SaveFailureReason(failed->err));
  }
  ++saves_;
  return Status::Ok();
}

uint64_t StateStore::saves() const {
  std::lock_guard lock(mu_);
  return saves_;
}

// temp file (0600) -> write -> fsync -> close -> rename over state.json -> fsync directory.
// Before the rename, a failure removes the temp file: a full volume keeps its space.
std::optional<StateStore::Failure> StateStore::WriteLocked(const std::string& text) {
  std::string temp = state_dir_ + "/" + kTempPrefix + "XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // creates with mode 0600
  if (fd < 0) return Failure{"create the temp file", errno, false};
  auto fail = [&](const char* step) {
    Failure f{step, errno, false};
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    return f;
  };
  if (::fchmod(fd, 0600) != 0) return fail("chmod the temp file");
  if (!WriteAll(fd, text)) return fail("write the temp file");
  if (::fsync(fd) != 0) return fail("fsync the temp file");
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) return fail("close the temp file");
  if (::rename(temp.c_str(), file_path_.c_str()) != 0) return fail("rename over state.json");
  if (int err = SyncDir(state_dir_); err != 0) return Failure{"fsync the directory", err, true};
  return std::nullopt;
}

}  // namespace ipsec::sidecar::store
