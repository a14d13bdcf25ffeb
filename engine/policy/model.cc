#include "engine/policy/model.h"

#include <algorithm>

namespace ipsec::engine::policy {
namespace {
template <typename T>
const T* FindByName(const std::vector<T>& items, const std::string& name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == name; });
  return it == items.end() ? nullptr : &*it;
}
}  // namespace

bool IsAead(EncryptionAlgorithm a) {
  return a == EncryptionAlgorithm::kAes128Gcm16 || a == EncryptionAlgorithm::kAes256Gcm16 ||
         a == EncryptionAlgorithm::kChaCha20Poly1305;
}
bool IsLegacy(EncryptionAlgorithm a) {
  return a == EncryptionAlgorithm::kTripleDes || a == EncryptionAlgorithm::kDes;
}
bool IsLegacy(IntegrityAlgorithm a) {
  return a == IntegrityAlgorithm::kHmacSha1_96 || a == IntegrityAlgorithm::kHmacMd5_96;
}
// HMAC-SHA1 as a PRF is still standard for IKEv2 (RFC 8247 §2.3); only MD5 is legacy.
bool IsLegacy(PrfAlgorithm a) { return a == PrfAlgorithm::kHmacMd5; }
bool IsLegacy(DhGroup g) { return g == DhGroup::kModp1024; }

const FilterList* Policy::FindFilterList(const std::string& n) const {
  return FindByName(filter_lists, n);
}
const FilterAction* Policy::FindFilterAction(const std::string& n) const {
  return FindByName(filter_actions, n);
}
const Rule* Policy::FindRule(const std::string& n) const { return FindByName(rules, n); }

}  // namespace ipsec::engine::policy
