#include "engine/ike/dos.h"

#include <string_view>

#include "engine/crypto/hash.h"

namespace ipsec::engine::ike {
namespace {

constexpr size_t kSecretSize = 32;

void AppendUint32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

void AppendUint64(Bytes& b, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

uint32_t ReadUint32(ByteSpan b) {
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | b[3];
}

bool ConstantTimeEquals(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace

void DosGuard::Rotate(SteadyTime now) {
  const bool first = secret_.empty();
  if (!first && now - born_ < lifetime_) return;
  // A secret more than two periods old is forgotten too: its cookies are stale (§2.6).
  if (!first && now - born_ < 2 * lifetime_) {
    previous_ = std::move(secret_);
  } else {
    previous_.reset();
  }
  Bytes fresh(kSecretSize);
  random_.Fill(fresh.data(), fresh.size());
  secret_ =
      SecretBytes(std::string_view(reinterpret_cast<const char*>(fresh.data()), fresh.size()));
  std::fill(fresh.begin(), fresh.end(), 0);
  ++version_;
  born_ = now;
}

Bytes DosGuard::Compute(uint32_t version, const SecretBytes& secret,
                        const InitRequestView& request) const {
  // Hash(Ni | IPi | SPIi | <secret>) of §2.6 as HMAC(<secret>, Ni | IPi | SPIi).
  Bytes input(request.nonce.begin(), request.nonce.end());
  auto address = request.source.ToBytes();
  input.insert(input.end(), address.begin(), address.begin() + (request.source.is_v4() ? 4 : 16));
  AppendUint64(input, request.spi_i);
  Bytes cookie;
  AppendUint32(cookie, version);
  Bytes mac = crypto::Hmac(crypto::Hash::kSha256, ByteSpan(secret.data(), secret.size()), input);
  cookie.insert(cookie.end(), mac.begin(), mac.end());
  return cookie;
}

Bytes DosGuard::MakeCookie(const InitRequestView& request, SteadyTime now) {
  Rotate(now);
  return Compute(version_, secret_, request);
}

bool DosGuard::VerifyCookie(ByteSpan cookie, const InitRequestView& request, SteadyTime now) {
  Rotate(now);
  if (cookie.size() != kCookieSize) return false;
  const uint32_t version = ReadUint32(cookie);
  const SecretBytes* secret = nullptr;
  if (version == version_) {
    secret = &secret_;
  } else if (previous_ && version == version_ - 1) {
    secret = &*previous_;
  }
  return secret != nullptr && ConstantTimeEquals(Compute(version, *secret, request), cookie);
}

DosGuard::Verdict DosGuard::Check(const InitRequestView& request, const PeerLoad& load,
                                  const DosLimits& limits, SteadyTime now) {
  lifetime_ = limits.cookie_secret_lifetime;
  Verdict v;
  if (request.cookie != nullptr) {
    if (!VerifyCookie(*request.cookie, request, now)) {
      v.action = Action::kDrop;  // forged, or made with a forgotten secret
      v.reason = DosDropReason::kInvalidCookie;
      return v;
    }
  } else if (load.half_open_total >= limits.cookie_threshold) {
    v.action = Action::kSendCookie;  // §2.6: prove the source address before we keep state
    v.cookie = MakeCookie(request, now);
    return v;
  }
  // FAQ 59: with an IKE SA established with the peer, 5 per IP:port; otherwise 35 per IP.
  const bool port_limited = limits.max_half_open_per_peer_port != 0 &&
                            load.half_open_from_endpoint >= limits.max_half_open_per_peer_port;
  const bool ip_limited =
      limits.max_half_open_per_peer != 0 && load.half_open_from_ip >= limits.max_half_open_per_peer;
  if (port_limited || ip_limited) {
    const bool established = load.established_with_ip;
    if (established && port_limited) {
      v.action = Action::kDrop;
      v.reason = DosDropReason::kHalfOpenPerPeerPort;
    } else if (!established && ip_limited) {
      v.action = Action::kDrop;
      v.reason = DosDropReason::kHalfOpenPerPeer;
    }
  }
  return v;
}

}  // namespace ipsec::engine::ike
