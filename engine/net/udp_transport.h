#pragma once

// UdpTransport: the IKE ports (RFC 7296 §2: UDP 500; RFC 3948 / RFC 7296 §2.23: UDP 4500 for
// NAT traversal) on a set of local addresses, as the IKE engine's PacketSink. It receives
// datagrams with the local address they were sent to, frames IKE on the NAT-T port (strips and
// prepends the non-ESP marker), drops NAT keepalives, and routes UDP-encapsulated ESP to a
// separate handler (the userspace data path, issue 4). Every I/O error and bad datagram is
// counted, never thrown.
//
// Threads: handlers run on the EventLoop's thread. Start and Close may be called from any
// thread. SendIke, SendNatKeepalive and SendEsp may be called from any thread until Close
// begins (IKE calls them from the loop thread). The EventLoop is not owned and must outlive
// the transport.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/endpoint.h"
#include "engine/common/ip_address.h"
#include "engine/common/packet_sink.h"
#include "engine/common/result.h"
#include "engine/net/datagram.h"
#include "engine/net/event_loop.h"
#include "engine/net/nat_t_framing.h"

namespace ipsec::engine::net {

struct UdpTransportOptions {
  // Addresses to bind both ports on. Empty: 0.0.0.0 and :: (IPV6_V6ONLY; :: left out when the
  // kernel has no IPv6); replies then leave from the address each request arrived on.
  std::vector<IpAddress> local_addresses;
  uint16_t ike_port = kIkePort;     // 0: an ephemeral port (tests), the same on every address
  uint16_t nat_t_port = kNatTPort;  // 0: likewise
  // Larger datagrams are dropped and counted as too large (at most kMaxDatagramSize).
  size_t max_datagram_size = kMaxDatagramSize;
  // Datagrams read from one socket per wake-up before other work gets a turn.
  size_t receive_batch = 64;
  // The kernel's receive queue per socket, in bytes; 0: the system default (about 200 KiB,
  // some hundreds of IKE_SA_INIT requests). Raised with SO_RCVBUFFORCE under CAP_NET_ADMIN,
  // else capped by net.core.rmem_max. What overflows is counted as kernel_drops.
  int receive_buffer_bytes = 0;
  // Non-zero: SO_MARK of the NAT-T port's sockets. The userspace data path's ESP-in-UDP sockets
  // join their SO_REUSEPORT group with its bypass mark (esp_io.h), and an ICMP error about our
  // ESP in UDP may be matched to any member (Linux picks one by hash when the error has no skb
  // to run the group's BPF program on); the member's mark is part of the route lookup that
  // records the path MTU (ip6_sk_update_pmtu / ipv4_sk_update_pmtu use sk_mark), so every member
  // must carry the data path's mark for the path MTU to land on the route its ESP uses.
  uint32_t nat_t_mark = 0;
};

// Called on the loop thread, one datagram at a time.
using DatagramHandler = std::function<void(Datagram)>;

struct UdpTransportHandlers {
  DatagramHandler ike;  // IKE messages from both ports
  DatagramHandler esp;  // ESP-in-UDP from the NAT-T port; empty: counted and dropped
};

// A snapshot of the transport's counters.
struct UdpTransportCounters {
  uint64_t received = 0;             // datagrams read, of every kind
  uint64_t ike_received = 0;         // handed to the IKE handler
  uint64_t esp_received = 0;         // ESP-in-UDP (RFC 3948 §2.1), whether handled or not
  uint64_t keepalives_received = 0;  // NAT-keepalives (RFC 3948 §2.3), dropped
  uint64_t malformed = 0;            // empty, or shorter than their first octets claim
  uint64_t too_large = 0;            // received over max_datagram_size, or asked to send so
  uint64_t unhandled = 0;            // no handler set for their kind
  uint64_t handler_errors = 0;       // a handler threw
  uint64_t receive_errors = 0;
  uint64_t kernel_drops = 0;  // dropped by the kernel, receive queue full (SO_RXQ_OVFL)
  uint64_t sent = 0;          // datagrams sent, of every kind
  uint64_t keepalives_sent = 0;
  uint64_t esp_sent = 0;
  uint64_t send_errors = 0;  // no matching socket, or sendmsg failed
};

class UdpTransport final : public PacketSink {
 public:
  // Binds both ports on every address. Fails with the address and reason (e.g. "bind
  // 0.0.0.0:500: Permission denied" without CAP_NET_BIND_SERVICE). Receiving begins at Start.
  static Result<std::unique_ptr<UdpTransport>> Open(EventLoop& loop, UdpTransportOptions options);
  ~UdpTransport() override;  // Close()
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Installs the handlers and starts receiving on the loop thread. Call once. Any thread.
  void Start(UdpTransportHandlers handlers);
  // Replaces the ESP-in-UDP handler. Must run on the loop thread (or before Start).
  void SetEspHandler(DatagramHandler esp);
  // Stops receiving and closes the sockets; handlers are released on the loop thread (inline
  // when the loop has stopped). Any thread; idempotent.
  void Close();

  // PacketSink. `local` picks the socket by address (exact, else the family's wildcard) and
  // port; `local.port == nat_t_port()` adds the non-ESP marker (RFC 3948 §2.2). An unspecified
  // `local.address` lets the kernel choose the source.
  void SendIke(const Endpoint& local, const Endpoint& remote, ByteSpan message) override;
  // One 0xFF octet from the NAT-T socket (RFC 3948 §2.3).
  void SendNatKeepalive(const Endpoint& local, const Endpoint& remote) override;
  // An ESP packet (from its SPI on) from the NAT-T socket, without marker (RFC 3948 §2.1).
  void SendEsp(const Endpoint& local, const Endpoint& remote, ByteSpan packet);

  uint16_t ike_port() const;
  uint16_t nat_t_port() const;
  // Every bound socket's address and port.
  std::vector<Endpoint> local_endpoints() const;
  UdpTransportCounters counters() const;

 private:
  struct Impl;
  explicit UdpTransport(std::shared_ptr<Impl> impl);

  // Shared with queued completions, which check that the transport is still open.
  std::shared_ptr<Impl> impl_;
};

}  // namespace ipsec::engine::net
