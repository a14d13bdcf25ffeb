#include "sidecar/app/pod_interfaces.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <map>

namespace ipsec::sidecar::app {
namespace {

int PrefixLength(const sockaddr* mask) {
  if (mask == nullptr) return 0;
  const uint8_t* bytes;
  int n;
  if (mask->sa_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    n = 4;
  } else {
    bytes =
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    n = 16;
  }
  int len = 0;
  for (int i = 0; i < n; ++i) len += __builtin_popcount(bytes[i]);
  return len;
}

}  // namespace

std::vector<engine::policy::PodInterface> ReadPodInterfaces(
    const std::vector<std::string>& only) {
  std::map<std::string, engine::policy::PodInterface> by_name;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    std::string name = i->ifa_name;
    if (only.empty() ? (i->ifa_flags & IFF_LOOPBACK) != 0
                     : std::find(only.begin(), only.end(), name) == only.end()) {
      continue;
    }
    IpAddress address;
    if (family == AF_INET) {
      address = IpAddress::FromV4Bytes(reinterpret_cast<const uint8_t*>(
          &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr));
    } else {
      address = IpAddress::FromV6Bytes(reinterpret_cast<const uint8_t*>(
          &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr));
      if ((address.value() >> 118) == 0x3fa) continue;  // fe80::/10 link-local
    }
    auto& pod_if = by_name[name];
    pod_if.name = name;
    pod_if.addresses.push_back({address, PrefixLength(i->ifa_netmask)});
  }
  freeifaddrs(list);
  std::vector<engine::policy::PodInterface> out;
  for (auto& [name, pod_if] : by_name) {
    std::sort(pod_if.addresses.begin(), pod_if.addresses.end(),
              [](const auto& a, const auto& b) { return a.address < b.address; });
    out.push_back(std::move(pod_if));
  }
  return out;
}

}  // namespace ipsec::sidecar::app
