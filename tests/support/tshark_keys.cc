#include "tests/support/tshark_keys.h"

#include <cctype>
#include <cstdio>

namespace ipsec::testing {
namespace {

std::string Hex(uint64_t value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*llx", digits, static_cast<unsigned long long>(value));
  return buf;
}

bool IsHex(const std::string& s) {
  if (s.size() % 2 != 0) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

int GcmIcvOctets(EncrId id) {
  switch (id) {
    case EncrId::kAesGcm8:
    case EncrId::kAesCcm8:
      return 8;
    case EncrId::kAesGcm12:
    case EncrId::kAesCcm12:
      return 12;
    default:
      return 16;
  }
}

}  // namespace

bool IsAead(EncrId id) {
  switch (id) {
    case EncrId::kAesCcm8:
    case EncrId::kAesCcm12:
    case EncrId::kAesCcm16:
    case EncrId::kAesGcm8:
    case EncrId::kAesGcm12:
    case EncrId::kAesGcm16:
    case EncrId::kChaCha20Poly1305:
      return true;
    default:
      return false;
  }
}

std::optional<EncrId> EncrIdFromStrongswan(std::string_view name) {
  static const std::pair<std::string_view, EncrId> kNames[] = {
      {"DES_CBC", EncrId::kDes},         {"3DES_CBC", EncrId::k3Des},
      {"NULL", EncrId::kNull},           {"AES_CBC", EncrId::kAesCbc},
      {"AES_CTR", EncrId::kAesCtr},      {"AES_CCM_8", EncrId::kAesCcm8},
      {"AES_CCM_12", EncrId::kAesCcm12}, {"AES_CCM_16", EncrId::kAesCcm16},
      {"AES_GCM_8", EncrId::kAesGcm8},   {"AES_GCM_12", EncrId::kAesGcm12},
      {"AES_GCM_16", EncrId::kAesGcm16}, {"CHACHA20_POLY1305", EncrId::kChaCha20Poly1305},
  };
  for (const auto& [n, id] : kNames) {
    if (n == name) return id;
  }
  return std::nullopt;
}

std::optional<IntegId> IntegIdFromStrongswan(std::string_view name) {
  static const std::pair<std::string_view, IntegId> kNames[] = {
      {"", IntegId::kNone},
      {"HMAC_MD5_96", IntegId::kHmacMd5_96},
      {"HMAC_SHA1_96", IntegId::kHmacSha1_96},
      {"HMAC_SHA2_256_128", IntegId::kHmacSha2_256_128},
      {"HMAC_SHA2_384_192", IntegId::kHmacSha2_384_192},
      {"HMAC_SHA2_512_256", IntegId::kHmacSha2_512_256},
  };
  for (const auto& [n, id] : kNames) {
    if (n == name) return id;
  }
  return std::nullopt;
}

std::optional<std::string> TsharkIkeEncryption(EncrId id, int key_bits) {
  if (key_bits != 128 && key_bits != 192 && key_bits != 256 && id != EncrId::kNull &&
      id != EncrId::k3Des) {
    return std::nullopt;
  }
  std::string bits = std::to_string(key_bits);
  std::string icv = std::to_string(GcmIcvOctets(id));
  switch (id) {
    case EncrId::kNull:
      return "NULL [RFC2410]";
    case EncrId::k3Des:
      return "3DES [RFC2451]";
    case EncrId::kAesCbc:
      return "AES-CBC-" + bits + " [RFC3602]";
    case EncrId::kAesCtr:
      return "AES-CTR-" + bits + " [RFC5930]";
    case EncrId::kAesGcm8:
    case EncrId::kAesGcm12:
    case EncrId::kAesGcm16:
      return "AES-GCM-" + bits + " with " + icv + " octet ICV [RFC5282]";
    case EncrId::kAesCcm8:
    case EncrId::kAesCcm12:
    case EncrId::kAesCcm16:
      return "AES-CCM-" + bits + " with " + icv + " octet ICV [RFC5282]";
    default:
      return std::nullopt;
  }
}

std::optional<std::string> TsharkIkeIntegrity(IntegId id) {
  switch (id) {
    case IntegId::kNone:
      return "NONE [RFC4306]";
    case IntegId::kHmacMd5_96:
      return "HMAC_MD5_96 [RFC2403]";
    case IntegId::kHmacSha1_96:
      return "HMAC_SHA1_96 [RFC2404]";
    case IntegId::kHmacSha2_256_128:
      return "HMAC_SHA2_256_128 [RFC4868]";
    case IntegId::kHmacSha2_384_192:
      return "HMAC_SHA2_384_192 [RFC4868]";
    case IntegId::kHmacSha2_512_256:
      return "HMAC_SHA2_512_256 [RFC4868]";
  }
  return std::nullopt;
}

std::optional<std::string> TsharkEspEncryption(EncrId id) {
  switch (id) {
    case EncrId::kNull:
      return "NULL";
    case EncrId::kDes:
      return "DES-CBC [RFC2405]";
    case EncrId::k3Des:
      return "TripleDES-CBC [RFC2451]";
    case EncrId::kAesCbc:
      return "AES-CBC [RFC3602]";
    case EncrId::kAesCtr:
      return "AES-CTR [RFC3686]";
    case EncrId::kAesGcm8:
    case EncrId::kAesGcm12:
    case EncrId::kAesGcm16:
      return "AES-GCM with " + std::to_string(GcmIcvOctets(id)) + " octet ICV [RFC4106]";
    default:
      return std::nullopt;  // CCM and ChaCha20-Poly1305: not in Wireshark 4.0's ESP table
  }
}

std::optional<std::string> TsharkEspAuthentication(EncrId encr, IntegId integ) {
  if (IsAead(encr)) {
    if (integ != IntegId::kNone) return std::nullopt;
    return "NULL";
  }
  switch (integ) {
    case IntegId::kNone:
      return "NULL";
    case IntegId::kHmacMd5_96:
      return "HMAC-MD5-96 [RFC2403]";
    case IntegId::kHmacSha1_96:
      return "HMAC-SHA-1-96 [RFC2404]";
    case IntegId::kHmacSha2_256_128:
      return "HMAC-SHA-256-128 [RFC4868]";
    case IntegId::kHmacSha2_384_192:
      return "HMAC-SHA-384-192 [RFC4868]";
    case IntegId::kHmacSha2_512_256:
      return "HMAC-SHA-512-256 [RFC4868]";
  }
  return std::nullopt;
}

bool IkeDecryptionTableLine(const IkeSaKeys& k, std::string* line, std::string* error) {
  auto encr = TsharkIkeEncryption(k.encr, k.encr_key_bits);
  auto integ = TsharkIkeIntegrity(IsAead(k.encr) ? IntegId::kNone : k.integ);
  if (!encr || !integ) {
    *error = "tshark 4.0 cannot decrypt IKEv2 with encryption " +
             std::to_string(static_cast<int>(k.encr)) + "/" + std::to_string(k.encr_key_bits) +
             " integrity " + std::to_string(static_cast<int>(k.integ));
    return false;
  }
  for (const std::string* key : {&k.sk_ei, &k.sk_er, &k.sk_ai, &k.sk_ar}) {
    if (!IsHex(*key)) return (*error = "IKE key is not hex: '" + *key + "'", false);
  }
  std::string ai = IsAead(k.encr) ? "" : k.sk_ai;
  std::string ar = IsAead(k.encr) ? "" : k.sk_ar;
  *line = Hex(k.spi_i, 16) + "," + Hex(k.spi_r, 16) + "," + k.sk_ei + "," + k.sk_er + "," +
          Quote(*encr) + "," + ai + "," + ar + "," + Quote(*integ);
  return true;
}

bool EspSaLine(const EspSaKeys& k, std::string* line, std::string* error) {
  auto encr = TsharkEspEncryption(k.encr);
  auto auth = TsharkEspAuthentication(k.encr, k.integ);
  if (!encr || !auth) {
    *error = "tshark 4.0 cannot decrypt ESP with encryption " +
             std::to_string(static_cast<int>(k.encr)) + " integrity " +
             std::to_string(static_cast<int>(k.integ));
    return false;
  }
  if (!IsHex(k.encr_key) || !IsHex(k.integ_key)) {
    *error = "ESP key is not hex";
    return false;
  }
  std::string auth_key = *auth == "NULL" ? "" : "0x" + k.integ_key;
  *line = Quote(k.ipv6 ? "IPv6" : "IPv4") + "," + Quote(k.src) + "," + Quote(k.dst) + "," +
          Quote("0x" + Hex(k.spi, 8)) + "," + Quote(*encr) + "," + Quote("0x" + k.encr_key) + "," +
          Quote(*auth) + "," + Quote(auth_key);
  return true;
}

}  // namespace ipsec::testing
