#pragma once

#include "engine/common/bytes.h"
#include "engine/common/endpoint.h"

namespace ipsec::engine::net {

// A datagram received on an IKE port.
struct Datagram {
  Endpoint local;   // the address it was sent to (IP_PKTINFO), and our port: reply from here
  Endpoint remote;  // where it came from: reply to here
  // IKE: the message, without the non-ESP marker on the NAT-T port (RFC 3948 §2.2).
  // ESP-in-UDP: the ESP packet from its SPI on (RFC 3948 §2.1).
  Bytes data;
  bool on_nat_t_port = false;
};

}  // namespace ipsec::engine::net
