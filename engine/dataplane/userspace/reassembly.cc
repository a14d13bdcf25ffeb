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
  if (result.length == 0) {
    result.dropped += Discard(it);
  } else {
    Discard(it);
  }
  return result;
}

size_t Reassembler::in_progress() const {
  std::lock_guard lock(mu_);
  return datagrams_.size();
}

}  // namespace ipsec::engine::dataplane::userspace
