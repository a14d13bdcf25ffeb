#pragma once

// The TUN's MTU against the pod's links (issue 4: "the TUN MTU and the TCP MSS account for ESP
// overhead so no TCP flow stalls"). The kernel sizes TCP segments into the TUN from the TUN's
// MTU (the route's), and pod_network's nftables clamps the MSS of SYNs through the TUN to it
// (`tcp option maxseg size set rt mtu`), so the TUN MTU is what bounds every inner packet. It
// must leave room for ESP's worst case on the smallest link the ESP may leave by:
//   TUN MTU <= smallest link MTU - esp::kMaxOutboundOverhead (outer IPv6 + UDP + ESP = 121)
// Once an AH+ESP bundle (FAQ 46) is installed, its worst case counts instead:
//   TUN MTU <= smallest link MTU - esp::kMaxBundleOverhead (outer IPv6 + ESP + AH = 161)
// (the largest AH header: 12 + a 32-octet ICV, HMAC-SHA2-512-256, padded to 8 on IPv6 = 48; a
// bundle is never UDP-encapsulated), so UserspaceBackend lowers the TUN's MTU when the first
// bundled SA is added and leaves it there.
// --tun-mtu (default 1400) is lowered to that when the TUN is created (UserspaceBackend), never
// below 1280 (IPv6 needs 1280 on every link, RFC 8200 §5; below it the kernel would turn IPv6 off
// on the TUN). What still does not fit (a smaller link further on, IPv4 DF packets forwarded from
// elsewhere) is mtu_guard's: ICMP "fragmentation needed" / "packet too big".

#include <cstddef>
#include <string>

#include "engine/esp/esp_wire.h"

namespace ipsec::engine::dataplane::userspace {

// The smallest MTU among the namespace's interfaces that are up, not loopback and not
// `exclude` (the TUN); 0 when there is none.
int LinkMtuFloor(const std::string& exclude);

// What the TUN's MTU should be: `tun_mtu` capped to `link_floor` - `overhead` (when
// link_floor > 0), never below 1280. Pure.
int CappedTunMtu(int tun_mtu, int link_floor, size_t overhead = esp::kMaxOutboundOverhead);

}  // namespace ipsec::engine::dataplane::userspace
