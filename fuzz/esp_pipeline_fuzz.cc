// libFuzzer target: the userspace data path's inbound path (Pipeline::Inbound, InboundAh) with
// live SAs in its SA table: SPI lookup, anti-replay window, decapsulation, the inner packet's
// checks (RFC 4301 §5.2 selectors), counters. Not only InboundSa::Unprotect (esp_inbound_fuzz).
//
// B (10.0.0.2) holds the inbound SAs below; A (10.0.0.1) holds their outbound halves, which make
// genuine packets. The input is a program of operations (opcode octet, then arguments):
//   0 k len (octet)*len ports: A protects an inner packet (UDP 10.0.0.1 -> 10.0.0.2 with the
//     octets as payload; ports odd: from 10.0.0.3, outside the SA's selectors) with SA k
//   1 k: deliver the k-th genuine packet to B (again: a replay)
//   2 k n (pos val)*n: deliver the k-th genuine packet with n octets overwritten
//   3 s len (octet)*len: deliver octets as ESP, behind the SPI of SA s (s >= 0x80: as they are)
//   4 k g: A's SA k skips g^2 sequence numbers, or 2^(g%33) when g >= 0x80 (ESN subspaces)
//   5 len (octet)*len: deliver octets as an AH packet (an IPv4 header to the AH SA, then them)
//   6 k: A protects a dummy packet (next header 59, RFC 4303 §2.6) with SA k
// Invariants (abort = finding), after every delivery:
//  - a packet is delivered to the pod only if it is a genuine packet, delivered for the first
//    time (never a forged, mutated or replayed one), and as A sent it; an AH packet changed
//    only in the outer header's mutable fields is still genuine (RFC 4302 §3.3.3.1.1.1),
//    unless it now claims to be a fragment, which must be dropped (§3.4.1);
//  - every packet fed in is either delivered or counted as exactly one drop (by reason); a
//    replayed genuine packet is counted as `replay` (with ESN, far left of the window, as
//    `integrity`: RFC 4303 Appendix A2.2 takes it for the next subspace);
//  - each SA's replay window top is the highest sequence number delivered on it, and its
//    packet counter the number delivered.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/dataplane/userspace/pipeline.h"
#include "engine/esp/esp_wire.h"
#include "tests/engine/dataplane/userspace/test_packets.h"

namespace {

using namespace ipsec::engine::dataplane;
using namespace ipsec::engine::dataplane::userspace;
using ipsec::engine::dataplane::userspace::testing::UdpPacket;
using ipsec::engine::dataplane::userspace::testing::V4;
namespace esp = ipsec::engine::esp;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "esp_pipeline invariant broken: %s\n", what.c_str());
  std::abort();
}

struct SaKind {
  uint32_t spi;
  SaProtocol protocol;
  SaMode mode;
  uint16_t encryption_id, key_bits, integrity_id;
  size_t key_size, integrity_key_size;
  bool esn;
  uint32_t replay_window;
};

// AES-GCM tunnel; AES-CBC/HMAC-SHA-512 transport with ESN; ChaCha20-Poly1305 tunnel with a
// small window; ESP-null/HMAC-SHA-256 tunnel; AH (HMAC-SHA-256-128) tunnel.
constexpr SaKind kSas[] = {
    {0x1001, SaProtocol::kEsp, SaMode::kTunnel, 20, 128, 0, 20, 0, false, 1024},
    {0x1002, SaProtocol::kEsp, SaMode::kTransport, 12, 256, 14, 32, 64, true, 1024},
    {0x1003, SaProtocol::kEsp, SaMode::kTunnel, 28, 256, 0, 36, 0, false, 64},
    {0x1004, SaProtocol::kEsp, SaMode::kTunnel, 11, 0, 12, 0, 32, true, 128},
    {0x2001, SaProtocol::kAh, SaMode::kTunnel, 0, 0, 12, 0, 32, false, 256},
};
constexpr size_t kSaCount = sizeof(kSas) / sizeof(kSas[0]);

ipsec::SecretBytes Key(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed * 7 + i);
  return ipsec::SecretBytes(s);
}

SaConfig Config(const SaKind& k, SaDirection direction) {
  const bool a_side = direction == SaDirection::kOutbound;
  const auto a = V4("10.0.0.1"), b = V4("10.0.0.2");
  SaConfig c;
  c.spi = k.spi;
  c.protocol = k.protocol;
  c.mode = k.mode;
  c.direction = direction;
  c.local = {a_side ? a : b, 0};
  c.remote = {a_side ? b : a, 0};
  c.algorithms.encryption_id = k.encryption_id;
  c.algorithms.encryption_key_bits = k.key_bits;
  c.algorithms.integrity_id = k.integrity_id;
  c.algorithms.esn = k.esn;
  c.algorithms.encryption_key = Key(k.key_size, k.spi);
  c.algorithms.integrity_key = Key(k.integrity_key_size, k.spi + 1);
  c.replay_window = k.replay_window;
  c.reqid = k.spi;
  c.local_ts = {testing::Ts(a_side ? a : b)};
  c.remote_ts = {testing::Ts(a_side ? b : a)};
  c.rule = "r";
  c.peer = a_side ? "10.0.0.2" : "10.0.0.1";
  return c;
}

struct Genuine {
  size_t sa = 0;
  std::vector<uint8_t> wire;   // ESP from the SPI on, or the whole AH packet
  std::vector<uint8_t> inner;  // the inner IP packet A protected (empty: a dummy)
  uint64_t sequence = 0;
  bool deliverable = false;  // inside the SA's selectors
};

class Harness {
 public:
  Harness() : a_(2), b_(2), pipeline_(b_, queue_, io_) {
    for (const SaKind& k : kSas) {
      if (!a_.AddSa(Config(k, SaDirection::kOutbound)).ok()) Fail("A refuses an SA");
      if (!b_.AddSa(Config(k, SaDirection::kInbound)).ok()) Fail("B refuses an SA");
    }
  }

  void Run(const uint8_t* data, size_t size) {
    size_t pos = 0;
    auto next = [&]() -> uint8_t { return pos < size ? data[pos++] : 0; };
    for (int n = 0; n < 256 && pos < size; ++n) {
      switch (next() % 7) {
        case 0: {
          const size_t k = next() % kSaCount;
          std::vector<uint8_t> payload(next());
          for (auto& o : payload) o = next();
          Produce(k, payload, next(), false);
          break;
        }
        case 1:
          if (!genuine_.empty()) Feed(next() % genuine_.size(), {});
          break;
        case 2: {
          if (genuine_.empty()) break;
          const size_t k = next() % genuine_.size();
          std::vector<uint8_t> m = genuine_[k].wire;
          const int count = next() % 8 + 1;
          for (int i = 0; i < count; ++i) {
            const uint8_t at = next();
            const uint8_t value = next();
            m[(at * 3u) % m.size()] = value;
          }
          if (m == genuine_[k].wire) m.back() ^= 1;  // changed, always
          Feed(k, m);
          break;
        }
        case 3: {
          const uint8_t s = next();
          std::vector<uint8_t> m;
          if (s < 0x80) {
            const uint32_t spi = kSas[s % kSaCount].spi;
            m = {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
                 static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
          }
          const size_t len = next() * 2u;
          for (size_t i = 0; i < len; ++i) m.push_back(next());
          FeedRaw(m, /*ah=*/false);
          break;
        }
        case 4: {
          const SaState* sa = Outbound(next() % kSaCount);
          const uint8_t g = next();
          // Up to 2^32 at once: ESN crosses into the next subspace (RFC 4303 Appendix A2).
          const uint64_t gap = g & 0x80 ? uint64_t{1} << (g % 33) : uint64_t{g} * g;
          if (sa->outbound) {
            sa->outbound->SetNextSequenceForTesting(sa->outbound->next_sequence() + gap);
          }
          if (sa->ah_outbound) {
            sa->ah_outbound->SetNextSequenceForTesting(sa->ah_outbound->next_sequence() + gap);
          }
          break;
        }
        case 5: {
          std::vector<uint8_t> m = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 0);
          m.resize(20);
          m[9] = esp::kNextHeaderAh;
          const size_t len = next() * 2u;
          m.push_back(4);  // next header: IPv4 (tunnel)
          m.push_back(4);  // payload length: 24-octet AH with a 16-octet ICV
          m.push_back(0);
          m.push_back(0);
          for (int i = 0; i < 4; ++i) m.push_back(static_cast<uint8_t>(0x2001u >> (24 - 8 * i)));
          for (size_t i = 0; i < len; ++i) m.push_back(next());
          esp::Store16(&m[2], static_cast<uint16_t>(m.size()));
          FeedRaw(m, /*ah=*/true);
          break;
        }
        case 6:
          Produce(next() % kSaCount, {}, 0, true);
          break;
      }
    }
  }

 private:
  const SaState* Outbound(size_t k) {
    auto snap = a_.Load();
    auto it = snap->outbound.find(kSas[k].spi);
    if (it == snap->outbound.end()) Fail("A lost its outbound SA");
    keep_ = snap;
    return it->second.get();
  }

  void Produce(size_t k, const std::vector<uint8_t>& payload, uint8_t ports, bool dummy) {
    const SaState* sa = Outbound(k);
    Genuine g;
    g.sa = k;
    const bool outside = ports & 1;
    std::vector<uint8_t> inner = UdpPacket(V4(outside ? "10.0.0.3" : "10.0.0.1"), V4("10.0.0.2"),
                                           static_cast<uint16_t>(1000 + ports), 2000, 0);
    inner.insert(inner.end(), payload.begin(), payload.end());
    esp::Store16(&inner[2], static_cast<uint16_t>(inner.size()));
    esp::Store16(&inner[24], static_cast<uint16_t>(inner.size() - 20));
    esp::Store16(&inner[10], 0);
    esp::SetIpv4HeaderChecksum(inner.data(), 20);
    std::vector<uint8_t> buffer(kBufferSize);
    if (sa->outbound) {
      const bool transport = kSas[k].mode == SaMode::kTransport;
      // Transport mode protects the UDP datagram (next header 17), tunnel mode the packet.
      const size_t skip = transport ? 20 : 0;
      const size_t length = dummy ? 0 : inner.size() - skip;
      std::copy(inner.begin() + static_cast<long>(skip), inner.end(), buffer.begin() + kHeadroom);
      const uint8_t next_header = dummy       ? esp::kNextHeaderNone
                                  : transport ? 17
                                              : esp::kNextHeaderIpv4;
      auto p =
          sa->outbound->Protect(0, buffer.data(), buffer.size(), kHeadroom, length, next_header);
      if (!p.ok()) return;  // e.g. the sequence number would cycle
      g.wire.assign(buffer.begin() + static_cast<long>(p->offset),
                    buffer.begin() + static_cast<long>(p->offset + p->length));
      g.sequence = p->sequence;
    } else {
      if (dummy) return;
      // AH tunnel: an outer header from the SA's endpoints, the inner packet as payload.
      std::vector<uint8_t> outer = UdpPacket(V4("10.0.0.1"), V4("10.0.0.2"), 1, 2, 0);
      outer.resize(20);
      outer[9] = 4;  // IPv4 in IPv4
      outer.insert(outer.end(), inner.begin(), inner.end());
      esp::Store16(&outer[2], static_cast<uint16_t>(outer.size()));
      esp::Store16(&outer[4], 7);  // a non-zero identification (ah_path.cc)
      esp::Store16(&outer[10], 0);
      esp::SetIpv4HeaderChecksum(outer.data(), 20);
      std::copy(outer.begin(), outer.end(), buffer.begin() + kHeadroom);
      auto p = sa->ah_outbound->Protect(0, buffer.data(), buffer.size(), kHeadroom, outer.size());
      if (!p.ok()) return;
      g.wire.assign(buffer.begin() + static_cast<long>(p->offset),
                    buffer.begin() + static_cast<long>(p->offset + p->length));
      g.sequence = p->sequence;
    }
    if (!dummy) g.inner = inner;
    // Transport mode carries no inner header: the receiver rebuilds it from the outer addresses.
    g.deliverable = !dummy && (!outside || kSas[k].mode == SaMode::kTransport);
    genuine_.push_back(std::move(g));
  }

  // One packet into B; returns whether it was delivered. Checks the accounting.
  bool Inject(const std::vector<uint8_t>& wire, bool ah) {
    const DataplaneCounters before = pipeline_.Counters();
    const size_t delivered_before = io_.delivered.size();
    std::vector<uint8_t> buffer(kBufferSize);
    std::copy(wire.begin(), wire.end(), buffer.begin() + kHeadroom);
    pipeline_.Refresh(worker_);
    if (ah) {
      pipeline_.InboundAh(worker_, buffer.data(), buffer.size(), kHeadroom, wire.size());
    } else {
      pipeline_.Inbound(worker_, buffer.data(), buffer.size(), kHeadroom, wire.size(),
                        V4("10.0.0.1"));
    }
    const DataplaneCounters after = pipeline_.Counters();
    uint64_t drops = 0;
    for (int r = 0; r < kDropReasonCount; ++r) drops += after.drops[r] - before.drops[r];
    const int in = static_cast<int>(TrafficDirection::kInbound);
    const uint64_t packets = after.packets[in] - before.packets[in];
    const size_t delivered = io_.delivered.size() - delivered_before;
    if (packets != delivered) Fail("delivered packets and the inbound counter disagree");
    for (int r = 0; r < kDropReasonCount; ++r)
      last_drop_delta_[r] = after.drops[r] - before.drops[r];
    last_accounted_ = packets + drops;
    if (trace_) {
      std::fprintf(stderr, "  %s %zu octets, SPI %08x:", ah ? "AH" : "ESP", wire.size(),
                   wire.size() >= 4 ? esp::Load32(wire.data() + (ah ? 24 : 0)) : 0u);
      if (delivered) std::fprintf(stderr, " delivered");
      for (int r = 0; r < kDropReasonCount; ++r) {
        if (last_drop_delta_[r]) std::fprintf(stderr, " drop %s", Name(static_cast<DropReason>(r)));
      }
      std::fprintf(stderr, "\n");
    }
    return delivered == 1;
  }

  void FeedRaw(const std::vector<uint8_t>& wire, bool ah) {
    bool genuine = false;
    for (const auto& g : genuine_) genuine |= g.wire == wire;
    if (genuine) return;  // the fuzzer rebuilt a genuine packet: op 1's business
    if (Inject(wire, ah)) Fail("a forged packet was delivered");
    if (last_accounted_ != 1) Fail("a forged packet was not counted as one drop");
  }

  // Whether `b` differs from the AH packet `a` only in the outer IPv4 header's mutable fields.
  static bool MutableOnly(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      const bool mutable_field = i == 1 || i == 6 || i == 7 || i == 8 || i == 10 || i == 11;
      if (a[i] != b[i] && !mutable_field) return false;
    }
    return true;
  }

  // Genuine packet k, as A sent it (`wire` empty) or changed (`wire`).
  void Feed(size_t k, const std::vector<uint8_t>& wire) {
    Genuine& g = genuine_[k];
    const std::vector<uint8_t>& bytes = wire.empty() ? g.wire : wire;
    bool authentic = bytes == g.wire;
    const bool ah = kSas[g.sa].protocol == SaProtocol::kAh;
    if (!authentic && ah && MutableOnly(g.wire, bytes)) {
      // RFC 4302 §3.3.3.1.1.1: the outer header's TOS, flags, fragment offset, TTL and checksum
      // are not covered by the ICV. Such a packet is still the genuine one, unless it now
      // claims to be a fragment, which AH must discard (§3.4.1).
      const bool fragment = (bytes[6] & 0x20) != 0 || ((bytes[6] & 0x1f) << 8 | bytes[7]) != 0;
      if (fragment) {
        if (Inject(bytes, true)) Fail("an AH packet that is a fragment was delivered");
        if (last_accounted_ != 1) Fail("an AH fragment was not counted as one drop");
        return;
      }
      authentic = true;
    }
    if (trace_) {
      std::fprintf(stderr, "genuine #%zu (SA %zu, seq %llu)%s%s\n", k, g.sa,
                   static_cast<unsigned long long>(g.sequence), authentic ? "" : " mutated",
                   seen_.count(k) ? " again" : "");
    }
    const bool delivered = Inject(bytes, ah);
    if (!authentic) {
      if (delivered) Fail("a mutated packet was delivered");
      if (last_accounted_ != 1) Fail("a mutated packet was not counted as one drop");
      return;
    }
    const bool dummy = g.inner.empty();
    const bool seen = !seen_.insert(k).second;
    auto delta = [this](DropReason r) { return last_drop_delta_[static_cast<int>(r)]; };
    if (delivered) {
      if (seen) Fail("a replayed packet was delivered");
      if (!g.deliverable) Fail("a packet outside the SA's selectors was delivered");
      if (kSas[g.sa].mode == SaMode::kTunnel && io_.delivered.back() != g.inner) {
        Fail("the delivered packet differs from what A protected");
      }
      ++delivered_[g.sa];
    } else if (last_accounted_ != 1 && !(dummy && last_accounted_ == 0)) {
      Fail("a genuine packet neither delivered nor counted as one drop");
    } else if (seen && delta(DropReason::kReplay) != 1 &&
               !(kSas[g.sa].esn && delta(DropReason::kIntegrity) == 1)) {
      // With ESN a number far left of the window is taken for the next subspace's (RFC 4303
      // Appendix A2.2), whose ICV does not verify: an integrity drop is right there.
      Fail("a replayed packet was dropped, but not as a replay");
    }
    // Authenticated (RFC 4303 §3.4.3: the window takes its number once the ICV verified),
    // whatever the inner packet's checks said after that; a dummy is authentic too (§2.6).
    const bool authenticated = delivered || (dummy && last_accounted_ == 0) ||
                               delta(DropReason::kTsMismatch) == 1 ||
                               delta(DropReason::kMalformed) == 1;
    if (authenticated) top_[g.sa] = std::max(top_[g.sa], g.sequence);
    CheckWindow(g.sa);
  }

  void CheckWindow(size_t k) {
    auto counters = b_.Query(kSas[k].protocol, kSas[k].spi);
    if (!counters.ok() || counters->packets != delivered_[k]) {
      Fail("SA " + std::to_string(kSas[k].spi) + ": packet counter differs from " +
           std::to_string(delivered_[k]) + " delivered");
    }
    auto snap = b_.Load();
    auto it = snap->inbound.find(kSas[k].spi);
    if (it == snap->inbound.end()) Fail("B lost its inbound SA");
    const SaState& sa = *it->second;
    const uint64_t top = sa.inbound ? sa.inbound->highest_sequence() : top_[k];
    if (top != top_[k]) {
      Fail("SA " + std::to_string(kSas[k].spi) + ": window top " + std::to_string(top) +
           ", highest authenticated sequence " + std::to_string(top_[k]));
    }
  }

  SaTable a_, b_;
  AcquireQueue queue_;
  testing::RecordingIo io_;
  Pipeline pipeline_;
  WorkerContext worker_{0};
  std::shared_ptr<const Snapshot> keep_;
  std::vector<Genuine> genuine_;
  const bool trace_ = std::getenv("ESP_PIPELINE_TRACE") != nullptr;  // each packet fed, to stderr
  std::set<size_t> seen_;
  std::map<size_t, uint64_t> delivered_;
  std::map<size_t, uint64_t> top_;
  uint64_t last_drop_delta_[kDropReasonCount] = {};
  uint64_t last_accounted_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness h;
  h.Run(data, size);
  return 0;
}
