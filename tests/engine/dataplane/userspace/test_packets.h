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

// An IPv6 UDP packet src:1000 -> dst:2000 of `total` octets (UDP checksum 0).
inline std::vector<uint8_t> Udp6(const IpAddress& src, const IpAddress& dst, size_t total) {
  std::vector<uint8_t> p(total, 0xcd);
  esp::Store32(&p[0], 0x6000'0000);
  esp::Store16(&p[4], static_cast<uint16_t>(total - 40));
  p[6] = 17;
  p[7] = 64;
  std::memcpy(&p[8], src.ToBytes().data(), 16);
  std::memcpy(&p[24], dst.ToBytes().data(), 16);
  esp::Store16(&p[40], 1000);
  esp::Store16(&p[42], 2000);
  esp::Store16(&p[44], static_cast<uint16_t>(total - 40));
  esp::Store16(&p[46], 0);
  return p;
}

// An IPv4 TCP super-packet 10.0.0.1 -> 10.0.0.2 as the TUN hands it over (TSO): `payload`
// octets.
inline std::vector<uint8_t> TcpSuperPacket(size_t payload) {
  std::vector<uint8_t> p(40 + payload);
  for (size_t i = 40; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 13);
  p[0] = 0x45;
  esp::Store16(&p[2], static_cast<uint16_t>(p.size()));
  esp::Store16(&p[4], 0x4000);
  esp::Store16(&p[6], 0x4000);  // DF
  p[8] = 64;
  p[9] = 6;
  std::memcpy(&p[12], V4("10.0.0.1").ToBytes().data(), 4);
  std::memcpy(&p[16], V4("10.0.0.2").ToBytes().data(), 4);
  esp::Store16(&p[20], 40000);
  esp::Store16(&p[22], 5201);
  esp::Store32(&p[24], 1000);  // seq
  esp::Store32(&p[28], 2000);  // ack
  p[32] = 5 << 4;
  p[33] = 0x18;  // ACK PSH
  esp::Store16(&p[34], 512);
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
