#pragma once

// Proposals (RFC 7296 §2.7, §3.3): the policy's key-exchange settings and security methods as
// SA payloads, the responder's choice among the initiator's proposals, and the initiator's check
// of the responder's choice. Pure functions.

#include <optional>
#include <string>
#include <vector>

#include "engine/common/result.h"
#include "engine/ike/bundle.h"
#include "engine/ike/codec/messages.h"
#include "engine/ike/codec/sa_payload.h"
#include "engine/policy/model.h"

namespace ipsec::engine::ike {

// One transform of each type, as chosen for an IKE SA.
struct IkeAlgorithms {
  codec::EncrId encryption = codec::EncrId::kAesGcm16;
  uint16_t encryption_key_bits = 128;  // 0 when the cipher has no Key Length (ChaCha20, 3DES)
  codec::IntegId integrity = codec::IntegId::kNone;  // kNone with AEAD
  codec::PrfId prf = codec::PrfId::kHmacSha2_256;
  codec::DhGroup dh_group = codec::DhGroup::kCurve25519;
  bool operator==(const IkeAlgorithms&) const = default;
};

// One transform of each type, as chosen for a child SA.
struct ChildAlgorithms {
  codec::ProtocolId protocol = codec::ProtocolId::kEsp;
  codec::EncrId encryption = codec::EncrId::kAesGcm16;  // ESP only
  uint16_t encryption_key_bits = 128;
  codec::IntegId integrity = codec::IntegId::kNone;
  codec::DhGroup dh_group = codec::DhGroup::kNone;  // PFS group, kNone without PFS
  bool esn = false;
  // FAQ 46's AH+ESP bundle (bundle.h): the AH SA pair's integrity beside the ESP SA pair
  // described above (same ESN); kNone: no bundle.
  codec::IntegId ah_integrity = codec::IntegId::kNone;
  bool bundle() const { return ah_integrity != codec::IntegId::kNone; }
  bool operator==(const ChildAlgorithms&) const = default;
};

// strongSwan-style names of transform IDs ("aes128gcm16", "sha256", "prfsha256",
// "curve25519"); an ID we do not know prints as its number.
std::string Name(codec::EncrId id, uint16_t key_bits);
std::string Name(codec::IntegId id);
std::string Name(codec::PrfId id);
std::string Name(codec::DhGroup id);

// "aes128gcm16-prfsha256-curve25519", "esp:aes128gcm16-noesn" (strongSwan-like, for logs,
// the API and metrics labels).
std::string Describe(const IkeAlgorithms& a);
std::string Describe(const ChildAlgorithms& a);

// Policy algorithms as transforms.
struct EncryptionTransform {
  codec::EncrId id;
  uint16_t key_bits;  // 0: no Key Length attribute
};
EncryptionTransform ToTransform(policy::EncryptionAlgorithm a);
codec::IntegId ToTransform(policy::IntegrityAlgorithm a);
codec::PrfId ToTransform(policy::PrfAlgorithm a);
codec::DhGroup ToTransform(policy::DhGroup g);
bool IsAead(codec::EncrId id);

// The initiator's IKE SA payload: one proposal per configured IKE proposal, numbered from 1.
// `spi`: empty in IKE_SA_INIT, the new SPI (8 octets) for an IKE SA rekey (§1.3.2).
codec::SaPayload MakeIkeOffer(const std::vector<policy::IkeProposal>& proposals, Bytes spi = {});

// The initiator's child SA payload (§1.3.1): one proposal per security method, with `spi`
// (4 octets) and, with PFS, the DH group (§1.3.1 "KEi" and §3.3.3). An ah+esp method's
// proposal is its ESP half; MakeBundleOffer gives the AH halves.
codec::SaPayload MakeChildOffer(const std::vector<policy::SecurityMethod>& methods, uint32_t spi,
                                codec::DhGroup pfs_group);
// The bundle notification for the ah+esp methods among `methods` (numbered as MakeChildOffer
// numbers them), with our inbound AH SPI; nullopt when there are none.
std::optional<BundleNotify> MakeBundleOffer(const std::vector<policy::SecurityMethod>& methods,
                                            uint32_t ah_spi);

// The responder's choice (§2.7): the first of the initiator's proposals that matches one of
// `acceptable` (tried in the initiator's order, then ours), answered with that proposal's number
// and exactly one transform of each type. NO_PROPOSAL_CHOSEN (as kFailedPrecondition) when none
// does; the error message lists what was offered, for the IKE log.
struct IkeChoice {
  codec::Proposal reply;
  IkeAlgorithms algorithms;
};
Result<IkeChoice> ChooseIkeProposal(const codec::SaPayload& offered,
                                    const std::vector<policy::IkeProposal>& acceptable);

struct ChildChoice {
  codec::Proposal reply;  // the caller sets reply.spi to its own inbound SPI
  ChildAlgorithms algorithms;
  uint32_t peer_spi = 0;  // the initiator's inbound SPI from the chosen proposal
};
// How the responder treats DH transforms in child proposals (PFS, FAQ 18, RFC 7296 §1.3.1).
struct ChildDhRule {
  codec::DhGroup wanted = codec::DhGroup::kNone;  // the group we would use for PFS
  bool required = false;                          // proposals without a DH group are unacceptable
  bool ignore_offered = false;  // IKE_AUTH: no KE there, so DH transforms are ignored (§1.2)
};
// `bundle`: the initiator's bundle notification (nullptr: none). A proposal it completes
// matches only an ah+esp method with that AH integrity (algorithms.ah_integrity is set); any
// other proposal only an esp or ah method.
Result<ChildChoice> ChooseChildProposal(const codec::SaPayload& offered,
                                        const std::vector<policy::SecurityMethod>& acceptable,
                                        const ChildDhRule& dh,
                                        const BundleNotify* bundle = nullptr);

// The initiator's check of the responder's answer (§2.7): one proposal, one of ours by number,
// one transform of each type, each among those we offered.
Result<IkeAlgorithms> AcceptIkeReply(const codec::SaPayload& offered,
                                     const codec::SaPayload& reply);
// `bundle_offer`/`bundle_reply`: the bundle notifications we sent and got (nullptr: none).
// When the chosen proposal was a bundle proposal the reply must complete it (one entry, that
// proposal, an integrity we offered with it): else kFailedPrecondition, as the peer left out
// the AH half; a bundle in the reply for any other proposal is kInvalidArgument.
Result<ChildChoice> AcceptChildReply(const codec::SaPayload& offered, const codec::SaPayload& reply,
                                     const BundleNotify* bundle_offer = nullptr,
                                     const BundleNotify* bundle_reply = nullptr);

}  // namespace ipsec::engine::ike
