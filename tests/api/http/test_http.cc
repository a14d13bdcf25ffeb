#include "tests/api/http/test_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ipsec::api::http::testing {

using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "ipsec-http-test-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  path_ = made ? made : "";
  EXPECT_FALSE(path_.empty());
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string path = path_ + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

void ReplaceFile(const std::string& path, const std::string& content) {
  std::string temp = path + ".new";
  std::ofstream(temp, std::ios::binary | std::ios::trunc) << content;
  std::filesystem::rename(temp, path);
}

RawConnection::RawConnection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

namespace {

// Reads what is available within the deadline into `out`. False on close, error or timeout.
bool ReadSome(int fd, std::string& out, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  if (n <= 0) return false;
  out.append(buf, static_cast<size_t>(n));
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

RawResponse RawConnection::ReadResponse(std::chrono::milliseconds timeout) {
  RawResponse response;
  auto deadline = Clock::now() + timeout;
  size_t header_end;
  while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
    if (!ReadSome(fd_, pending_, deadline)) {
      response.closed = true;
      return response;
    }
  }
  std::string head = pending_.substr(0, header_end);
  pending_.erase(0, header_end + 4);
  response.status = std::atoi(head.substr(9, 3).c_str());
  size_t line_start = head.find("\r\n");
  while (line_start != std::string::npos) {
    size_t next = head.find("\r\n", line_start + 2);
    std::string line = head.substr(
        line_start + 2, next == std::string::npos ? std::string::npos : next - line_start - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      response.headers[Lower(line.substr(0, colon))] = value;
    }
    line_start = next;
  }
  size_t length = std::strtoul(response.headers["content-length"].c_str(), nullptr, 10);
  while (pending_.size() < length) {
    if (!ReadSome(fd_, pending_, deadline)) {
      response.closed = true;
      return response;
    }
  }
  response.body = pending_.substr(0, length);
  pending_.erase(0, length);
  return response;
}

bool RawConnection::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
    char buf[4096];
    if (::recv(fd_, buf, sizeof(buf), 0) <= 0) return true;
  }
  return false;
}

std::string GetRequest(const std::string& target, const std::string& token, bool keep_alive) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!keep_alive) request += "Connection: close\r\n";
  return request + "\r\n";
}

std::unique_ptr<Server> StartServer(Server::Options options, Handler handler, Observer observer,
                                    LogHook log) {
  options.address = "127.0.0.1";
  options.port = 0;
  auto server = std::make_unique<Server>(std::move(options), std::move(handler),
                                         std::move(observer), std::move(log));
  Status started = server->Start();
  EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().ToString());
  return server;
}

Handler EchoHandler() {
  return [](const Request& request) {
    Response response(beast_http::status::ok, request.version());
    response.set(beast_http::field::content_type, "application/json");
    response.body() = "{\"ok\":true,\"target\":\"" + std::string(request.target()) + "\"}";
    return std::make_pair(std::move(response), std::string("/echo"));
  };
}

namespace {

void Drain(int out_fd, int err_fd, ProcessResult& result) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    if (::poll(fds, 2, 30'000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& input) {
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits before reading its input
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return {};
  }
  pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!input.empty()) {
    ssize_t ignored = ::write(in[1], input.data(), input.size());
    (void)ignored;
  }
  ::close(in[1]);
  ProcessResult result;
  Drain(out[0], err[0], result);
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace ipsec::api::http::testing
