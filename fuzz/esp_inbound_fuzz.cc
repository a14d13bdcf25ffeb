// libFuzzer target: the ESP/AH engine's inbound side (engine/esp) with fixed keys.
//
// Input: octet 0 picks the transform (low 4 bits) and ESN (bit 4); octet 1 the mode; the rest
// is `data`.
//  mode 0: `data` is an ESP packet (from the SPI on): InboundSa::Unprotect. Must never crash;
//          anything accepted must lie within the packet.
//  mode 1: `data` is an IP packet: ParseIpPacket and AhInboundSa::Unprotect. Must never crash.
//  mode 2: `data` is a payload: OutboundSa::Protect, then Unprotect must give `data` back;
//          one flipped octet (position from `data`) must make Unprotect drop it.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/esp/ah.h"
#include "engine/esp/inbound_sa.h"
#include "engine/esp/ip_packet.h"
#include "engine/esp/outbound_sa.h"

namespace esp = ipsec::engine::esp;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

struct FuzzTransform {
  uint16_t encryption_id, key_bits;
  size_t key_size;
  uint16_t integrity_id;
  size_t integrity_key_size;
};

constexpr FuzzTransform kTransforms[] = {
    {esp::kEncrAesGcm16, 128, 20, 0, 0},
    {esp::kEncrAesGcm16, 256, 36, 0, 0},
    {esp::kEncrChaCha20Poly1305, 256, 36, 0, 0},
    {esp::kEncrAesCbc, 128, 16, esp::kAuthHmacSha2_256_128, 32},
    {esp::kEncrAesCbc, 256, 32, esp::kAuthHmacSha2_512_256, 64},
    {esp::kEncrNull, 0, 0, esp::kAuthHmacSha2_384_192, 48},
    {esp::kEncr3Des, 192, 24, esp::kAuthHmacSha1_96, 20},
    {esp::kEncrAesCbc, 192, 24, esp::kAuthHmacMd5_96, 16},
};
constexpr size_t kTransformCount = sizeof(kTransforms) / sizeof(kTransforms[0]);

ipsec::SecretBytes Key(size_t n, char seed) {
  std::string s(n, seed);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i);
  return ipsec::SecretBytes(s);
}

esp::SaParams Params(size_t index, bool esn) {
  const FuzzTransform& t = kTransforms[index];
  esp::SaParams p;
  p.spi = 0x01020304;
  p.transform.encryption_id = t.encryption_id;
  p.transform.encryption_key_bits = t.key_bits;
  p.transform.integrity_id = t.integrity_id;
  p.transform.esn = esn;
  p.transform.encryption_key = Key(t.key_size, 0x10);
  p.transform.integrity_key = Key(t.integrity_key_size, 0x40);
  return p;
}

struct Sas {
  std::unique_ptr<esp::OutboundSa> out;
  std::unique_ptr<esp::InboundSa> in;
  std::unique_ptr<esp::AhInboundSa> ah;
};

// Created once: keying contexts per input would dominate the run time.
Sas& SasFor(size_t index, bool esn) {
  static std::vector<Sas> all(kTransformCount * 2);
  Sas& s = all[index * 2 + (esn ? 1 : 0)];
  if (!s.out) {
    auto out = esp::OutboundSa::Create(Params(index, esn));
    auto in = esp::InboundSa::Create(Params(index, esn));
    esp::SaParams ah = Params(3, esn);
    ah.protocol = esp::Protocol::kAh;
    ah.transform.encryption_id = 0;
    ah.transform.encryption_key_bits = 0;
    ah.transform.encryption_key = ipsec::SecretBytes();
    auto ah_in = esp::AhInboundSa::Create(ah);
    Check(out.ok() && in.ok() && ah_in.ok());
    s.out = std::move(out).value();
    s.in = std::move(in).value();
    s.ah = std::move(ah_in).value();
  }
  return s;
}

void RoundTrip(Sas& s, const uint8_t* data, size_t size) {
  const size_t head = s.out->headroom(), tail = s.out->max_tailroom();
  std::vector<uint8_t> buf(head + size + tail);
  std::copy(data, data + size, buf.begin() + static_cast<long>(head));
  auto p = s.out->Protect(0, buf.data(), buf.size(), head, size, esp::kNextHeaderIpv4);
  if (!p.ok()) {
    Check(size > 0xFFFF);
    return;
  }
  std::vector<uint8_t> packet(buf.begin() + static_cast<long>(p->offset),
                              buf.begin() + static_cast<long>(p->offset + p->length));
  std::vector<uint8_t> flipped = packet;
  auto r = s.in->Unprotect(0, packet.data(), packet.size());
  Check(std::holds_alternative<esp::InboundSa::Unprotected>(r));
  const auto& u = std::get<esp::InboundSa::Unprotected>(r);
  Check(u.payload_length == size && u.next_header == esp::kNextHeaderIpv4);
  Check(std::equal(data, data + size, packet.begin() + static_cast<long>(u.payload_offset)));
  const size_t at = size > 0 ? data[0] % flipped.size() : 5;
  flipped[at] ^= 0x01;
  auto f = s.in->Unprotect(0, flipped.data(), flipped.size());
  Check(std::holds_alternative<esp::DropReason>(f));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (size < 2) return 0;
  const size_t index = (input[0] & 0x0F) % kTransformCount;
  const bool esn = (input[0] & 0x10) != 0;
  const uint8_t mode = input[1] % 3;
  Sas& s = SasFor(index, esn);
  std::vector<uint8_t> data(input + 2, input + size);  // exact-size heap copy for ASan
  switch (mode) {
    case 0: {
      auto r = s.in->Unprotect(0, data.data(), data.size());
      if (auto* u = std::get_if<esp::InboundSa::Unprotected>(&r)) {
        Check(u->payload_offset + u->payload_length <= data.size());
      }
      break;
    }
    case 1: {
      (void)esp::ParseIpPacket(ipsec::ByteSpan(data.data(), data.size()));
      auto r = s.ah->Unprotect(0, data.data(), data.size());
      if (auto* u = std::get_if<esp::AhInboundSa::Unprotected>(&r)) {
        Check(u->offset + u->length <= data.size() && u->payload_offset <= data.size());
      }
      break;
    }
    default:
      RoundTrip(s, data.data(), data.size());
      break;
  }
  return 0;
}
