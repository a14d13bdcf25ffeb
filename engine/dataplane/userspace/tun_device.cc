#include "engine/dataplane/userspace/tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ipsec::engine::dataplane::userspace {
namespace {

// Packets the kernel queues for us before it drops (the default 500 overflowed under a TCP
// stream while a worker was busy, and each drop cost the stream a retransmit).
constexpr int kTxQueueLength = 4096;

Error SysError(const std::string& what, int error) {
  return MakeError(ErrorCode::kUnavailable, what + ": " + std::strerror(error));
}

// Sets the MTU and IFF_UP through an AF_INET datagram socket (SIOCSIFMTU, SIOCSIFFLAGS).
Status ConfigureLink(const std::string& name, int mtu) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return SysError("socket", errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = mtu;
  Status result = Status::Ok();
  // No IPv6 link-local address on the TUN: the kernel then sends no router solicitations or
  // MLD reports into it. Best effort (no IPv6: no file).
  if (FILE* f = std::fopen(("/proc/sys/net/ipv6/conf/" + name + "/addr_gen_mode").c_str(), "w")) {
    std::fputs("1", f);
    std::fclose(f);
  }
  if (::ioctl(s, SIOCSIFMTU, &ifr) != 0) {
    result = SysError("set MTU of " + name, errno);
  } else if (ifr.ifr_qlen = kTxQueueLength; ::ioctl(s, SIOCSIFTXQLEN, &ifr) != 0) {
    result = SysError("set the queue length of " + name, errno);
  } else if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    result = SysError("get flags of " + name, errno);
  } else {
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) result = SysError("bring up " + name, errno);
  }
  ::close(s);
  return result;
}

}  // namespace

Result<std::unique_ptr<TunDevice>> TunDevice::Open(const Options& options) {
  if (options.name.empty() || options.name.size() >= IFNAMSIZ) {
    return MakeError(ErrorCode::kInvalidArgument, "TUN name must be 1-15 characters");
  }
  std::unique_ptr<TunDevice> tun(new TunDevice());
  tun->name_ = options.name;
  tun->mtu_ = options.mtu;
  for (int q = 0; q < std::max(1, options.queues); ++q) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return SysError("open /dev/net/tun", errno);
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE;
    std::strncpy(ifr.ifr_name, options.name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
      const int error = errno;
      ::close(fd);
      return SysError("TUNSETIFF " + options.name, error);
    }
    tun->fds_.push_back(fd);
  }
  if (Status s = ConfigureLink(tun->name_, tun->mtu_); !s.ok()) return s.error();
  return tun;
}

TunDevice::~TunDevice() {
  for (int fd : fds_) ::close(fd);
}

ssize_t TunDevice::Read(int queue, uint8_t* buffer, size_t capacity) {
  ssize_t n;
  do {
    n = ::read(fds_[queue], buffer, capacity);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  return n;
}

int TunDevice::Write(int queue, const uint8_t* packet, size_t length) {
  ssize_t n;
  do {
    n = ::write(fds_[queue], packet, length);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

}  // namespace ipsec::engine::dataplane::userspace
