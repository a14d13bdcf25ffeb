#pragma once

// EspIo: the data path's sockets, and PacketIo over them and the TUN.
//
//   raw ESP      SOCK_RAW IPPROTO_ESP (IPv4 and IPv6): every IP protocol 50 packet of the pod
//                (the kernel has no ESP of its own here, LAB-NOTES.md), and raw ESP out.
//   ESP-in-UDP   SOCK_DGRAM on the NAT-T port, joined to the SO_REUSEPORT group whose first
//                member is IKE's socket (engine/net/udp_socket.h). A classic BPF program
//                (SO_ATTACH_REUSEPORT_CBPF; for UDP it sees the payload at offset 0) sends
//                datagrams that start with the non-ESP marker, NAT keepalives (1 octet) and
//                anything shorter than 4 octets to member 0 (IKE), ESP (a non-zero SPI,
//                RFC 3948 §2.1) to member 1 (us). IKE's thread never sees ESP.
//   clear        SOCK_RAW IPPROTO_RAW (header included): permitted packets that reached the
//                TUN, sent on with the bypass mark so routing does not bring them back.
// Every socket carries SO_MARK kBypassMark (pod_network.h: such packets skip the TUN's table).
//
// Receive: recvmmsg batches. Send: ESP sendmmsg batches per worker (Flush), else sendmsg; with the
// SA's local address as the source (IP_PKTINFO / IPV6_PKTINFO). Threads: Receive* on one (RX)
// thread; sends from any.

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "engine/common/result.h"
#include "engine/dataplane/userspace/pipeline.h"
#include "engine/dataplane/userspace/tun_device.h"

namespace ipsec::engine::dataplane::userspace {

class EspIo final : public PacketIo {
 public:
  struct Options {
    uint16_t nat_t_port = 0;  // 0: no ESP-in-UDP socket (no IKE NAT-T socket to join)
    bool ipv6 = true;         // also the IPv6 sockets (when the kernel has IPv6)
  };
  // Not owned: `tun` outlives this object.
  static Result<std::unique_ptr<EspIo>> Open(const Options& options, TunDevice& tun);
  ~EspIo() override;

  // The receive descriptors, for poll.
  std::vector<int> receive_fds() const;

  // Reads every waiting packet of `fd` (at most `batch` per call) and hands each to `inbound`
  // as (buffer, offset of the ESP packet, its length, outer source). Returns the count.
  template <typename F>
  size_t Receive(int fd, F&& inbound);

  // Batched per worker (sendmmsg at Flush, or when the batch is full or changes socket).
  bool SendEsp(unsigned worker, const SaConfig& sa, const uint8_t* esp, size_t length) override;
  void Flush(unsigned worker) override;
  uint64_t send_errors() const { return send_errors_.load(std::memory_order_relaxed); }
  bool SendClear(unsigned worker, const uint8_t* packet, size_t length) override;
  bool Deliver(unsigned worker, const uint8_t* packet, size_t length) override;

  static constexpr size_t kBatch = 32;
  static constexpr size_t kRxBufferSize = kHeadroom + 65536 + kTailroom;

 private:
  enum class Kind { kRaw4, kRaw6, kUdp4, kUdp6 };
  struct Socket {
    int fd = -1;
    Kind kind = Kind::kRaw4;
  };
  EspIo(TunDevice& tun) : tun_(tun) {}
  size_t ReceiveBatch(const Socket& s,
                      void (*cb)(void*, uint8_t*, size_t, size_t, const IpAddress&), void* ctx);

  TunDevice& tun_;
  std::vector<Socket> rx_;
  int raw4_ = -1, raw6_ = -1, udp4_ = -1, udp6_ = -1, clear4_ = -1, clear6_ = -1;
  // RX thread only: the batch buffers.
  std::vector<uint8_t> rx_buffers_;
  struct TxBatch {
    static constexpr size_t kSlot = 2048;  // a TUN-MTU packet with ESP's overhead fits
    std::vector<uint8_t> data = std::vector<uint8_t>(kBatch * kSlot);
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch];
    sockaddr_storage names[kBatch];
    alignas(cmsghdr) uint8_t control[kBatch][CMSG_SPACE(sizeof(in6_pktinfo))];
    int fd = -1;
    size_t count = 0;
  };
  std::vector<std::unique_ptr<TxBatch>> tx_;  // per worker index; each used by its thread only
  std::atomic<uint64_t> send_errors_{0};
};

template <typename F>
size_t EspIo::Receive(int fd, F&& inbound) {
  for (const Socket& s : rx_) {
    if (s.fd != fd) continue;
    return ReceiveBatch(
        s,
        [](void* ctx, uint8_t* buffer, size_t offset, size_t length, const IpAddress& from) {
          (*static_cast<std::remove_reference_t<F>*>(ctx))(buffer, offset, length, from);
        },
        &inbound);
  }
  return 0;
}

}  // namespace ipsec::engine::dataplane::userspace
