#pragma once

// Protection of the Encrypted payload (SK): RFC 7296 §3.14 with CBC ciphers and an integrity
// transform; RFC 5282 §5 (AES-GCM) and RFC 7634 §2 (ChaCha20-Poly1305) for AEAD.
//
//   HDR, [plaintext payloads,] SK { inner payloads }
//
//   CBC:  SK = IV (one block) | E(inner | Padding | Pad Length) | ICV
//         ICV = integ(SK_a, message from the first header octet through the ciphertext)
//   AEAD: SK = IV (8 octets) | C | tag (16 octets), nonce = salt (4) | IV,
//         AAD = message from the first header octet through the SK payload header
//
// We send minimal padding (zeros; for AEAD only the Pad Length octet, as strongSwan does) and
// accept any Pad Length that fits. The IV comes from the injected Random: unpredictable, as CBC
// needs, and unique for AEAD with overwhelming probability at IKE message rates.
// engine/crypto does the cryptography; no OpenSSL here.

#include <cstdint>

#include "engine/common/bytes.h"
#include "engine/common/random.h"
#include "engine/common/result.h"
#include "engine/common/secret_bytes.h"
#include "engine/ike/codec/header.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/messages.h"
#include "engine/ike/codec/payload.h"

namespace ipsec::engine::ike::codec {

// The keys protecting one direction of an IKE SA: SK_ei/SK_ai for what the original initiator
// sends, SK_er/SK_ar for the other way (§2.14).
struct SkKeys {
  EncrId encryption = EncrId::kAesGcm16;
  uint16_t key_bits = 0;               // Key Length attribute: AES-CBC and AES-GCM; 0 otherwise
  SecretBytes encryption_key;          // SK_e without the salt
  SecretBytes salt;                    // AEAD: the 4 octets after the key in SK_e (RFC 5282 §7.1)
  IntegId integrity = IntegId::kNone;  // CBC ciphers only
  SecretBytes integrity_key;           // SK_a

  // Splits SK_e as derived (AEAD: key || salt) into key and salt.
  static SkKeys FromKeymat(EncrId encryption, uint16_t key_bits, const SecretBytes& sk_e,
                           IntegId integrity, const SecretBytes& sk_a);
};

// AES-GCM-16 and ChaCha20-Poly1305: SK carries no separate integrity transform.
bool IsAeadCipher(EncrId id);

// Octets SK adds around `inner_size` octets of payloads (IV, padding, Pad Length, ICV and the
// 4-octet payload header); kBadKeys for an unsupported algorithm.
Result<size_t> ProtectedOverhead(const SkKeys& keys, size_t inner_size);

// Builds HDR | SK { inner_payloads } with the header's SPIs, exchange, flags and message ID
// (Next Payload and Length computed). `first_inner` is the type of the first inner payload
// (kNone if there are none). kBadKeys if the keys do not fit the algorithms; kTooLarge above
// kMaxMessageSize.
Result<Bytes> EncodeProtected(const Header& header, PayloadType first_inner,
                              ByteSpan inner_payloads, const SkKeys& keys, Random& random);
// The same from payload structs: HDR, SK { inner... }.
Result<Bytes> EncodeProtectedMessage(const Header& header, const std::vector<PayloadEntry>& inner,
                                     const SkKeys& keys, Random& random);

// Verifies and decrypts the SK or SKF payload `message.encrypted` of `datagram` (the bytes
// DecodeMessage decoded `message` from) and returns its content: for SK, the inner payloads to
// hand to DecodePayloadChain(message.encrypted->first_inner, ...); for SKF, one fragment's
// content. For CBC the ICV is checked first, in constant time, before any decryption. A wrong
// ICV or tag is kIntegrity with no further detail; kBadLength if the payload cannot hold IV,
// a whole number of blocks and ICV; kBadPadding if Pad Length overruns the plaintext.
Result<Bytes> DecryptProtected(ByteSpan datagram, const Message& message, const SkKeys& keys);

namespace internal {
// Appends SK/SKF protection to `out`, which holds the message through the SK/SKF payload
// header with the final lengths already in place: IV | ciphertext | ICV. `content` is the
// plaintext before padding.
Status Seal(const SkKeys& keys, ByteSpan content, Random& random, Bytes& out);
// Sizes for framing: IV, cipher block (1 for AEAD), ICV.
struct SkSizes {
  size_t iv = 0;
  size_t block = 1;
  size_t icv = 0;
};
Result<SkSizes> SizesFor(const SkKeys& keys);
// Length of IV | E(content | padding | Pad Length) | ICV for `content_size` octets.
size_t SealedSize(const SkSizes& sizes, size_t content_size);
}  // namespace internal

}  // namespace ipsec::engine::ike::codec
