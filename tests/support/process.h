#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ipsec::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not run or was killed
  std::string out;     // stdout
  std::string err;     // stderr
};

// Runs argv (no shell) to completion, with optional stdin text, and a time limit after which
// it is killed (exit_code -1).
CommandResult Run(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                  std::chrono::seconds timeout = std::chrono::seconds(60));

// Runs a shell command line (sh -c), for test set-up steps.
CommandResult Shell(const std::string& command,
                    std::chrono::seconds timeout = std::chrono::seconds(60));

// A child process started in the background, its output going to `log_path`. Ended by PID
// (SIGTERM, then SIGKILL after a grace period) when destroyed, unless already reaped.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `signal` and waits up to `timeout` for exit; returns the exit status as from
  // waitpid, or -1 on timeout.
  int Stop(int signal, std::chrono::milliseconds timeout);
  void Kill();  // SIGKILL and reap
  // Exit code if it has exited by itself (-1 otherwise), waiting up to `timeout`.
  int WaitExit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// A fresh temporary directory, removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
// A random lowercase suffix for names that must not collide between runs.
std::string RandomSuffix(int length = 6);

// Waits until a TCP socket listens on `port` in network namespace `netns` ("" for the
// current one), as `ss` sees it: a server started in the background is ready to accept. False
// after `budget`. (A fixed sleep after starting a server races with a loaded machine.)
bool WaitForTcpListener(const std::string& netns, int port,
                        std::chrono::milliseconds budget = std::chrono::seconds(10));

}  // namespace ipsec::testing
