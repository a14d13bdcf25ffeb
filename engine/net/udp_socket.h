#pragma once

// UdpSocket: one bound, non-blocking UDP socket with the address plumbing asio lacks. Receives
// report the datagram's destination address (IP_PKTINFO / IPV6_RECVPKTINFO), and sends choose
// their source address (IP_PKTINFO / IPV6_PKTINFO), so that on a wildcard socket a reply leaves
// from the address its request arrived on (RFC 7296 §2.11: responses go back from where the
// request came to). Errors are returned as errno values, never thrown. Internal to engine/net.
//
// Receive, WaitReadable and Close must run on the loop thread; Send may run on any thread
// until Close (sendmsg on one descriptor is thread-safe).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "engine/common/bytes.h"
#include "engine/common/endpoint.h"
#include "engine/common/result.h"

namespace ipsec::engine::net {

class UdpSocket {
 public:
  // Opens a socket of `local`'s family and binds it (port 0: an ephemeral port). IPv6 sockets
  // are IPV6_V6ONLY, so an IPv4 wildcard socket on the same port can coexist. A non-zero
  // `receive_buffer_bytes` sizes the kernel's receive queue (SO_RCVBUFFORCE when permitted,
  // else SO_RCVBUF, which net.core.rmem_max caps). `reuse_port` sets SO_REUSEPORT before the
  // bind: the NAT-T socket is the first of a group the data path joins to take ESP-in-UDP
  // (engine/dataplane/userspace/esp_io.h steers by the non-ESP marker with a BPF program).
  // A non-zero `mark` is the socket's SO_MARK (needs CAP_NET_ADMIN; failing is an error).
  static Result<std::unique_ptr<UdpSocket>> Bind(boost::asio::io_context& context,
                                                 const Endpoint& local,
                                                 int receive_buffer_bytes = 0,
                                                 bool reuse_port = false, uint32_t mark = 0);

  // The bound address and the actual port.
  const Endpoint& local() const { return local_; }
  bool is_wildcard() const;

  struct Received {
    Endpoint local;  // the datagram's destination address, and our port
    Endpoint remote;
    size_t size = 0;         // bytes in the buffer
    bool truncated = false;  // the datagram was larger than the buffer
    // Datagrams the kernel dropped (receive queue full) since the previous Receive reported
    // (SO_RXQ_OVFL).
    uint32_t kernel_drops = 0;
  };
  // Reads one datagram without blocking: 0, EAGAIN when none is waiting, or another errno.
  int Receive(MutableByteSpan buffer, Received& out);

  // Sends the concatenation of `parts` to `remote`, from `source` when the socket is a
  // wildcard and `source` is specified (else the kernel picks). 0 or an errno.
  int Send(const IpAddress& source, const Endpoint& remote, std::span<const ByteSpan> parts);

  // Calls `on_ready(true)` on the loop thread once the socket is readable, or `on_ready(false)`
  // when the wait was cancelled (Close).
  void WaitReadable(std::function<void(bool readable)> on_ready);
  void Close();

 private:
  UdpSocket(boost::asio::ip::udp::socket socket, const Endpoint& local);

  boost::asio::ip::udp::socket socket_;
  const Endpoint local_;
  uint32_t drops_seen_ = 0;  // loop thread: the last SO_RXQ_OVFL count
};

}  // namespace ipsec::engine::net
