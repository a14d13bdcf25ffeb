#include "engine/dataplane/userspace/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ipsec::engine::dataplane::userspace {
namespace {

constexpr size_t kMaxOutput = 16384;

}  // namespace

CommandOutcome ProcessRunner::Run(const std::vector<std::string>& argv,
                                  const std::string& stdin_text) {
  CommandOutcome outcome;
  if (argv.empty()) return outcome;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return outcome;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return outcome;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The daemon blocks its signals for sigtimedwait: the child starts with none blocked.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    return outcome;
  }
  size_t written = 0;
  while (written < stdin_text.size()) {
    ssize_t n = ::write(in[1], stdin_text.data() + written, stdin_text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  ::close(in[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (outcome.output.size() < kMaxOutput) outcome.output.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

std::string Describe(const std::vector<std::string>& argv, const CommandOutcome& outcome) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  s += ": exit " + std::to_string(outcome.exit_code);
  if (!outcome.output.empty()) s += ": " + outcome.output;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace ipsec::engine::dataplane::userspace
