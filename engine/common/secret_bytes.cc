#include "engine/common/secret_bytes.h"

#include <string.h>  // explicit_bzero (glibc): a wipe the optimizer may not remove

namespace ipsec {

SecretBytes::SecretBytes(std::string_view data) : bytes_(data.begin(), data.end()) {}

SecretBytes::SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) {
    Wipe();
    bytes_ = other.bytes_;
  }
  return *this;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

bool SecretBytes::operator==(const SecretBytes& other) const {
  if (bytes_.size() != other.bytes_.size()) return false;
  uint8_t diff = 0;  // constant time in the length
  for (size_t i = 0; i < bytes_.size(); ++i) diff |= bytes_[i] ^ other.bytes_[i];
  return diff == 0;
}

void SecretBytes::Wipe() {
  if (!bytes_.empty()) explicit_bzero(bytes_.data(), bytes_.size());
  bytes_.clear();
}

}  // namespace ipsec
