#pragma once

// Test doubles for engine/net: a plain UDP socket standing in for the remote IKE peer, and a
// queue that collects what the transport hands to its handlers. Loopback only.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/common/bytes.h"
#include "engine/common/endpoint.h"
#include "engine/net/datagram.h"
#include "engine/net/socket_address.h"

namespace ipsec::engine::net::testing {

class UdpTestPeer {
 public:
  // Binds `address` with an ephemeral port; null when the family is unavailable (no IPv6).
  static std::unique_ptr<UdpTestPeer> Bind(const char* address) {
    const Endpoint local{*IpAddress::Parse(address), 0};
    const int fd = ::socket(local.address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0) return nullptr;
    sockaddr_storage storage;
    socklen_t length = ToSockaddr(local, storage);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
      ::close(fd);
      return nullptr;
    }
    length = sizeof(storage);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
    return std::unique_ptr<UdpTestPeer>(new UdpTestPeer(fd, *FromSockaddr(storage, length)));
  }
  ~UdpTestPeer() { ::close(fd_); }

  const Endpoint& endpoint() const { return endpoint_; }

  bool SendTo(const Endpoint& to, ByteSpan data) {
    sockaddr_storage storage;
    const socklen_t length = ToSockaddr(to, storage);
    return ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&storage),
                    length) == static_cast<ssize_t>(data.size());
  }

  struct Received {
    Endpoint from;
    Bytes data;
  };
  std::optional<Received> Receive(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    Bytes buffer(70000);
    sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&storage), &length);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<size_t>(n));
    return Received{*FromSockaddr(storage, length), std::move(buffer)};
  }

 private:
  UdpTestPeer(int fd, const Endpoint& endpoint) : fd_(fd), endpoint_(endpoint) {}
  int fd_;
  Endpoint endpoint_;
};

// Collects datagrams from a transport handler (loop thread) for the test thread.
class DatagramQueue {
 public:
  void Push(Datagram datagram) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(datagram));
    cv_.notify_all();
  }
  std::optional<Datagram> Pop(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); })) return std::nullopt;
    Datagram d = std::move(queue_.front());
    queue_.pop_front();
    return d;
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Datagram> queue_;
};

}  // namespace ipsec::engine::net::testing
