#pragma once

// TunDevice: a layer-3 TUN interface in the current (pod) network namespace, opened as
// IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE so that each data path worker reads its own queue (the
// kernel spreads flows over queues by hash: one peer pair's flows are not all on one core).
// Packets are plain IPv4/IPv6 packets. Sets the MTU and brings the link up with ioctls; routes
// and rules are pod_network's job. Owns its descriptors.
//
// Threads: Read(queue) only from that queue's worker; Write from any thread (a write on a TUN
// descriptor is one packet, atomic).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/result.h"

namespace ipsec::engine::dataplane::userspace {

class TunDevice {
 public:
  struct Options {
    std::string name = "ipsec0";  // at most 15 characters (IFNAMSIZ - 1)
    int queues = 2;               // one descriptor per worker
    int mtu = 1400;               // the link MTU minus ESP's worst-case overhead
  };
  static Result<std::unique_ptr<TunDevice>> Open(const Options& options);
  ~TunDevice();  // closes every queue: the kernel removes the (non-persistent) device
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;

  const std::string& name() const { return name_; }
  int mtu() const { return mtu_; }
  int queue_count() const { return static_cast<int>(fds_.size()); }
  int fd(int queue) const { return fds_.at(queue); }

  // One packet into `buffer`: its length, 0 when none is waiting (non-blocking), -errno.
  ssize_t Read(int queue, uint8_t* buffer, size_t capacity);
  // One packet to the kernel (as if received on the interface): 0 or an errno.
  int Write(int queue, const uint8_t* packet, size_t length);

 private:
  TunDevice() = default;
  std::string name_;
  int mtu_ = 0;
  std::vector<int> fds_;
};

}  // namespace ipsec::engine::dataplane::userspace
