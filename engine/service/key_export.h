#pragma once

// DEBUG ONLY (issue 3: "a debug switch, off by default, writes Wireshark key files"): the
// session keys of every established IKE SA and every installed child SA, written as the two
// UAT tables Wireshark/tshark decrypt with, so an engineer can read our IKE and ESP traffic in
// a capture. This exposes every session key: the daemon wires it only when
// --debug-export-keys-dir is given, and says so with one warning event. Keys never reach logs,
// the API or metrics; this is the only place they leave the engine.
//
// <dir>/ikev2_decryption_table, one IKE SA per line (hex unquoted, names quoted):
//   <SPIi 16 hex>,<SPIr 16 hex>,<SK_ei>,<SK_er>,"<encryption>",<SK_ai>,<SK_ar>,"<integrity>"
//   AEAD: SK_ei/SK_er include the 4-octet salt (RFC 5282 §7.1), SK_ai/SK_ar empty, "NONE".
// <dir>/esp_sa, one direction of one child SA per line (all fields quoted):
//   "IPv4"|"IPv6","*","*","0x<SPI 8 hex>","<encryption>","0x<key>","<authentication>","0x<key>"
//   Addresses are "*" (a NAT changes them on the way); AES-GCM: key || salt (RFC 4106 §8.1),
//   authentication "NULL" (tshark then checks the GCM tag itself).
// The names are Wireshark 4.0's. Algorithms Wireshark cannot decrypt (ChaCha20-Poly1305, AH)
// get no line.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/dataplane/backend.h"

namespace ipsec::engine::service {

// An IKE SA's keys (RFC 7296 §2.14), in IANA transform IDs. Spans point into the SA; valid
// only during the call.
struct IkeSaKeyExport {
  uint64_t spi_i = 0;
  uint64_t spi_r = 0;
  uint16_t encryption_id = 0;  // IKEv2 Transform Type 1
  uint16_t encryption_key_bits = 0;
  uint16_t integrity_id = 0;  // Transform Type 3; 0 (none) with AEAD
  ByteSpan sk_ei, sk_er, sk_ai, sk_ar;
};

// One direction of a child SA (RFC 7296 §2.17).
struct EspSaKeyExport {
  bool ipv6 = false;
  uint32_t spi = 0;
  uint16_t encryption_id = 0;  // 0: AH (no line)
  uint16_t integrity_id = 0;
  ByteSpan encryption_key;  // AEAD: key || salt
  ByteSpan integrity_key;
};

// Where exported keys go. Called on the IKE thread.
class KeyExportSink {
 public:
  virtual ~KeyExportSink() = default;
  virtual void ExportIkeSa(const IkeSaKeyExport& keys) = 0;
  virtual void ExportEspSa(const EspSaKeyExport& keys) = 0;
};

// One UAT line (no newline) in the formats above; nullopt when Wireshark 4.0 cannot decrypt
// that algorithm.
std::optional<std::string> IkeDecryptionTableLine(const IkeSaKeyExport& keys);
std::optional<std::string> EspSaLine(const EspSaKeyExport& keys);

inline constexpr char kIkeKeyFile[] = "ikev2_decryption_table";
inline constexpr char kEspKeyFile[] = "esp_sa";

// Appends lines to <dir>/ikev2_decryption_table and <dir>/esp_sa (created 0600; the directory
// 0700 if missing). Write errors are counted, never fatal, never logged with the line.
class KeyFileWriter final : public KeyExportSink {
 public:
  static Result<std::unique_ptr<KeyFileWriter>> Open(const std::string& dir);
  void ExportIkeSa(const IkeSaKeyExport& keys) override;
  void ExportEspSa(const EspSaKeyExport& keys) override;
  uint64_t lines_written() const;
  uint64_t lines_skipped() const;  // unsupported algorithm or write error

 private:
  explicit KeyFileWriter(std::string dir) : dir_(std::move(dir)) {}
  void Append(const char* file, const std::optional<std::string>& line);
  std::string dir_;
  mutable std::mutex mu_;
  uint64_t written_ = 0;  // guarded by mu_
  uint64_t skipped_ = 0;  // guarded by mu_
};

// A data path decorator that hands each SA's keys to `sink` once `inner` accepted it; every
// other call passes through. Owns `inner`; `sink` is not owned and must outlive it.
class KeyExportingBackend final : public dataplane::Backend {
 public:
  KeyExportingBackend(std::unique_ptr<dataplane::Backend> inner, KeyExportSink& sink)
      : inner_(std::move(inner)), sink_(sink) {}
  const char* name() const override { return inner_->name(); }
  Result<uint32_t> AllocateSpi(dataplane::SaProtocol protocol) override {
    return inner_->AllocateSpi(protocol);
  }
  Status AddSa(const dataplane::SaConfig& sa) override;
  Status UpdateSaEndpoints(dataplane::SaProtocol protocol, uint32_t spi, const Endpoint& local,
                           const Endpoint& remote, bool udp_encapsulation) override {
    return inner_->UpdateSaEndpoints(protocol, spi, local, remote, udp_encapsulation);
  }
  Status DeleteSa(dataplane::SaProtocol protocol, uint32_t spi) override {
    return inner_->DeleteSa(protocol, spi);
  }
  Status AddPolicy(const dataplane::PolicyConfig& policy) override {
    return inner_->AddPolicy(policy);
  }
  Status DeletePolicy(uint32_t reqid, dataplane::SaDirection direction) override {
    return inner_->DeletePolicy(reqid, direction);
  }
  Result<dataplane::SaCounters> QuerySa(dataplane::SaProtocol protocol,
                                        uint32_t spi) const override {
    return inner_->QuerySa(protocol, spi);
  }
  Status SetClearFallback(const dataplane::ClearFallback& fallback) override {
    return inner_->SetClearFallback(fallback);
  }
  Status EndClearFallback(const std::string& rule, const IpAddress& peer) override {
    return inner_->EndClearFallback(rule, peer);
  }
  void SetEvents(dataplane::BackendEvents* events) override { inner_->SetEvents(events); }
  dataplane::Backend& inner() { return *inner_; }

 private:
  std::unique_ptr<dataplane::Backend> inner_;
  KeyExportSink& sink_;
};

}  // namespace ipsec::engine::service
