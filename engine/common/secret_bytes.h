#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ipsec {

// Key material (preshared keys, private keys, session keys). Wiped on destruction and on
// reassignment (as WireGuard zeroes keys on every exit). It has no stream operator and no
// ToString, so it cannot reach a log line by accident; code that must print one shows
// Redacted().
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string_view data);
  SecretBytes(const SecretBytes& other);
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  // The secret as text, for the few places that need it (key derivation, persistence).
  std::string_view view() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }
  bool operator==(const SecretBytes& other) const;

  static constexpr const char* kRedacted = "<redacted>";

 private:
  void Wipe();
  std::vector<uint8_t> bytes_;
};

}  // namespace ipsec
