#pragma once

// Key derivation for IKE SAs (RFC 7296 §2.14, §2.18) and child SAs (§2.17). Pure functions over
// engine/crypto; every key lives in SecretBytes.

#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/result.h"
#include "engine/common/secret_bytes.h"
#include "engine/crypto/prf.h"
#include "engine/ike/proposals.h"

namespace ipsec::engine::ike {

// The IKE SA's seven keys (§2.14). The "i" keys protect what the original initiator sends.
struct IkeKeys {
  SecretBytes sk_d;
  SecretBytes sk_ai;
  SecretBytes sk_ar;
  SecretBytes sk_ei;  // AEAD: key || 4-octet salt (RFC 5282 §7.1, RFC 7634 §4)
  SecretBytes sk_er;
  SecretBytes sk_pi;
  SecretBytes sk_pr;
};

// Key lengths in octets for a negotiated algorithm set.
size_t EncryptionKeySize(codec::EncrId id, uint16_t key_bits);  // with the AEAD salt
size_t IntegrityKeySize(codec::IntegId id);                     // 0 for kNone
// The PRF of a transform ID; kInvalidArgument for an ID we do not implement.
Result<crypto::Prf> PrfFor(codec::PrfId id);

// SKEYSEED = prf(Ni | Nr, g^ir); {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)  (§2.14)
Result<IkeKeys> DeriveIkeKeys(const IkeAlgorithms& algorithms, const SecretBytes& shared_secret,
                              ByteSpan ni, ByteSpan nr, uint64_t spi_i, uint64_t spi_r);

// The rekeyed IKE SA (§2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the OLD
// SA's PRF, then prf+ with the NEW SA's PRF, nonces and SPIs.
Result<IkeKeys> DeriveRekeyedIkeKeys(const IkeAlgorithms& algorithms, codec::PrfId old_prf,
                                     const SecretBytes& old_sk_d, const SecretBytes& shared_secret,
                                     ByteSpan ni, ByteSpan nr, uint64_t spi_i, uint64_t spi_r);

// A child SA's keys (§2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken in the order
// encryption then integrity for the SA initiator -> responder, then for responder -> initiator.
// "Initiator" is the initiator of the exchange that created the child SA.
struct ChildKeys {
  SecretBytes encryption_i;  // AEAD: key || salt (RFC 4106 §8.1, RFC 7634 §2)
  SecretBytes integrity_i;
  SecretBytes encryption_r;
  SecretBytes integrity_r;
  // FAQ 46's AH+ESP bundle (ChildAlgorithms::bundle()): the AH SAs' integrity keys.
  SecretBytes ah_integrity_i;
  SecretBytes ah_integrity_r;
};
Result<ChildKeys> DeriveChildKeys(const ChildAlgorithms& algorithms, codec::PrfId prf,
                                  const SecretBytes& sk_d, const SecretBytes* pfs_shared_secret,
                                  ByteSpan ni, ByteSpan nr);

}  // namespace ipsec::engine::ike
