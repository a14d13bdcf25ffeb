#include "engine/dataplane/userspace/tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

// SIOCSIFMTU on `s`, an AF_INET datagram socket.
Status SetLinkMtu(int s, const std::string& name, int mtu) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_mtu = mtu;
  if (::ioctl(s, SIOCSIFMTU, &ifr) != 0) return SysError("set MTU of " + name, errno);
  return Status::Ok();
}

// Sets the MTU and IFF_UP through an AF_INET datagram socket (SIOCSIFMTU, SIOCSIFFLAGS).
Status ConfigureLink(const std::string& name, int mtu) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return SysError("socket", errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  Status result = Status::Ok();
  // No IPv6 link-local address on the TUN: the kernel then sends no router solicitations or
  // MLD reports into it. Best effort (no IPv6: no file).
  if (FILE* f = std::fopen(("/proc/sys/net/ipv6/conf/" + name + "/addr_gen_mode").c_str(), "w")) {
    std::fputs("1", f);
    std::fclose(f);
  }
  if (result = SetLinkMtu(s, name, mtu); !result.ok()) {
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

namespace {

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

// Opens `queues` queues of the TUN `name`; with `vnet`, each with the virtio_net_hdr and the
// offloads (TUN_F_USO* too when the kernel accepts them: *uso). Error: every fd is closed.
Result<std::vector<int>> OpenQueues(const std::string& name, int queues, bool vnet, bool* uso) {
  std::vector<int> fds;
  auto fail = [&](const std::string& what, int error) -> Error {
    for (int fd : fds) ::close(fd);
    return SysError(what, error);
  };
  *uso = false;
  for (int q = 0; q < queues; ++q) {
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return fail("open /dev/net/tun", errno);
    fds.push_back(fd);
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet ? IFF_VNET_HDR : 0);
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) return fail("TUNSETIFF " + name, errno);
    if (!vnet) continue;
    int size = static_cast<int>(offload::kVnetHdrSize);
    if (::ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) return fail("TUNSETVNETHDRSZ", errno);
    const unsigned base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (q == 0) *uso = ::ioctl(fd, TUNSETOFFLOAD, base | TUN_F_USO4 | TUN_F_USO6) == 0;
    if (!*uso && ::ioctl(fd, TUNSETOFFLOAD, base) != 0) return fail("TUNSETOFFLOAD", errno);
  }
  return fds;
}

}  // namespace

Result<std::unique_ptr<TunDevice>> TunDevice::Open(const Options& options) {
  if (options.name.empty() || options.name.size() >= IFNAMSIZ) {
    return MakeError(ErrorCode::kInvalidArgument, "TUN name must be 1-15 characters");
  }
  std::unique_ptr<TunDevice> tun(new TunDevice());
  tun->name_ = options.name;
  tun->mtu_.store(options.mtu, std::memory_order_relaxed);
  const int queues = std::max(1, options.queues);
  Result<std::vector<int>> fds = MakeError(ErrorCode::kUnavailable, "not tried");
  if (options.offload) {
    fds = OpenQueues(options.name, queues, true, &tun->uso_);
    tun->vnet_hdr_ = fds.ok();
  }
  if (!fds.ok()) fds = OpenQueues(options.name, queues, false, &tun->uso_);  // no offloads
  if (!fds.ok()) return fds.error();
  tun->fds_ = std::move(fds).value();
  if (Status s = ConfigureLink(tun->name_, options.mtu); !s.ok()) return s.error();
  return tun;
}

Status TunDevice::SetMtu(int mtu) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return SysError("socket", errno);
  Status result = SetLinkMtu(s, name_, mtu);
  ::close(s);
  if (result.ok()) mtu_.store(mtu, std::memory_order_relaxed);
  return result;
}

TunDevice::~TunDevice() {
  for (int fd : fds_) ::close(fd);
}

ssize_t TunDevice::Read(int queue, uint8_t* buffer, size_t capacity, offload::VnetHdr* hdr) {
  uint8_t raw[offload::kVnetHdrSize];
  iovec iov[2] = {{raw, sizeof(raw)}, {buffer, capacity}};
  ssize_t n;
  do {
    n = vnet_hdr_ ? ::readv(fds_[queue], iov, 2) : ::read(fds_[queue], buffer, capacity);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  if (!vnet_hdr_) {
    if (hdr != nullptr) *hdr = offload::VnetHdr{};
    return n;
  }
  if (static_cast<size_t>(n) < sizeof(raw)) return -EPROTO;  // a short header: malformed
  if (hdr != nullptr) *hdr = offload::DecodeVnetHdr(raw);
  return n - static_cast<ssize_t>(sizeof(raw));
}

int TunDevice::Write(int queue, const uint8_t* packet, size_t length) {
  return Write(queue, offload::VnetHdr{}, packet, length);
}

int TunDevice::WriteV(int queue, const offload::VnetHdr& hdr, const iovec* iov, size_t count) {
  if (!vnet_hdr_ || count > kMaxWriteParts) return EINVAL;
  uint8_t raw[offload::kVnetHdrSize];
  offload::EncodeVnetHdr(hdr, raw);
  iovec all[kMaxWriteParts + 1];
  all[0] = {raw, sizeof(raw)};
  std::copy(iov, iov + count, all + 1);
  ssize_t n;
  do {
    n = ::writev(fds_[queue], all, static_cast<int>(count + 1));
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

int TunDevice::Write(int queue, const offload::VnetHdr& hdr, const uint8_t* packet, size_t length) {
  uint8_t raw[offload::kVnetHdrSize];
  offload::EncodeVnetHdr(hdr, raw);
  iovec iov[2] = {{raw, sizeof(raw)}, {const_cast<uint8_t*>(packet), length}};
  ssize_t n;
  do {
    n = vnet_hdr_ ? ::writev(fds_[queue], iov, 2) : ::write(fds_[queue], packet, length);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

}  // namespace ipsec::engine::dataplane::userspace
