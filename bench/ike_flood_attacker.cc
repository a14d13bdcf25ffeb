#include "bench/ike_flood_attacker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <random>
#include <thread>
#include <vector>

#include "engine/ike/codec/message.h"

namespace ipsec::bench {
namespace {

namespace codec = engine::ike::codec;
using Clock = std::chrono::steady_clock;

constexpr size_t kBatch = 64;
constexpr size_t kMaxDatagram = 2048;
constexpr size_t kHeaderSize = 28;          // RFC 7296 §3.1
constexpr uint8_t kPayloadNotify = 41;      // §3.2
constexpr uint16_t kNotifyCookie = 16390;   // §3.10.1
constexpr uint8_t kExchangeIkeSaInit = 34;  // §3.1
constexpr uint8_t kFlagResponse = 0x20;
constexpr size_t kMaxPendingCookies = 200000;

// IKE_SA_INIT request: HDR, SAi1 (aes128gcm16-prfsha256-x25519, the bench's proposal), KEi,
// Ni. The SPIi is patched per datagram; Ni and KEi stay (the cookie covers Ni, IPi, SPIi).
Bytes MakeTemplate() {
  std::mt19937_64 rng(std::random_device{}());
  auto random_bytes = [&](size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  codec::Proposal p;
  p.number = 1;
  p.protocol = codec::ProtocolId::kIke;
  p.transforms = {
      {codec::TransformType::kEncr, static_cast<uint16_t>(codec::EncrId::kAesGcm16), 128, {}},
      {codec::TransformType::kPrf, static_cast<uint16_t>(codec::PrfId::kHmacSha2_256), {}, {}},
      {codec::TransformType::kDh, static_cast<uint16_t>(codec::DhGroup::kCurve25519), {}, {}},
  };
  codec::Message m;
  m.header.initiator_spi = 1;
  m.header.exchange_type = codec::ExchangeType::kIkeSaInit;
  m.header.flags = codec::kFlagInitiator;
  m.payloads.push_back({codec::PayloadType::kSa, false, codec::SaPayload{{p}}});
  m.payloads.push_back({codec::PayloadType::kKe, false,
                        codec::KePayload{codec::DhGroup::kCurve25519, random_bytes(32)}});
  m.payloads.push_back({codec::PayloadType::kNonce, false, codec::NoncePayload{random_bytes(32)}});
  return codec::EncodeMessage(m);
}

void PutUint64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint64_t GetUint64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}
void PutUint32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
void PutUint16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

struct PendingCookie {
  uint64_t spi = 0;
  Bytes cookie;
};

// Writes the request for `spi` (with `cookie` first when given) into `out`; its length.
size_t BuildRequest(const Bytes& tmpl, uint64_t spi, const Bytes* cookie, uint8_t* out) {
  if (cookie == nullptr) {
    std::memcpy(out, tmpl.data(), tmpl.size());
    PutUint64(out, spi);
    return tmpl.size();
  }
  // HDR (next payload N), N(COOKIE) (next payload: the template's first), the template's rest.
  const size_t notify = 8 + cookie->size();
  const size_t total = tmpl.size() + notify;
  std::memcpy(out, tmpl.data(), kHeaderSize);
  PutUint64(out, spi);
  out[16] = kPayloadNotify;
  PutUint32(out + 24, static_cast<uint32_t>(total));
  uint8_t* n = out + kHeaderSize;
  n[0] = tmpl[16];  // next payload
  n[1] = 0;
  PutUint16(n + 2, static_cast<uint16_t>(notify));
  n[4] = 0;  // protocol: none
  n[5] = 0;  // SPI size
  PutUint16(n + 6, kNotifyCookie);
  std::memcpy(n + 8, cookie->data(), cookie->size());
  std::memcpy(n + notify, tmpl.data() + kHeaderSize, tmpl.size() - kHeaderSize);
  return total;
}

}  // namespace

std::string FloodStats::Lines() const {
  return "sent_initial " + std::to_string(sent_initial) + "\nsent_with_cookie " +
         std::to_string(sent_with_cookie) + "\nsend_failures " + std::to_string(send_failures) +
         "\ncookies " + std::to_string(cookies) + "\nresponses " + std::to_string(responses) +
         "\nother " + std::to_string(other) + "\nseconds " + std::to_string(seconds) + "\n";
}

bool RunFlood(const FloodOptions& o, FloodStats* stats, std::string* error) {
  in_addr target{}, first{};
  if (inet_pton(AF_INET, o.target.c_str(), &target) != 1 ||
      inet_pton(AF_INET, o.first_source.c_str(), &first) != 1 || o.sources == 0) {
    *error = "bad --target, --first-source or --sources";
    return false;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1, rcvbuf = 32 << 20, sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(o.port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    *error = std::string("bind 0.0.0.0:") + std::to_string(o.port) + ": " + std::strerror(errno);
    close(fd);
    return false;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(o.port);
  to.sin_addr = target;

  const Bytes tmpl = MakeTemplate();
  const uint64_t salt = static_cast<uint64_t>(std::random_device{}()) << 40 | 1ull << 63;
  const uint32_t first_host = ntohl(first.s_addr);
  uint64_t round = 0;
  uint32_t next_source = 0;
  std::deque<PendingCookie> pending;

  // Send side: kBatch datagrams, each with its own source address (IP_PKTINFO).
  std::vector<std::array<uint8_t, kMaxDatagram>> out(kBatch);
  std::vector<std::array<uint8_t, CMSG_SPACE(sizeof(in_pktinfo))>> control(kBatch);
  std::vector<iovec> out_iov(kBatch);
  std::vector<mmsghdr> out_msgs(kBatch);
  auto fill = [&](size_t i, uint64_t spi, const Bytes* cookie) {
    const uint32_t index = static_cast<uint32_t>(spi & 0xffffffffu);
    out_iov[i] = {out[i].data(), BuildRequest(tmpl, spi, cookie, out[i].data())};
    msghdr& h = out_msgs[i].msg_hdr;
    h = {};
    h.msg_name = &to;
    h.msg_namelen = sizeof(to);
    h.msg_iov = &out_iov[i];
    h.msg_iovlen = 1;
    h.msg_control = control[i].data();
    h.msg_controllen = control[i].size();
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr = htonl(first_host + index);
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  };
  // Receive side.
  std::vector<std::array<uint8_t, kMaxDatagram>> in(kBatch);
  std::vector<iovec> in_iov(kBatch);
  std::vector<mmsghdr> in_msgs(kBatch);
  auto receive = [&] {
    for (;;) {
      for (size_t i = 0; i < kBatch; ++i) {
        in_iov[i] = {in[i].data(), in[i].size()};
        in_msgs[i].msg_hdr = {};
        in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
        in_msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(fd, in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) {
        const uint8_t* d = in[i].data();
        const size_t len = in_msgs[i].msg_len;
        if (len < kHeaderSize + 8 || d[18] != kExchangeIkeSaInit || !(d[19] & kFlagResponse)) {
          ++stats->other;
          continue;
        }
        const uint8_t* p = d + kHeaderSize;
        const size_t plen = static_cast<size_t>(p[2]) << 8 | p[3];
        const uint16_t type = static_cast<uint16_t>(p[6] << 8 | p[7]);
        if (d[16] == kPayloadNotify && type == kNotifyCookie && plen > 8 &&
            kHeaderSize + plen <= len) {
          ++stats->cookies;
          if (pending.size() < kMaxPendingCookies) {
            pending.push_back({GetUint64(d), Bytes(p + 8, p + plen)});
          }
        } else {
          ++stats->responses;
        }
      }
    }
  };

  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  uint64_t sent = 0;
  std::vector<bool> with_cookie(kBatch);
  for (auto now = start; now < end; now = Clock::now()) {
    size_t due = kBatch;
    if (o.rate != 0) {
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const uint64_t target_sent = static_cast<uint64_t>(elapsed * o.rate);
      due = target_sent > sent ? std::min<uint64_t>(kBatch, target_sent - sent) : 0;
    }
    size_t n = 0;
    while (n < due && !pending.empty()) {
      fill(n, pending.front().spi, &pending.front().cookie);
      with_cookie[n++] = true;
      pending.pop_front();
    }
    while (n < due) {
      if (next_source == o.sources) {
        next_source = 0;
        ++round;
      }
      fill(n, salt | round << 32 | next_source++, nullptr);
      with_cookie[n++] = false;
    }
    size_t done = 0;
    while (done < n) {
      int r = sendmmsg(fd, out_msgs.data() + done, static_cast<unsigned>(n - done), 0);
      if (r <= 0) {
        stats->send_failures += n - done;  // ENOBUFS/EAGAIN: the kernel is full
        break;
      }
      done += static_cast<size_t>(r);
    }
    for (size_t i = 0; i < done; ++i)
      ++(with_cookie[i] ? stats->sent_with_cookie : stats->sent_initial);
    sent += n;
    receive();
    if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  // Answers still on their way.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  receive();
  stats->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  return true;
}

}  // namespace ipsec::bench
