#include "engine/dataplane/userspace/offload.h"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ipsec::engine::dataplane::userspace::offload {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the vnet header (legacy virtio) and Sum assume a little-endian host");

constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpAck = 0x10, kTcpEce = 0x40, kTcpCwr = 0x80;
constexpr uint8_t kTcp = 6, kUdp = 17;

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
uint16_t Add16(uint32_t a, uint32_t b) {
  uint32_t s = a + b;
  s = (s & 0xFFFF) + (s >> 16);
  s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// The IPv4 header checksum (RFC 791 §3.1) into bytes 10-11.
void SetIpv4Checksum(uint8_t* ip, size_t header) {
  ip[10] = ip[11] = 0;
  Store16(ip + 10, static_cast<uint16_t>(~Sum(ip, header)));
}

}  // namespace

VnetHdr DecodeVnetHdr(const uint8_t* p) {
  VnetHdr h;
  h.flags = p[0];
  h.gso_type = p[1];
  std::memcpy(&h.hdr_len, p + 2, 2);  // host byte order (legacy virtio_net_hdr on TUN)
  std::memcpy(&h.gso_size, p + 4, 2);
  std::memcpy(&h.csum_start, p + 6, 2);
  std::memcpy(&h.csum_offset, p + 8, 2);
  return h;
}

void EncodeVnetHdr(const VnetHdr& h, uint8_t* p) {
  p[0] = h.flags;
  p[1] = h.gso_type;
  std::memcpy(p + 2, &h.hdr_len, 2);
  std::memcpy(p + 4, &h.gso_size, 2);
  std::memcpy(p + 6, &h.csum_start, 2);
  std::memcpy(p + 8, &h.csum_offset, 2);
}

namespace {

#if defined(__x86_64__)
// The bulk of Sum with AVX2 (issue 4: the checksums of every TCP segment sent and merged were
// ~6% of the data path's threads): 32-bit words zero-extended into four 64-bit lanes each of
// two accumulators, 64 octets per round. Returns the (unfolded) total; advances data/length.
__attribute__((target("avx2"))) uint64_t SumAvx2(const uint8_t*& data, size_t& length) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i a = zero, b = zero, c = zero, d = zero;
  while (length >= 64) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data));
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32));
    a = _mm256_add_epi64(a, _mm256_unpacklo_epi32(v, zero));
    b = _mm256_add_epi64(b, _mm256_unpackhi_epi32(v, zero));
    c = _mm256_add_epi64(c, _mm256_unpacklo_epi32(w, zero));
    d = _mm256_add_epi64(d, _mm256_unpackhi_epi32(w, zero));
    data += 64;
    length -= 64;
  }
  // Each lane holds at most 2^11 32-bit words for a 64 KB packet: no overflow anywhere.
  const __m256i t = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), t);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

bool HaveAvx2() {
  static const bool have = __builtin_cpu_supports("avx2");
  return have;
}
#endif

}  // namespace

uint16_t Sum(const uint8_t* data, size_t length, uint16_t initial) {
  // RFC 1071 §2(B): the sum is byte-order independent, so add little-endian words and swap
  // the folded result. 32-bit loads into a 64-bit accumulator cannot overflow below 2^32 words.
  uint64_t acc = __builtin_bswap16(initial);
#if defined(__x86_64__)
  if (length >= 128 && HaveAvx2()) acc += SumAvx2(data, length);
#endif
  while (length >= 16) {
    uint32_t w[4];
    std::memcpy(w, data, 16);
    acc += uint64_t{w[0]} + w[1] + w[2] + w[3];
    data += 16;
    length -= 16;
  }
  while (length >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    acc += w;
    data += 4;
    length -= 4;
  }
  if (length >= 2) {
    uint16_t w;
    std::memcpy(&w, data, 2);
    acc += w;
    data += 2;
    length -= 2;
  }
  if (length == 1) acc += data[0];  // the odd octet is the high half of a big-endian word
  acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  acc = (acc & 0xFFFFFFFF) + (acc >> 32);
  acc = (acc & 0xFFFF) + (acc >> 16);
  acc = (acc & 0xFFFF) + (acc >> 16);
  return __builtin_bswap16(static_cast<uint16_t>(acc));
}

uint16_t PseudoHeaderSum(const uint8_t* ip, bool v4, uint8_t protocol, size_t l4_length) {
  // RFC 9293 §3.1 (IPv4: source, destination, zero, protocol, length); RFC 8200 §8.1 (IPv6:
  // source, destination, 32-bit length, zeros, next header).
  uint16_t s = v4 ? Sum(ip + 12, 8) : Sum(ip + 8, 32);
  s = Add16(s, protocol);
  s = Add16(s, static_cast<uint32_t>(l4_length >> 16));
  return Add16(s, static_cast<uint32_t>(l4_length & 0xFFFF));
}

std::optional<SplitPlan> PlanSplit(const VnetHdr& h, uint8_t* p, size_t length) {
  if (length < 20 || length > kMaxIpPacket) return std::nullopt;
  const uint8_t version = p[0] >> 4;
  if (version != 4 && version != 6) return std::nullopt;
  SplitPlan plan;
  plan.v4 = version == 4;
  const uint8_t gso = h.gso_type & static_cast<uint8_t>(~kGsoEcn);
  if (gso == kGsoNone) {
    if (h.flags & kFlagNeedsCsum) {
      // The field holds the pseudo-header sum; the checksum covers csum_start to the end.
      const size_t start = h.csum_start, field = start + h.csum_offset;
      if (start >= length || field + 2 > length || field < start) return std::nullopt;
      const uint16_t partial = Load16(p + field);
      p[field] = p[field + 1] = 0;
      uint16_t c = static_cast<uint16_t>(~Sum(p + start, length - start, partial));
      if (c == 0 && h.csum_offset == 6) c = 0xFFFF;  // UDP: 0 means "none" (RFC 768)
      Store16(p + field, c);
    }
    plan.payload = length;
    plan.max_segment = length;
    return plan;
  }
  if (gso != kGsoTcpv4 && gso != kGsoTcpv6 && gso != kGsoUdpL4) return std::nullopt;
  if ((gso == kGsoTcpv4 && !plan.v4) || (gso == kGsoTcpv6 && plan.v4)) return std::nullopt;
  if (h.gso_size == 0) return std::nullopt;
  if (plan.v4) {
    plan.ip_header = static_cast<size_t>(p[0] & 0x0F) * 4;
    if (plan.ip_header < 20 || plan.ip_header > length) return std::nullopt;
    if (Load16(p + 6) & 0x3FFF) return std::nullopt;  // a fragment (MF or an offset)
    plan.protocol = p[9];
  } else {
    if (length < 40) return std::nullopt;
    plan.ip_header = 40;  // the kernel's GSO packets carry no extension headers here
    plan.protocol = p[6];
  }
  if (plan.protocol != (gso == kGsoUdpL4 ? kUdp : kTcp)) return std::nullopt;
  if ((h.flags & kFlagNeedsCsum) && h.csum_start != plan.ip_header) return std::nullopt;
  size_t l4_header = 8;
  if (plan.protocol == kTcp) {
    if (plan.ip_header + 20 > length) return std::nullopt;
    l4_header = static_cast<size_t>(p[plan.ip_header + 12] >> 4) * 4;
    if (l4_header < 20) return std::nullopt;
  }
  plan.header_length = plan.ip_header + l4_header;
  if (plan.header_length >= length) return std::nullopt;  // no payload to segment
  plan.gso = true;
  plan.gso_size = h.gso_size;
  if (plan.header_length + plan.gso_size > kMaxIpPacket) return std::nullopt;  // oversize
  plan.payload = length - plan.header_length;
  plan.segments = (plan.payload + plan.gso_size - 1) / plan.gso_size;
  plan.max_segment = plan.header_length + std::min(plan.gso_size, plan.payload);
  return plan;
}

size_t WriteSegment(const SplitPlan& plan, const uint8_t* packet, size_t index, uint8_t* out) {
  const size_t hl = plan.header_length;
  const size_t total = WriteSegmentHeader(plan, packet, index, out);
  std::memcpy(out + hl, packet + hl + index * plan.gso_size, total - hl);
  return total;
}

size_t WriteSegmentHeader(const SplitPlan& plan, const uint8_t* packet, size_t index,
                          uint8_t* out) {
  const size_t hl = plan.header_length, ihl = plan.ip_header;
  const size_t start = index * plan.gso_size;
  const size_t n = std::min(plan.gso_size, plan.payload - start);
  const size_t total = hl + n;
  const uint8_t* payload = packet + hl + start;
  std::memcpy(out, packet, hl);
  if (plan.v4) {
    Store16(out + 2, static_cast<uint16_t>(total));                       // RFC 791: total length
    Store16(out + 4, static_cast<uint16_t>(Load16(packet + 4) + index));  // id, as Linux's GSO
    SetIpv4Checksum(out, ihl);
  } else {
    Store16(out + 4, static_cast<uint16_t>(total - 40));  // RFC 8200 §3: payload length
  }
  uint8_t* l4 = out + ihl;
  const size_t l4_length = total - ihl;
  if (plan.protocol == kTcp) {
    // RFC 9293 §3.1: each segment's sequence number is the first octet it carries.
    Store32(l4 + 4, Load32(packet + ihl + 4) + static_cast<uint32_t>(start));
    if (index + 1 != plan.segments) l4[13] &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    if (index != 0) l4[13] &= static_cast<uint8_t>(~kTcpCwr);  // RFC 3168 §6.1.2: CWR once
    l4[16] = l4[17] = 0;
    // The header's length is a multiple of 4, so the payload's sum continues it.
    const uint16_t h = Sum(l4, hl - ihl, PseudoHeaderSum(out, plan.v4, kTcp, l4_length));
    Store16(l4 + 16, static_cast<uint16_t>(~Sum(payload, n, h)));
  } else {
    Store16(l4 + 4, static_cast<uint16_t>(l4_length));  // RFC 768: length
    l4[6] = l4[7] = 0;
    const uint16_t h = Sum(l4, hl - ihl, PseudoHeaderSum(out, plan.v4, kUdp, l4_length));
    uint16_t c = static_cast<uint16_t>(~Sum(payload, n, h));
    Store16(l4 + 6, c == 0 ? 0xFFFF : c);
  }
  return total;
}

// --- TcpCoalescer -----------------------------------------------------------------------------

TcpCoalescer::TcpCoalescer() = default;

void TcpCoalescer::Sink::WriteV(const VnetHdr& h, const iovec* iov, size_t count, size_t length) {
  std::vector<uint8_t> packet;
  packet.reserve(length);
  for (size_t i = 0; i < count; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    packet.insert(packet.end(), p, p + iov[i].iov_len);
  }
  Write(h, packet.data(), packet.size());
}

void TcpCoalescer::Start(Flow& f, const uint8_t* p, size_t length, bool v4, size_t ip_header,
                         size_t tcp_header) {
  const size_t hl = ip_header + tcp_header;
  std::memcpy(f.hdr.data(), p, hl);
  f.payload[0] = {const_cast<uint8_t*>(p + hl), length - hl};
  f.length = length;
  f.v4 = v4;
  f.ip_header = ip_header;
  f.tcp_header = tcp_header;
  f.gso_size = length - hl;
  f.count = 1;
  f.next_seq = Load32(p + ip_header + 4) + static_cast<uint32_t>(f.gso_size);
  f.closed = (p[ip_header + 13] & kTcpPsh) != 0;
}

void TcpCoalescer::Emit(Flow& f, Sink& sink) {
  if (f.length == 0) return;
  uint8_t* b = f.hdr.data();
  iovec iov[kMaxSegments + 1];
  iov[0] = {b, f.ip_header + f.tcp_header};
  std::copy(f.payload.begin(), f.payload.begin() + static_cast<long>(f.count), iov + 1);
  if (f.count == 1) {
    sink.WriteV(VnetHdr{}, iov, 2, f.length);  // unchanged: its own checksum is valid
    f.length = 0;
    return;
  }
  if (f.v4) {
    Store16(b + 2, static_cast<uint16_t>(f.length));
    SetIpv4Checksum(b, f.ip_header);
  } else {
    Store16(b + 4, static_cast<uint16_t>(f.length - 40));
  }
  // NEEDS_CSUM: the field holds the pseudo-header sum, as the kernel's CHECKSUM_PARTIAL.
  Store16(b + f.ip_header + 16, PseudoHeaderSum(b, f.v4, kTcp, f.length - f.ip_header));
  VnetHdr h;
  h.flags = kFlagNeedsCsum;
  h.gso_type = f.v4 ? kGsoTcpv4 : kGsoTcpv6;
  h.hdr_len = static_cast<uint16_t>(f.ip_header + f.tcp_header);
  h.gso_size = static_cast<uint16_t>(f.gso_size);
  h.csum_start = static_cast<uint16_t>(f.ip_header);
  h.csum_offset = 16;
  sink.WriteV(h, iov, f.count + 1, f.length);
  f.length = 0;
}

void TcpCoalescer::Flush(Sink& sink) {
  for (Flow& f : flows_) Emit(f, sink);
}

void TcpCoalescer::Add(const uint8_t* p, size_t length, Sink& sink) {
  auto pass = [&] { sink.Write(VnetHdr{}, p, length); };
  if (length < 40) return pass();
  const bool v4 = (p[0] >> 4) == 4;
  size_t ihl;
  if (v4) {
    if (p[9] != kTcp || (Load16(p + 6) & 0x1FFF) != 0) return pass();  // not TCP, a later fragment
    ihl = static_cast<size_t>(p[0] & 0x0F) * 4;
    if (ihl < 20 || ihl + 20 > length) return pass();
  } else if ((p[0] >> 4) == 6) {
    if (p[6] != kTcp || length < 60) return pass();
    ihl = 40;
  } else {
    return pass();
  }
  // The flow this packet belongs to, if one is open: same family, addresses, ports.
  const uint8_t* addr = v4 ? p + 12 : p + 8;
  const size_t addr_len = v4 ? 8 : 32;
  Flow* flow = nullptr;
  for (Flow& f : flows_) {
    if (f.length != 0 && f.v4 == v4 &&
        std::memcmp(f.hdr.data() + (v4 ? 12 : 8), addr, addr_len) == 0 &&
        std::memcmp(f.hdr.data() + f.ip_header, p + ihl, 4) == 0) {
      flow = &f;
      break;
    }
  }
  const size_t thl = static_cast<size_t>(p[ihl + 12] >> 4) * 4;
  const uint8_t flags = p[ihl + 13];
  const bool plain_header =
      v4 ? ihl == 20 && (Load16(p + 6) & 0x3FFF) == 0 && Load16(p + 2) == length
         : Load16(p + 4) + 40u == length;
  bool mergeable = plain_header && thl >= 20 && ihl + thl < length && ihl + thl <= kMaxHeader &&
                   (flags & kTcpAck) && (flags & ~(kTcpAck | kTcpPsh | kTcpEce)) == 0;
  // Merged segments reach the kernel as "checksum already checked": check each one here.
  if (mergeable) {
    mergeable = Sum(p + ihl, length - ihl, PseudoHeaderSum(p, v4, kTcp, length - ihl)) == 0xFFFF;
  }
  if (!mergeable) {
    if (flow != nullptr) Emit(*flow, sink);  // keep the flow's order
    return pass();
  }
  const size_t payload = length - ihl - thl;
  if (flow != nullptr) {
    Flow& f = *flow;
    const uint8_t* b = f.hdr.data();
    const bool fits = !f.closed && thl == f.tcp_header && payload <= f.gso_size &&
                      f.length + payload <= kMaxIpPacket && Load32(p + ihl + 4) == f.next_seq &&
                      std::memcmp(p + ihl + 8, b + ihl + 8, 4) == 0 &&  // ack
                      (flags & ~kTcpPsh) == (b[ihl + 13] & ~kTcpPsh) &&
                      std::memcmp(p + ihl + 20, b + ihl + 20, thl - 20) == 0 &&  // options
                      (v4 ? p[1] == b[1] && p[8] == b[8] && (p[6] & 0x40) == (b[6] & 0x40)
                          : std::memcmp(p, b, 4) == 0 && p[7] == b[7]);
    if (fits) {
      f.payload[f.count] = {const_cast<uint8_t*>(p + ihl + thl), payload};
      f.length += payload;
      f.next_seq += static_cast<uint32_t>(payload);
      ++f.count;
      merged_.store(merged_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if (flags & kTcpPsh) {
        f.hdr[ihl + 13] |= kTcpPsh;
        f.closed = true;
      }
      if (payload < f.gso_size || f.length + f.gso_size > kMaxIpPacket || f.count == kMaxSegments) {
        f.closed = true;
      }
      return;
    }
    Emit(f, sink);
    return Start(f, p, length, v4, ihl, thl);
  }
  for (Flow& f : flows_) {
    if (f.length == 0) return Start(f, p, length, v4, ihl, thl);
  }
  Flow& victim = flows_[next_victim_++ % kFlows];
  Emit(victim, sink);
  Start(victim, p, length, v4, ihl, thl);
}

}  // namespace ipsec::engine::dataplane::userspace::offload
