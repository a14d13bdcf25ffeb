#pragma once

// ListenerWaker: shortens the exporter's shutdown. civetweb's listener thread polls its sockets
// with a 2 s quantum and checks its stop flag only between polls, so stopping an Exposer takes
// up to 2 s. While a ListenerWaker lives, a thread connects to the listener every 20 ms, which
// ends the poll at once: the stop then takes tens of milliseconds.
//
// Thread-safe by construction: the thread only reads values copied at construction.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace ipsec::sidecar::metrics {

class ListenerWaker {
 public:
  // `host` as in the listen address ("0.0.0.0", "127.0.0.1", "[::]", "::1"); a wildcard is
  // reached through loopback. A host that is not a numeric address starts no thread.
  ListenerWaker(const std::string& host, uint16_t port);
  ~ListenerWaker();
  ListenerWaker(const ListenerWaker&) = delete;
  ListenerWaker& operator=(const ListenerWaker&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace ipsec::sidecar::metrics
