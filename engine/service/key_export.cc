#include "engine/service/key_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ipsec::engine::service {
namespace {

// IANA IKEv2 Transform Type 1 and 3 IDs (RFC 7296 §3.3.2).
constexpr uint16_t kEncrNull = 11;
constexpr uint16_t kEncr3Des = 3;
constexpr uint16_t kEncrDes = 2;
constexpr uint16_t kEncrAesCbc = 12;
constexpr uint16_t kEncrAesGcm16 = 20;

std::string Hex(ByteSpan bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string HexNumber(uint64_t value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*llx", digits, static_cast<unsigned long long>(value));
  return buf;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// Wireshark 4.0's IKEv2 UAT names (packet-isakmp.c).
std::optional<std::string> IkeEncryptionName(uint16_t id, uint16_t bits) {
  const std::string b = std::to_string(bits);
  const bool aes_bits = bits == 128 || bits == 192 || bits == 256;
  switch (id) {
    case kEncrNull:
      return "NULL [RFC2410]";
    case kEncr3Des:
      return "3DES [RFC2451]";
    case kEncrAesCbc:
      if (!aes_bits) return std::nullopt;
      return "AES-CBC-" + b + " [RFC3602]";
    case kEncrAesGcm16:
      if (!aes_bits) return std::nullopt;
      return "AES-GCM-" + b + " with 16 octet ICV [RFC5282]";
    default:
      return std::nullopt;  // ChaCha20-Poly1305: Wireshark 4.0 has no IKEv2 decryption for it
  }
}

std::optional<std::string> IkeIntegrityName(uint16_t id) {
  switch (id) {
    case 0:
      return "NONE [RFC4306]";
    case 1:
      return "HMAC_MD5_96 [RFC2403]";
    case 2:
      return "HMAC_SHA1_96 [RFC2404]";
    case 12:
      return "HMAC_SHA2_256_128 [RFC4868]";
    case 13:
      return "HMAC_SHA2_384_192 [RFC4868]";
    case 14:
      return "HMAC_SHA2_512_256 [RFC4868]";
    default:
      return std::nullopt;
  }
}

// Wireshark 4.0's ESP UAT names (packet-ipsec.c).
std::optional<std::string> EspEncryptionName(uint16_t id) {
  switch (id) {
    case kEncrNull:
      return "NULL";
    case kEncrDes:
      return "DES-CBC [RFC2405]";
    case kEncr3Des:
      return "TripleDES-CBC [RFC2451]";
    case kEncrAesCbc:
      return "AES-CBC [RFC3602]";
    case kEncrAesGcm16:
      return "AES-GCM with 16 octet ICV [RFC4106]";
    default:
      return std::nullopt;
  }
}

std::optional<std::string> EspAuthenticationName(uint16_t id) {
  switch (id) {
    case 0:
      return "NULL";
    case 1:
      return "HMAC-MD5-96 [RFC2403]";
    case 2:
      return "HMAC-SHA-1-96 [RFC2404]";
    case 12:
      return "HMAC-SHA-256-128 [RFC4868]";
    case 13:
      return "HMAC-SHA-384-192 [RFC4868]";
    case 14:
      return "HMAC-SHA-512-256 [RFC4868]";
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> IkeDecryptionTableLine(const IkeSaKeyExport& k) {
  const bool aead = k.encryption_id == kEncrAesGcm16;
  auto encr = IkeEncryptionName(k.encryption_id, k.encryption_key_bits);
  auto integ = IkeIntegrityName(aead ? 0 : k.integrity_id);
  if (!encr || !integ) return std::nullopt;
  return HexNumber(k.spi_i, 16) + "," + HexNumber(k.spi_r, 16) + "," + Hex(k.sk_ei) + "," +
         Hex(k.sk_er) + "," + Quote(*encr) + "," + (aead ? "" : Hex(k.sk_ai)) + "," +
         (aead ? "" : Hex(k.sk_ar)) + "," + Quote(*integ);
}

std::optional<std::string> EspSaLine(const EspSaKeyExport& k) {
  if (k.encryption_id == 0) return std::nullopt;  // AH: not in the ESP table
  const bool aead = k.encryption_id == kEncrAesGcm16;
  auto encr = EspEncryptionName(k.encryption_id);
  auto auth = EspAuthenticationName(aead ? 0 : k.integrity_id);
  if (!encr || !auth || (aead && k.integrity_id != 0)) return std::nullopt;
  const std::string auth_key = *auth == "NULL" ? "" : "0x" + Hex(k.integrity_key);
  return Quote(k.ipv6 ? "IPv6" : "IPv4") + "," + Quote("*") + "," + Quote("*") + "," +
         Quote("0x" + HexNumber(k.spi, 8)) + "," + Quote(*encr) + "," +
         Quote("0x" + Hex(k.encryption_key)) + "," + Quote(*auth) + "," + Quote(auth_key);
}

Result<std::unique_ptr<KeyFileWriter>> KeyFileWriter::Open(const std::string& dir) {
  if (dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty key export directory");
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kUnavailable, std::string(strerror(errno)), dir);
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, "not a directory", dir);
  }
  return std::unique_ptr<KeyFileWriter>(new KeyFileWriter(dir));
}

void KeyFileWriter::Append(const char* file, const std::optional<std::string>& line) {
  std::lock_guard lock(mu_);
  if (!line) {
    ++skipped_;
    return;
  }
  const std::string path = dir_ + "/" + file;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    ++skipped_;
    return;
  }
  std::string text = *line + "\n";
  // One write with O_APPEND: a line is never interleaved with another writer's.
  ssize_t n = write(fd, text.data(), text.size());
  close(fd);
  explicit_bzero(text.data(), text.size());
  if (n == static_cast<ssize_t>(text.size())) {
    ++written_;
  } else {
    ++skipped_;
  }
}

void KeyFileWriter::ExportIkeSa(const IkeSaKeyExport& keys) {
  auto line = IkeDecryptionTableLine(keys);
  Append(kIkeKeyFile, line);
  if (line) explicit_bzero(line->data(), line->size());
}

void KeyFileWriter::ExportEspSa(const EspSaKeyExport& keys) {
  auto line = EspSaLine(keys);
  Append(kEspKeyFile, line);
  if (line) explicit_bzero(line->data(), line->size());
}

uint64_t KeyFileWriter::lines_written() const {
  std::lock_guard lock(mu_);
  return written_;
}

uint64_t KeyFileWriter::lines_skipped() const {
  std::lock_guard lock(mu_);
  return skipped_;
}

Status KeyExportingBackend::AddSa(const dataplane::SaConfig& sa) {
  Status s = inner_->AddSa(sa);
  if (!s.ok() || sa.protocol != dataplane::SaProtocol::kEsp) return s;
  EspSaKeyExport k;
  k.ipv6 = !sa.remote.address.is_v4();
  k.spi = sa.spi;
  k.encryption_id = sa.algorithms.encryption_id;
  k.integrity_id = sa.algorithms.integrity_id;
  k.encryption_key =
      ByteSpan(sa.algorithms.encryption_key.data(), sa.algorithms.encryption_key.size());
  k.integrity_key =
      ByteSpan(sa.algorithms.integrity_key.data(), sa.algorithms.integrity_key.size());
  sink_.ExportEspSa(k);
  return s;
}

}  // namespace ipsec::engine::service
