#pragma once

#include "engine/common/bytes.h"
#include "engine/common/endpoint.h"

namespace ipsec {

// Where the IKE engine's datagrams go (engine/net implements it with UDP sockets; tests with a
// recorder or a direct link to another in-process peer). `local` selects the source address
// and port: 500, or 4500 once NAT-T floated (RFC 7296 §2.23). On port 4500 the sink prepends
// the four-byte non-ESP marker (RFC 3948 §2.2). Sending is best effort, like UDP.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void SendIke(const Endpoint& local, const Endpoint& remote, ByteSpan message) = 0;
  // A NAT-T keepalive: one 0xFF byte from the 4500 socket (RFC 3948 §2.3).
  virtual void SendNatKeepalive(const Endpoint& local, const Endpoint& remote) = 0;
};

}  // namespace ipsec
