#pragma once

// Packets and SAs for the userspace data path's unit tests.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/dataplane/backend.h"
#include "engine/dataplane/userspace/pipeline.h"
#include "engine/esp/checksum.h"
#include "engine/esp/ip_packet.h"

namespace ipsec::engine::dataplane::userspace::testing {

inline IpAddress V4(const char* text) { return *IpAddress::Parse(text); }

// An IPv4 UDP packet src:sport -> dst:dport with `payload` octets of 0xab.
inline std::vector<uint8_t> UdpPacket(const IpAddress& src, const IpAddress& dst, uint16_t sport,
                                      uint16_t dport, size_t payload = 32) {
  std::vector<uint8_t> p(28 + payload, 0xab);
  p[0] = 0x45;
  p[1] = 0;
  esp::Store16(&p[2], static_cast<uint16_t>(p.size()));
  esp::Store16(&p[4], 0x1234);
  esp::Store16(&p[6], 0);
  p[8] = 64;
  p[9] = 17;
  std::memcpy(&p[12], src.ToBytes().data(), 4);
  std::memcpy(&p[16], dst.ToBytes().data(), 4);
  esp::Store16(&p[20], sport);
  esp::Store16(&p[22], dport);
  esp::Store16(&p[24], static_cast<uint16_t>(8 + payload));
  esp::Store16(&p[26], 0);  // no UDP checksum (IPv4 allows it)
  esp::Store16(&p[10], 0);
  esp::SetIpv4HeaderChecksum(p.data(), 20);
  return p;
}

// The pod kernel's way (RFC 791 §3.2): the datagram's payload cut into `chunk`-octet pieces
// (a multiple of 8), each behind a copy of the header with MF and the offset set.
inline std::vector<std::vector<uint8_t>> FragmentV4(const std::vector<uint8_t>& d, size_t chunk) {
  std::vector<std::vector<uint8_t>> out;
  const size_t ihl = static_cast<size_t>(d[0] & 0x0F) * 4;
  for (size_t off = 0; ihl + off < d.size(); off += chunk) {
    const size_t n = std::min(chunk, d.size() - ihl - off);
    std::vector<uint8_t> f(d.begin(), d.begin() + static_cast<long>(ihl));
    f.insert(f.end(), d.begin() + static_cast<long>(ihl + off),
             d.begin() + static_cast<long>(ihl + off + n));
    esp::Store16(&f[2], static_cast<uint16_t>(f.size()));
    const bool more = ihl + off + n < d.size();
    esp::Store16(&f[6], static_cast<uint16_t>((more ? 0x2000 : 0) | off / 8));
    esp::SetIpv4HeaderChecksum(f.data(), ihl);
    out.push_back(std::move(f));
  }
  return out;
}

inline TrafficSelector Ts(const IpAddress& a) { return {IpRange::Single(a), 0, 0, 65535}; }

// One direction of an AES-GCM-16-128 SA between 10.0.0.1 (A) and 10.0.0.2 (B).
inline SaConfig GcmSa(uint32_t spi, SaDirection direction, uint32_t reqid, bool a_side,
                      SaMode mode = SaMode::kTunnel) {
  SaConfig c;
  c.spi = spi;
  c.direction = direction;
  c.mode = mode;
  const IpAddress a = V4("10.0.0.1"), b = V4("10.0.0.2");
  c.local = {a_side ? a : b, 0};
  c.remote = {a_side ? b : a, 0};
  c.algorithms.encryption_id = 20;
  c.algorithms.encryption_key_bits = 128;
  std::vector<uint8_t> key(20);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(spi + i);
  c.algorithms.encryption_key =
      SecretBytes(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  c.reqid = reqid;
  c.local_ts = {Ts(a_side ? a : b)};
  c.remote_ts = {Ts(a_side ? b : a)};
  c.rule = "r";
  c.peer = a_side ? "10.0.0.2" : "10.0.0.1";
  return c;
}

inline PolicyConfig Policy(uint32_t reqid, SaDirection d, bool a_side) {
  PolicyConfig p;
  p.reqid = reqid;
  p.direction = d;
  const IpAddress a = V4("10.0.0.1"), b = V4("10.0.0.2");
  p.local_ts = {Ts(a_side ? a : b)};
  p.remote_ts = {Ts(a_side ? b : a)};
  return p;
}

// A PacketIo that keeps what the pipeline sent: ESP (with its SA), clear and delivered packets.
struct RecordingIo final : PacketIo {
  struct Esp {
    SaConfig sa;
    std::vector<uint8_t> bytes;
  };
  std::vector<Esp> esp;
  std::vector<std::vector<uint8_t>> clear, delivered;
  bool SendEsp(unsigned, const SaConfig& sa, const uint8_t* p, size_t n) override {
    esp.push_back({sa, {p, p + n}});
    return true;
  }
  // With `slots`, ReserveEsp/CommitEsp as EspIo's send batch (ESP written in place), recorded
  // in `esp` too; `committed` counts those.
  bool slots = false;
  size_t committed = 0;
  std::vector<uint8_t> slot = std::vector<uint8_t>(2048);
  uint8_t* ReserveEsp(unsigned, const SaConfig&, size_t n) override {
    if (!slots || n > slot.size()) return nullptr;
    std::fill(slot.begin(), slot.end(), 0xEE);
    return slot.data();
  }
  bool CommitEsp(unsigned, const SaConfig& sa, size_t n) override {
    ++committed;
    esp.push_back({sa, {slot.data(), slot.data() + n}});
    return true;
  }
  bool SendClear(unsigned, const uint8_t* p, size_t n) override {
    clear.emplace_back(p, p + n);
    return true;
  }
  bool Deliver(unsigned, const uint8_t* p, size_t n) override {
    delivered.emplace_back(p, p + n);
    return true;
  }
};

}  // namespace ipsec::engine::dataplane::userspace::testing
