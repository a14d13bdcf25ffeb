#pragma once

// AhSockets: the userspace data path's AH (IP protocol 51, RFC 4302) receive sockets.
//
// AH's ICV covers the IP header (RFC 4302 §3.3.3), so Pipeline::InboundAh needs each packet
// whole. A raw IPv4 socket delivers the IP header as it arrived. A raw IPv6 socket delivers
// the packet from AH on (RFC 3542 §3: no IPv6 header on raw sockets); the base header is
// rebuilt from what the kernel reports: source (the sender's address), destination
// (IPV6_PKTINFO), payload length (the datagram's length), next header 51. Traffic class, flow
// label and hop limit are written as zero: they are mutable and zeroed for the ICV anyway
// (RFC 4302 §3.3.3.1.2.1). Extension headers before AH (hop-by-hop, destination options,
// routing) cannot be rebuilt exactly; such packets are reported (IPV6_RECVHOPOPTS/RTHDR/DSTOPTS)
// and handed on with length 0, which the pipeline counts as malformed. AH never comes in UDP:
// RFC 3948 encapsulates ESP only.
//
// Sending needs no socket of its own: AH packets are whole IP packets and leave through the
// header-included raw sockets of PacketIo::SendClear. Every socket carries SO_MARK kBypassMark.
// Threads: Receive on one (RX) thread.

#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "engine/common/result.h"
#include "engine/dataplane/userspace/pipeline.h"

namespace ipsec::engine::dataplane::userspace {

class AhSockets {
 public:
  // IPv4 is required (CAP_NET_RAW); IPv6 when the kernel has it and `ipv6`.
  static Result<std::unique_ptr<AhSockets>> Open(bool ipv6 = true);
  ~AhSockets();
  AhSockets(const AhSockets&) = delete;
  AhSockets& operator=(const AhSockets&) = delete;

  std::vector<int> receive_fds() const;
  bool Owns(int fd) const { return fd >= 0 && (fd == fd4_ || fd == fd6_); }

  // Reads the waiting packets of `fd` (at most kBatch) and hands each to
  // inbound(buffer, offset, length): buffer[offset, offset + length) is the whole IP packet,
  // offset >= kHeadroom / 2, capacity kRxBufferSize. Returns how many were read.
  template <typename F>
  size_t Receive(int fd, F&& inbound);

  static constexpr size_t kBatch = 32;
  static constexpr size_t kRxBufferSize = kHeadroom + 65536 + kTailroom;

 private:
  AhSockets() = default;
  size_t ReceiveBatch(int fd, void (*cb)(void*, uint8_t*, size_t, size_t), void* ctx);

  int fd4_ = -1, fd6_ = -1;
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(kRxBufferSize);  // RX thread only
};

template <typename F>
size_t AhSockets::Receive(int fd, F&& inbound) {
  return ReceiveBatch(
      fd,
      [](void* ctx, uint8_t* buffer, size_t offset, size_t length) {
        (*static_cast<std::remove_reference_t<F>*>(ctx))(buffer, offset, length);
      },
      &inbound);
}

}  // namespace ipsec::engine::dataplane::userspace
