#pragma once

// TunDevice: a layer-3 TUN interface in the current (pod) network namespace, opened as
// IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE so that each data path worker reads its own queue (the
// kernel spreads flows over queues by hash: one peer pair's flows are not all on one core).
// Packets are plain IPv4/IPv6 packets. Sets the MTU and brings the link up with ioctls; routes
// and rules are pod_network's job. Owns its descriptors.
//
// Offloads (Options::offload, the default): opened with IFF_VNET_HDR, TUNSETVNETHDRSZ 10 and
// TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 (| TUN_F_USO4 | TUN_F_USO6 when the kernel
// has them, Linux 6.2), as wireguard-go does: reads then give a virtio_net_hdr and up to 64 KB
// (offload.h cuts it), writes take one (offload::TcpCoalescer's super-packets). When the kernel
// refuses any of it, the device is opened without the header (vnet_hdr() false) and every read
// and write is one plain packet.
//
// Threads: Read(queue) only from that queue's worker; Write from any thread (a write on a TUN
// descriptor is one packet, atomic).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/dataplane/userspace/offload.h"

namespace ipsec::engine::dataplane::userspace {

class TunDevice {
 public:
  struct Options {
    std::string name = "ipsec0";  // at most 15 characters (IFNAMSIZ - 1)
    int queues = 2;               // one descriptor per worker
    int mtu = 1400;               // the link MTU minus ESP's worst-case overhead
    bool offload = true;          // IFF_VNET_HDR + TSO/USO (falls back to none when refused)
  };
  static Result<std::unique_ptr<TunDevice>> Open(const Options& options);
  ~TunDevice();  // closes every queue: the kernel removes the (non-persistent) device
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;

  const std::string& name() const { return name_; }
  int mtu() const { return mtu_.load(std::memory_order_relaxed); }
  // A new MTU for the link (SIOCSIFMTU; routes without their own MTU follow it). Any thread.
  Status SetMtu(int mtu);
  int queue_count() const { return static_cast<int>(fds_.size()); }
  int fd(int queue) const { return fds_.at(queue); }
  bool vnet_hdr() const { return vnet_hdr_; }  // offloads on: reads/writes carry the header
  bool uso() const { return uso_; }            // the kernel also hands us UDP super-packets

  // One packet into `buffer`: its length, 0 when none is waiting (non-blocking), -errno. With
  // vnet_hdr(), `*hdr` gets its virtio_net_hdr (a GSO packet when hdr->gso_type != 0; callers
  // must cut it, offload::PlanSplit) and `capacity` should be >= 65535; without, *hdr is zero.
  ssize_t Read(int queue, uint8_t* buffer, size_t capacity, offload::VnetHdr* hdr = nullptr);
  // One packet to the kernel (as if received on the interface): 0 or an errno. With
  // vnet_hdr(), a zero header (no offload) is prepended.
  int Write(int queue, const uint8_t* packet, size_t length);
  // A packet with its virtio_net_hdr (a GSO super-packet). Only with vnet_hdr().
  int Write(int queue, const offload::VnetHdr& hdr, const uint8_t* packet, size_t length);
  // The same, the packet in `count` (<= 128) pieces: one writev (no gathering copy).
  static constexpr size_t kMaxWriteParts = 128;
  int WriteV(int queue, const offload::VnetHdr& hdr, const iovec* iov, size_t count);

 private:
  TunDevice() = default;
  std::string name_;
  std::atomic<int> mtu_{0};
  bool vnet_hdr_ = false;
  bool uso_ = false;
  std::vector<int> fds_;
};

}  // namespace ipsec::engine::dataplane::userspace
