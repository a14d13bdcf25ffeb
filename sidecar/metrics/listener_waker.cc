#include "sidecar/metrics/listener_waker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace ipsec::sidecar::metrics {
namespace {

// A connectable address for `host`, or family AF_UNSPEC when there is none.
sockaddr_storage Target(std::string host, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
  } else {
    ss.ss_family = AF_UNSPEC;
  }
  return ss;
}

}  // namespace

ListenerWaker::ListenerWaker(const std::string& host, uint16_t port) {
  socklen_t len = 0;
  const sockaddr_storage target = Target(host, port, &len);
  if (target.ss_family == AF_UNSPEC || port == 0) return;
  thread_ = std::thread([this, target, len] {
    while (!done_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      int fd = ::socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      ::connect(fd, reinterpret_cast<const sockaddr*>(&target), len);
      ::close(fd);
    }
  });
}

ListenerWaker::~ListenerWaker() {
  done_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace ipsec::sidecar::metrics
