#include "engine/dataplane/userspace/reassembly.h"

#include <algorithm>
#include <cstring>

#include "engine/esp/checksum.h"
#include "engine/esp/esp_wire.h"

namespace ipsec::engine::dataplane::userspace {

namespace {

constexpr size_t kIpv6Header = 40;
constexpr size_t kMaxIpv4Total = 65535;    // RFC 791 §3.1, total length
constexpr size_t kMaxIpv6Payload = 65535;  // RFC 8200 §3, payload length (no jumbograms)

}  // namespace

bool Reassembler::Parse(ByteSpan p, const esp::IpPacketInfo& info, Fragment& f) {
  f.key.source = info.source;
  f.key.destination = info.destination;
  if (info.family == IpFamily::kV4) {
    // RFC 791 §3.1: flags in the top 3 bits of octets 6-7 (MF = 0x2000), offset in 8-octet units.
    const size_t ihl = static_cast<size_t>(p[0] & 0x0F) * 4;
    const uint16_t frag = esp::Load16(&p[6]);
    f.key.id = esp::Load16(&p[4]);
    f.key.protocol = p[9];
    f.offset = size_t{frag & 0x1FFFu} * 8;
    f.more = (frag & 0x2000) != 0;
    f.header_length = ihl;
    return true;
  }
  // RFC 8200 §4.5: walk to the fragment header; what precedes it is the unfragmentable part.
  uint8_t next = p[6];
  size_t at = kIpv6Header, next_at = 6;
  while (next != esp::kNextHeaderFragment) {
    if (next != esp::kNextHeaderHopByHop && next != esp::kNextHeaderRouting &&
        next != esp::kNextHeaderDestOptions) {
      return false;
    }
    if (info.total_length - at < 8) return false;
    next_at = at;
    next = p[at];
    at += (size_t{p[at + 1]} + 1) * 8;
    if (at > info.total_length) return false;
  }
  if (info.total_length - at < 8) return false;
  const uint16_t frag = esp::Load16(&p[at + 2]);
  f.key.id = esp::Load32(&p[at + 4]);
  f.offset = frag & 0xFFF8u;
  f.more = (frag & 0x1) != 0;
  f.unfragmentable = at;
  f.next_header_at = next_at;
  f.next_header = p[at];
  f.header_length = at + 8;
  return true;
}

size_t Reassembler::Discard(std::list<Datagram>::iterator it) {
  const size_t n = it->fragments;
  bytes_ -= it->data.capacity() + it->header.capacity();
  datagrams_.erase(it);
  return n;
}

size_t Reassembler::Expire(Clock::time_point now) {
  size_t dropped = 0;
  while (!datagrams_.empty() && datagrams_.front().deadline <= now) {
    dropped += Discard(datagrams_.begin());
  }
  return dropped;
}

size_t Reassembler::Write(const Datagram& d, uint8_t* out, size_t capacity) const {
  const size_t length = d.header.size() + d.total;
  if (length > capacity) return 0;
  std::memcpy(out, d.header.data(), d.header.size());
  std::memcpy(out + d.header.size(), d.data.data(), d.total);
  if ((out[0] >> 4) == 4) {
    // IPv4: total length, no MF and offset 0 (DF stays clear: the source let it fragment).
    esp::Store16(out + 2, static_cast<uint16_t>(length));
    esp::Store16(out + 6, 0);
    esp::SetIpv4HeaderChecksum(out, d.header.size());
  } else {
    // IPv6: the fragment header is gone; its Next Header moves into the last header before it.
    esp::Store16(out + 4, static_cast<uint16_t>(length - kIpv6Header));
    out[d.next_header_at] = d.next_header;
  }
  return length;
}

Reassembler::Outcome Reassembler::Add(ByteSpan packet, const esp::IpPacketInfo& info,
                                      Clock::time_point now, uint8_t* out, size_t capacity) {
  Outcome result;
  Fragment f;
  if (!info.is_fragment || info.total_length > packet.size() || !Parse(packet, info, f)) {
    result.dropped = 1;
    return result;
  }
  const size_t payload = info.total_length - f.header_length;
  const size_t end = f.offset + payload;
  const bool v4 = info.family == IpFamily::kV4;
  // RFC 791 §3.2 / RFC 8200 §4.5: every fragment but the last is a multiple of 8 octets; the
  // whole datagram must fit the length fields.
  if ((f.more && payload % 8 != 0) || payload == 0 ||
      (v4 ? f.header_length + end > kMaxIpv4Total
          : f.unfragmentable - kIpv6Header + end > kMaxIpv6Payload)) {
    result.dropped = 1;
    return result;
  }

  std::lock_guard lock(mu_);
  result.dropped += Expire(now);
  auto it = std::find_if(datagrams_.begin(), datagrams_.end(),
                         [&](const Datagram& d) { return d.key == f.key; });
  if (it == datagrams_.end()) {
    while (!datagrams_.empty() && datagrams_.size() >= limits_.max_datagrams) {
      result.dropped += Discard(datagrams_.begin());
    }
    Datagram d;
    d.key = f.key;
    d.deadline = now + limits_.timeout;
    datagrams_.push_back(std::move(d));
    it = std::prev(datagrams_.end());
  }
  Datagram& d = *it;
  auto discard = [&] {
    result.dropped += Discard(it) + 1;
    return result;
  };
  // The last fragment fixes the length; nothing may lie beyond it, and it may come only once.
  if (!f.more) {
    if ((d.total != 0 && d.total != end) || (!d.ranges.empty() && d.ranges.back().end > end)) {
      return discard();
    }
    d.total = end;
  } else if (d.total != 0 && end > d.total) {
    return discard();
  }
  // Overlap (RFC 5722): an exact duplicate is dropped alone; any other overlap ends the datagram.
  auto after = std::lower_bound(d.ranges.begin(), d.ranges.end(), f.offset,
                                [](const Range& r, size_t offset) { return r.end <= offset; });
  if (after != d.ranges.end() && after->begin < end) {
    if (after->begin == f.offset && after->end == end &&
        std::memcmp(d.data.data() + f.offset, packet.data() + f.header_length, payload) == 0) {
      result.dropped += 1;
      return result;
    }
    return discard();
  }
  // Memory: grow to the fragment's end; evict the oldest others while over the bound.
  if (d.data.size() < end) {
    const size_t before = d.data.capacity();
    d.data.resize(end);
    bytes_ += d.data.capacity() - before;
  }
  if (f.offset == 0) {
    const size_t unfragmentable = v4 ? f.header_length : f.unfragmentable;
    bytes_ -= d.header.capacity();
    d.header.assign(packet.data(), packet.data() + unfragmentable);
    bytes_ += d.header.capacity();
    d.next_header_at = f.next_header_at;
    d.next_header = f.next_header;
  }
  std::memcpy(d.data.data() + f.offset, packet.data() + f.header_length, payload);
  d.ranges.insert(after, Range{f.offset, end});
  ++d.fragments;
  d.max_fragment = std::max(d.max_fragment, info.total_length);
  while (bytes_ > limits_.max_bytes && datagrams_.begin() != it) {
    result.dropped += Discard(datagrams_.begin());
  }
  if (bytes_ > limits_.max_bytes) {  // this datagram alone is over the bound
    result.dropped += Discard(it);
    return result;
  }

  // Complete: one range [0, total) once the last fragment and the first came.
  if (d.total == 0 || d.header.empty()) return result;
  size_t covered = 0;
  for (const Range& r : d.ranges) {
    if (r.begin != covered) return result;
    covered = r.end;
  }
  if (covered != d.total) return result;
  result.length = Write(d, out, capacity);
  result.max_fragment = d.max_fragment;
  if (result.length == 0) {
    result.dropped += Discard(it);
  } else {
    Discard(it);
  }
  return result;
}

bool ForEachFragment(const uint8_t* packet, size_t length, size_t max_size, uint32_t ipv6_id,
                     const std::function<bool(const uint8_t*, size_t)>& sink) {
  if (length <= max_size) return sink(packet, length);
  std::vector<uint8_t> f(max_size + 8);
  if ((packet[0] >> 4) == 4) {
    const size_t ihl = static_cast<size_t>(packet[0] & 0x0F) * 4;
    const uint16_t flags = esp::Load16(packet + 6);
    if ((flags & 0x4000) != 0 || (flags & 0x3FFF) != 0 || max_size < ihl + 8) return false;
    const size_t chunk = (max_size - ihl) & ~size_t{7};
    for (size_t off = 0; ihl + off < length; off += chunk) {
      const size_t n = std::min(chunk, length - ihl - off);
      const bool more = ihl + off + n < length;
      // Options after the first fragment: only a 20-octet header (RFC 791 §3.2: options
      // without the copied flag are left out; we leave all out rather than parse them).
      const size_t h = off == 0 ? ihl : esp::kIpv4HeaderSize;
      std::memcpy(f.data(), packet, esp::kIpv4HeaderSize);
      if (off == 0) std::memcpy(f.data(), packet, ihl);
      f[0] = static_cast<uint8_t>(0x40 | h / 4);
      std::memcpy(f.data() + h, packet + ihl + off, n);
      esp::Store16(f.data() + 2, static_cast<uint16_t>(h + n));
      esp::Store16(f.data() + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | off / 8));
      esp::SetIpv4HeaderChecksum(f.data(), h);
      if (!sink(f.data(), h + n)) return false;
    }
    return true;
  }
  // IPv6: the unfragmentable part is the header plus hop-by-hop and routing headers (and a
  // destination options header before a routing header), RFC 8200 §4.5.
  size_t unfrag = kIpv6Header, next_at = 6;
  uint8_t next = packet[6];
  for (;;) {
    const bool dest_before_routing = next == esp::kNextHeaderDestOptions && unfrag + 8 <= length &&
                                     packet[unfrag] == esp::kNextHeaderRouting;
    if (next != esp::kNextHeaderHopByHop && next != esp::kNextHeaderRouting &&
        !dest_before_routing) {
      break;
    }
    if (unfrag + 8 > length) return false;
    next_at = unfrag;
    next = packet[unfrag];
    unfrag += (size_t{packet[unfrag + 1]} + 1) * 8;
    if (unfrag > length) return false;
  }
  if (max_size < unfrag + 8 + 8) return false;
  const size_t chunk = (max_size - unfrag - 8) & ~size_t{7};
  for (size_t off = 0; unfrag + off < length; off += chunk) {
    const size_t n = std::min(chunk, length - unfrag - off);
    const bool more = unfrag + off + n < length;
    std::memcpy(f.data(), packet, unfrag);
    f[next_at] = esp::kNextHeaderFragment;
    uint8_t* fh = f.data() + unfrag;
    fh[0] = next;
    fh[1] = 0;
    esp::Store16(fh + 2, static_cast<uint16_t>(off | (more ? 1 : 0)));
    esp::Store32(fh + 4, ipv6_id);
    std::memcpy(fh + 8, packet + unfrag + off, n);
    esp::Store16(f.data() + 4, static_cast<uint16_t>(unfrag + 8 + n - kIpv6Header));
    if (!sink(f.data(), unfrag + 8 + n)) return false;
  }
  return true;
}

size_t Reassembler::in_progress() const {
  std::lock_guard lock(mu_);
  return datagrams_.size();
}

}  // namespace ipsec::engine::dataplane::userspace
