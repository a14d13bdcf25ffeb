#include "engine/dataplane/userspace/link_mtu.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/dataplane/userspace/icmp_error.h"
#include "engine/esp/esp_wire.h"

namespace ipsec::engine::dataplane::userspace {
namespace {

bool Ioctl(int fd, unsigned long request, const std::string& name, ifreq& ifr) {
  if (name.size() >= IFNAMSIZ) return false;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  return ::ioctl(fd, request, &ifr) == 0;
}

}  // namespace

int LinkMtuFloor(const std::string& exclude) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int floor = 0;
  if (struct if_nameindex* list = ::if_nameindex()) {
    for (struct if_nameindex* i = list; i->if_index != 0 && i->if_name != nullptr; ++i) {
      const std::string name = i->if_name;
      ifreq ifr;
      if (name == exclude || !Ioctl(fd, SIOCGIFFLAGS, name, ifr)) continue;
      if ((ifr.ifr_flags & IFF_UP) == 0 || (ifr.ifr_flags & IFF_LOOPBACK) != 0) continue;
      if (!Ioctl(fd, SIOCGIFMTU, name, ifr) || ifr.ifr_mtu <= 0) continue;
      floor = floor == 0 ? ifr.ifr_mtu : std::min(floor, ifr.ifr_mtu);
    }
    ::if_freenameindex(list);
  }
  ::close(fd);
  return floor;
}

int CappedTunMtu(int tun_mtu, int link_floor, size_t overhead) {
  int mtu = tun_mtu;
  if (link_floor > 0) {
    mtu = std::min(mtu, link_floor - static_cast<int>(overhead));
  }
  // Never raised; lowered no further than 1280 (or the configured value, if that is smaller).
  return std::max(mtu, std::min(tun_mtu, static_cast<int>(kIpv6MinMtu)));
}

}  // namespace ipsec::engine::dataplane::userspace
