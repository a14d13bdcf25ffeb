#include "engine/net/nat_t_framing.h"

namespace ipsec::engine::net {

NatTDatagram ClassifyNatTDatagram(ByteSpan datagram) {
  if (datagram.size() == 1 && datagram[0] == kNatKeepalive) {
    return {NatTDatagramKind::kKeepalive, {}};  // RFC 3948 §2.3
  }
  if (datagram.size() < kNonEspMarkerSize) return {NatTDatagramKind::kMalformed, {}};
  const bool marker = datagram[0] == 0 && datagram[1] == 0 && datagram[2] == 0 && datagram[3] == 0;
  if (marker) {
    // RFC 3948 §2.2: a marker with nothing behind it is no IKE message.
    if (datagram.size() == kNonEspMarkerSize) return {NatTDatagramKind::kMalformed, {}};
    return {NatTDatagramKind::kIke, datagram.subspan(kNonEspMarkerSize)};
  }
  // RFC 3948 §2.1: the SPI field "MUST NOT be zero"; ESP needs at least SPI and sequence number.
  if (datagram.size() < kMinEspSize) return {NatTDatagramKind::kMalformed, {}};
  return {NatTDatagramKind::kEsp, datagram};
}

}  // namespace ipsec::engine::net
