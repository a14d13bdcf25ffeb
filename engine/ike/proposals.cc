#include "engine/ike/proposals.h"

#include <algorithm>
#include <map>
#include <set>

namespace ipsec::engine::ike {
namespace {

using codec::DhGroup;
using codec::EncrId;
using codec::IntegId;
using codec::PrfId;
using codec::Proposal;
using codec::ProtocolId;
using codec::SaPayload;
using codec::Transform;
using codec::TransformType;

Transform Make(TransformType type, uint16_t id, uint16_t key_bits = 0) {
  Transform t;
  t.type = type;
  t.id = id;
  if (key_bits != 0) t.key_length = key_bits;
  return t;
}

Transform EncrTransform(EncryptionTransform e) {
  return Make(TransformType::kEncr, static_cast<uint16_t>(e.id), e.key_bits);
}

// The transforms of one policy IKE proposal (§3.3.3: ENCR, PRF, INTEG unless AEAD, DH).
std::vector<Transform> IkeTransforms(const policy::IkeProposal& p) {
  std::vector<Transform> out{EncrTransform(ToTransform(p.encryption)),
                             Make(TransformType::kPrf, static_cast<uint16_t>(ToTransform(p.prf)))};
  if (!IsAead(ToTransform(p.encryption).id)) {
    out.push_back(Make(TransformType::kInteg, static_cast<uint16_t>(ToTransform(p.integrity))));
  }
  out.push_back(Make(TransformType::kDh, static_cast<uint16_t>(ToTransform(p.dh_group))));
  return out;
}

// The transforms of one security method's child SA (§3.3.3: ESP: ENCR, INTEG unless AEAD, ESN;
// AH: INTEG, ESN). An ah+esp method gives its ESP half; its AH half is in the bundle
// notification (bundle.h).
std::vector<Transform> ChildTransforms(const policy::SecurityMethod& m, ProtocolId* protocol) {
  std::vector<Transform> out;
  if (m.protocol == policy::IpsecProtocol::kAh) {
    *protocol = ProtocolId::kAh;
    out.push_back(Make(TransformType::kInteg, static_cast<uint16_t>(ToTransform(m.ah_integrity))));
  } else {
    *protocol = ProtocolId::kEsp;
    EncryptionTransform e = ToTransform(m.esp_encryption);
    out.push_back(EncrTransform(e));
    if (!IsAead(e.id)) {
      out.push_back(
          Make(TransformType::kInteg, static_cast<uint16_t>(ToTransform(m.esp_integrity))));
    }
  }
  out.push_back(Make(TransformType::kEsn, static_cast<uint16_t>(codec::EsnId::kNoEsn)));
  return out;
}

bool KnownType(TransformType t) { return t >= TransformType::kEncr && t <= TransformType::kEsn; }

// A proposal is considered only when every transform is of a known type and carries no
// attribute but Key Length (§3.3.6).
bool Understood(const Proposal& p) {
  return std::all_of(p.transforms.begin(), p.transforms.end(), [](const Transform& t) {
    return KnownType(t.type) && t.other_attributes.empty();
  });
}

bool Offers(const Proposal& p, const Transform& wanted) {
  return std::any_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) {
    return t.type == wanted.type && t.id == wanted.id && t.key_length == wanted.key_length;
  });
}

bool HasType(const Proposal& p, TransformType type) {
  return std::any_of(p.transforms.begin(), p.transforms.end(),
                     [&](const Transform& t) { return t.type == type; });
}

std::optional<Transform> OnlyOf(const Proposal& p, TransformType type, int* count) {
  std::optional<Transform> found;
  *count = 0;
  for (const Transform& t : p.transforms) {
    if (t.type != type) continue;
    ++*count;
    found = t;
  }
  return found;
}

std::string DescribeOffer(const SaPayload& offered) {
  std::string out;
  for (const Proposal& p : offered.proposals) {
    if (!out.empty()) out += ", ";
    out += "#" + std::to_string(p.number) + "{";
    for (size_t i = 0; i < p.transforms.size(); ++i) {
      const Transform& t = p.transforms[i];
      out += (i ? " " : "") + std::to_string(static_cast<int>(t.type)) + ":" + std::to_string(t.id);
      if (t.key_length) out += "/" + std::to_string(*t.key_length);
    }
    out += "}";
  }
  return out.empty() ? "nothing" : out;
}

Error NoProposal(const std::string& what, const SaPayload& offered) {
  return MakeError(ErrorCode::kFailedPrecondition, "NO_PROPOSAL_CHOSEN: no " + what +
                                                       " proposal acceptable; peer offered " +
                                                       DescribeOffer(offered));
}

IkeAlgorithms IkeAlgorithmsOf(const std::vector<Transform>& transforms) {
  IkeAlgorithms a;
  for (const Transform& t : transforms) {
    switch (t.type) {
      case TransformType::kEncr:
        a.encryption = static_cast<EncrId>(t.id);
        a.encryption_key_bits = t.key_length.value_or(0);
        break;
      case TransformType::kPrf:
        a.prf = static_cast<PrfId>(t.id);
        break;
      case TransformType::kInteg:
        a.integrity = static_cast<IntegId>(t.id);
        break;
      case TransformType::kDh:
        a.dh_group = static_cast<DhGroup>(t.id);
        break;
      case TransformType::kEsn:
        break;
    }
  }
  return a;
}

ChildAlgorithms ChildAlgorithmsOf(ProtocolId protocol, const std::vector<Transform>& transforms) {
  ChildAlgorithms a;
  a.protocol = protocol;
  a.encryption = EncrId::kNull;
  a.encryption_key_bits = 0;
  for (const Transform& t : transforms) {
    if (t.type == TransformType::kEncr) {
      a.encryption = static_cast<EncrId>(t.id);
      a.encryption_key_bits = t.key_length.value_or(0);
    } else if (t.type == TransformType::kInteg) {
      a.integrity = static_cast<IntegId>(t.id);
    } else if (t.type == TransformType::kDh) {
      a.dh_group = static_cast<DhGroup>(t.id);
    } else if (t.type == TransformType::kEsn) {
      a.esn = t.id == static_cast<uint16_t>(codec::EsnId::kEsn);
    }
  }
  return a;
}

uint32_t SpiOf(const Bytes& spi) {
  uint32_t v = 0;
  for (uint8_t b : spi) v = v << 8 | b;
  return v;
}

// The ESN and DH transforms the responder answers with, or nullopt when the offered proposal
// is unacceptable on those two counts.
std::optional<std::vector<Transform>> ChooseEsnAndDh(const Proposal& p, const ChildDhRule& dh) {
  std::vector<Transform> out;
  const Transform no_esn = Make(TransformType::kEsn, static_cast<uint16_t>(codec::EsnId::kNoEsn));
  const Transform esn = Make(TransformType::kEsn, static_cast<uint16_t>(codec::EsnId::kEsn));
  // §3.3.3 makes ESN mandatory in ESP/AH proposals; a peer that omits it gets "no ESN".
  if (!HasType(p, TransformType::kEsn) || Offers(p, no_esn)) {
    out.push_back(no_esn);
  } else if (Offers(p, esn)) {
    out.push_back(esn);
  } else {
    return std::nullopt;
  }
  if (dh.ignore_offered) return out;
  const bool offers_dh = std::any_of(p.transforms.begin(), p.transforms.end(), [](auto& t) {
    return t.type == TransformType::kDh && t.id != 0;
  });
  if (!offers_dh) {
    if (dh.required) return std::nullopt;
    return out;
  }
  const Transform wanted = Make(TransformType::kDh, static_cast<uint16_t>(dh.wanted));
  if (dh.wanted != DhGroup::kNone && Offers(p, wanted)) {
    out.push_back(wanted);
    return out;
  }
  if (dh.required) return std::nullopt;
  // Not wanted but offered: accept the peer's first group (more secrecy, never less).
  for (const Transform& t : p.transforms) {
    if (t.type == TransformType::kDh && t.id != 0) {
      out.push_back(t);
      return out;
    }
  }
  return out;
}

}  // namespace

std::string Name(EncrId id, uint16_t key_bits) {
  std::string bits = std::to_string(key_bits);
  switch (id) {
    case EncrId::kAesGcm16:
      return "aes" + bits + "gcm16";
    case EncrId::kAesCbc:
      return "aes" + bits;
    case EncrId::kChaCha20Poly1305:
      return "chacha20poly1305";
    case EncrId::k3Des:
      return "3des";
    case EncrId::kDes:
      return "des";
    case EncrId::kNull:
      return "null";
  }
  return "encr" + std::to_string(static_cast<int>(id));
}

std::string Name(IntegId id) {
  switch (id) {
    case IntegId::kNone:
      return "none";
    case IntegId::kHmacSha2_256_128:
      return "sha256";
    case IntegId::kHmacSha2_384_192:
      return "sha384";
    case IntegId::kHmacSha2_512_256:
      return "sha512";
    case IntegId::kHmacSha1_96:
      return "sha1";
    case IntegId::kHmacMd5_96:
      return "md5";
  }
  return "integ" + std::to_string(static_cast<int>(id));
}

std::string Name(PrfId id) {
  switch (id) {
    case PrfId::kHmacSha2_256:
      return "prfsha256";
    case PrfId::kHmacSha2_384:
      return "prfsha384";
    case PrfId::kHmacSha2_512:
      return "prfsha512";
    case PrfId::kHmacSha1:
      return "prfsha1";
    case PrfId::kHmacMd5:
      return "prfmd5";
  }
  return "prf" + std::to_string(static_cast<int>(id));
}

std::string Name(DhGroup id) {
  switch (id) {
    case DhGroup::kNone:
      return "none";
    case DhGroup::kModp1024:
      return "modp1024";
    case DhGroup::kModp2048:
      return "modp2048";
    case DhGroup::kModp3072:
      return "modp3072";
    case DhGroup::kEcp256:
      return "ecp256";
    case DhGroup::kEcp384:
      return "ecp384";
    case DhGroup::kEcp521:
      return "ecp521";
    case DhGroup::kCurve25519:
      return "curve25519";
  }
  return "dh" + std::to_string(static_cast<int>(id));
}

std::string Describe(const IkeAlgorithms& a) {
  std::string s = Name(a.encryption, a.encryption_key_bits);
  if (a.integrity != IntegId::kNone) s += "-" + Name(a.integrity);
  return s + "-" + Name(a.prf) + "-" + Name(a.dh_group);
}

std::string Describe(const ChildAlgorithms& a) {
  std::string s = a.protocol == ProtocolId::kAh ? "ah:" : "esp:";
  if (a.protocol != ProtocolId::kAh) s += Name(a.encryption, a.encryption_key_bits);
  if (a.integrity != IntegId::kNone) {
    s += (a.protocol == ProtocolId::kAh ? "" : "-") + Name(a.integrity);
  }
  if (a.dh_group != DhGroup::kNone) s += "-" + Name(a.dh_group);
  s += a.esn ? "-esn" : "-noesn";
  if (a.bundle()) s += "+ah:" + Name(a.ah_integrity);  // FAQ 46: AH over the ESP
  return s;
}

EncryptionTransform ToTransform(policy::EncryptionAlgorithm a) {
  switch (a) {
    case policy::EncryptionAlgorithm::kNull:
      return {EncrId::kNull, 0};
    case policy::EncryptionAlgorithm::kAes128Gcm16:
      return {EncrId::kAesGcm16, 128};
    case policy::EncryptionAlgorithm::kAes256Gcm16:
      return {EncrId::kAesGcm16, 256};
    case policy::EncryptionAlgorithm::kAes128Cbc:
      return {EncrId::kAesCbc, 128};
    case policy::EncryptionAlgorithm::kAes256Cbc:
      return {EncrId::kAesCbc, 256};
    case policy::EncryptionAlgorithm::kChaCha20Poly1305:
      return {EncrId::kChaCha20Poly1305, 0};
    case policy::EncryptionAlgorithm::kTripleDes:
      return {EncrId::k3Des, 0};
    case policy::EncryptionAlgorithm::kDes:
      return {EncrId::kDes, 0};
  }
  return {EncrId::kNull, 0};
}

IntegId ToTransform(policy::IntegrityAlgorithm a) {
  switch (a) {
    case policy::IntegrityAlgorithm::kNone:
      return IntegId::kNone;
    case policy::IntegrityAlgorithm::kHmacSha256_128:
      return IntegId::kHmacSha2_256_128;
    case policy::IntegrityAlgorithm::kHmacSha384_192:
      return IntegId::kHmacSha2_384_192;
    case policy::IntegrityAlgorithm::kHmacSha512_256:
      return IntegId::kHmacSha2_512_256;
    case policy::IntegrityAlgorithm::kHmacSha1_96:
      return IntegId::kHmacSha1_96;
    case policy::IntegrityAlgorithm::kHmacMd5_96:
      return IntegId::kHmacMd5_96;
  }
  return IntegId::kNone;
}

PrfId ToTransform(policy::PrfAlgorithm a) {
  switch (a) {
    case policy::PrfAlgorithm::kHmacSha256:
      return PrfId::kHmacSha2_256;
    case policy::PrfAlgorithm::kHmacSha384:
      return PrfId::kHmacSha2_384;
    case policy::PrfAlgorithm::kHmacSha512:
      return PrfId::kHmacSha2_512;
    case policy::PrfAlgorithm::kHmacSha1:
      return PrfId::kHmacSha1;
    case policy::PrfAlgorithm::kHmacMd5:
      return PrfId::kHmacMd5;
  }
  return PrfId::kHmacSha2_256;
}

DhGroup ToTransform(policy::DhGroup g) { return static_cast<DhGroup>(static_cast<uint16_t>(g)); }

bool IsAead(EncrId id) { return id == EncrId::kAesGcm16 || id == EncrId::kChaCha20Poly1305; }

SaPayload MakeIkeOffer(const std::vector<policy::IkeProposal>& proposals, Bytes spi) {
  SaPayload sa;
  for (const auto& p : proposals) {
    Proposal out;
    out.number = static_cast<uint8_t>(sa.proposals.size() + 1);
    out.protocol = ProtocolId::kIke;
    out.spi = spi;
    out.transforms = IkeTransforms(p);
    sa.proposals.push_back(std::move(out));
  }
  return sa;
}

std::optional<BundleNotify> MakeBundleOffer(const std::vector<policy::SecurityMethod>& methods,
                                            uint32_t ah_spi) {
  BundleNotify b;
  b.ah_spi = ah_spi;
  for (size_t i = 0; i < methods.size(); ++i) {
    if (methods[i].protocol != policy::IpsecProtocol::kAhEsp) continue;
    b.entries.push_back({static_cast<uint8_t>(i + 1), ToTransform(methods[i].ah_integrity)});
  }
  if (b.entries.empty()) return std::nullopt;
  return b;
}

SaPayload MakeChildOffer(const std::vector<policy::SecurityMethod>& methods, uint32_t spi,
                         DhGroup pfs_group) {
  SaPayload sa;
  for (const auto& m : methods) {
    Proposal out;
    out.number = static_cast<uint8_t>(sa.proposals.size() + 1);
    out.transforms = ChildTransforms(m, &out.protocol);
    if (pfs_group != DhGroup::kNone) {
      out.transforms.push_back(Make(TransformType::kDh, static_cast<uint16_t>(pfs_group)));
    }
    out.spi = {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
               static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi)};
    sa.proposals.push_back(std::move(out));
  }
  return sa;
}

Result<IkeChoice> ChooseIkeProposal(const SaPayload& offered,
                                    const std::vector<policy::IkeProposal>& acceptable) {
  for (const Proposal& p : offered.proposals) {
    if (p.protocol != ProtocolId::kIke || !Understood(p)) continue;
    for (const auto& ours : acceptable) {
      std::vector<Transform> wanted = IkeTransforms(ours);
      if (!std::all_of(wanted.begin(), wanted.end(), [&](auto& t) { return Offers(p, t); })) {
        continue;
      }
      // An AEAD proposal may still list integrity "none"; nothing else may be left over.
      IkeChoice choice;
      choice.reply.number = p.number;
      choice.reply.protocol = ProtocolId::kIke;
      choice.reply.spi = p.spi;
      choice.reply.transforms = wanted;
      choice.algorithms = IkeAlgorithmsOf(wanted);
      return choice;
    }
  }
  return NoProposal("IKE", offered);
}

Result<ChildChoice> ChooseChildProposal(const SaPayload& offered,
                                        const std::vector<policy::SecurityMethod>& acceptable,
                                        const ChildDhRule& dh, const BundleNotify* bundle) {
  for (const Proposal& p : offered.proposals) {
    if ((p.protocol != ProtocolId::kEsp && p.protocol != ProtocolId::kAh) || !Understood(p) ||
        p.spi.size() != codec::kChildSpiSize) {
      continue;
    }
    // FAQ 46 (bundle.h): a bundle proposal is the ESP half of an ah+esp method, and only that.
    const IntegId ah = p.protocol == ProtocolId::kEsp
                           ? BundleIntegrityFor(bundle, p.number).value_or(IntegId::kNone)
                           : IntegId::kNone;
    for (const auto& ours : acceptable) {
      const bool ours_bundle = ours.protocol == policy::IpsecProtocol::kAhEsp;
      if (ours_bundle != (ah != IntegId::kNone) ||
          (ours_bundle && ToTransform(ours.ah_integrity) != ah)) {
        continue;
      }
      ProtocolId protocol;
      std::vector<Transform> wanted = ChildTransforms(ours, &protocol);
      wanted.pop_back();  // ESN is chosen below from what was offered
      if (protocol != p.protocol ||
          !std::all_of(wanted.begin(), wanted.end(), [&](auto& t) { return Offers(p, t); })) {
        continue;
      }
      auto extra = ChooseEsnAndDh(p, dh);
      if (!extra) continue;
      wanted.insert(wanted.end(), extra->begin(), extra->end());
      ChildChoice choice;
      choice.reply.number = p.number;
      choice.reply.protocol = p.protocol;
      choice.reply.transforms = wanted;
      choice.algorithms = ChildAlgorithmsOf(p.protocol, wanted);
      choice.algorithms.ah_integrity = ah;
      choice.peer_spi = SpiOf(p.spi);
      return choice;
    }
  }
  return NoProposal(bundle != nullptr ? "child SA (with the AH+ESP bundle offered)" : "child SA",
                    offered);
}

namespace {

// The offered proposal the reply refers to, after checking the reply's shape (§2.7).
Result<const Proposal*> MatchReply(const SaPayload& offered, const SaPayload& reply,
                                   const std::vector<TransformType>& required) {
  auto invalid = [](std::string why) {
    return MakeError(ErrorCode::kInvalidArgument, "peer's SA reply is invalid: " + why);
  };
  if (reply.proposals.size() != 1) return invalid("it must carry exactly one proposal");
  const Proposal& r = reply.proposals[0];
  auto it = std::find_if(offered.proposals.begin(), offered.proposals.end(),
                         [&](const Proposal& p) { return p.number == r.number; });
  if (it == offered.proposals.end() || it->protocol != r.protocol) {
    return invalid("proposal #" + std::to_string(r.number) + " was not offered");
  }
  std::set<TransformType> seen;
  for (const Transform& t : r.transforms) {
    if (!seen.insert(t.type).second) return invalid("more than one transform of a type");
    if (!Offers(*it, t)) return invalid("a transform that was not offered");
  }
  for (TransformType type : required) {
    if (!seen.count(type)) return invalid("a mandatory transform is missing");
  }
  return &*it;
}

}  // namespace

Result<IkeAlgorithms> AcceptIkeReply(const SaPayload& offered, const SaPayload& reply) {
  auto matched =
      MatchReply(offered, reply, {TransformType::kEncr, TransformType::kPrf, TransformType::kDh});
  if (!matched.ok()) return matched.error();
  IkeAlgorithms a = IkeAlgorithmsOf(reply.proposals[0].transforms);
  int integ_count = 0;
  OnlyOf(reply.proposals[0], TransformType::kInteg, &integ_count);
  if (!IsAead(a.encryption) && integ_count == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "peer's SA reply is invalid: no integrity with a non-AEAD cipher");
  }
  return a;
}

Result<ChildChoice> AcceptChildReply(const SaPayload& offered, const SaPayload& reply,
                                     const BundleNotify* bundle_offer,
                                     const BundleNotify* bundle_reply) {
  auto matched = MatchReply(offered, reply, {});
  if (!matched.ok()) return matched.error();
  const Proposal& r = reply.proposals[0];
  if (r.spi.size() != codec::kChildSpiSize) {
    return MakeError(ErrorCode::kInvalidArgument, "peer's child SA reply has no 4-octet SPI");
  }
  ChildChoice choice;
  choice.reply = r;
  choice.algorithms = ChildAlgorithmsOf(r.protocol, r.transforms);
  choice.peer_spi = SpiOf(r.spi);
  const std::optional<IntegId> offered_ah =
      r.protocol == ProtocolId::kEsp ? BundleIntegrityFor(bundle_offer, r.number) : std::nullopt;
  if (!offered_ah) {
    if (bundle_reply != nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "peer's SA reply is invalid: an AH+ESP bundle for a proposal that was "
                       "not offered as one");
    }
    return choice;
  }
  if (bundle_reply == nullptr) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the peer answered the AH+ESP bundle (FAQ 46) with ESP alone: it does not "
                     "carry ipsec-sidecar's bundle notification; refused rather than sending "
                     "without the AH the policy asks for");
  }
  if (bundle_reply->entries.size() != 1 || bundle_reply->entries[0].proposal != r.number ||
      bundle_reply->entries[0].ah_integrity != *offered_ah) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "peer's SA reply is invalid: its AH+ESP bundle does not complete the "
                     "chosen proposal with the AH integrity offered");
  }
  choice.algorithms.ah_integrity = *offered_ah;
  return choice;
}

}  // namespace ipsec::engine::ike
