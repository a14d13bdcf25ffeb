#include "engine/ike/protection.h"

#include "engine/ike/codec/fragments.h"
#include "engine/ike/codec/sk.h"

namespace ipsec::engine::ike {
namespace {

codec::SkKeys Keys(const IkeSa& sa, const SecretBytes& sk_e, const SecretBytes& sk_a) {
  return codec::SkKeys::FromKeymat(sa.algorithms.encryption, sa.algorithms.encryption_key_bits,
                                   sk_e, sa.algorithms.integrity, sk_a);
}

}  // namespace

codec::SkKeys OutboundSkKeys(const IkeSa& sa) { return Keys(sa, sa.sk_e_out(), sa.sk_a_out()); }
codec::SkKeys InboundSkKeys(const IkeSa& sa) { return Keys(sa, sa.sk_e_in(), sa.sk_a_in()); }

Result<std::vector<Bytes>> ProtectMessage(const IkeSa& sa, const codec::Header& header,
                                          const std::vector<codec::PayloadEntry>& payloads,
                                          Random& random, size_t max_datagram) {
  codec::SkKeys keys = OutboundSkKeys(sa);
  Bytes inner = codec::EncodePayloadChain(payloads);
  const codec::PayloadType first = payloads.empty() ? codec::PayloadType::kNone : payloads[0].type;
  auto overhead = codec::ProtectedOverhead(keys, inner.size());
  if (!overhead.ok()) return overhead.error();
  // RFC 7383 §2.5.1: fragment only once both sides said they support it, and never
  // IKE_SA_INIT (which is not protected anyway).
  if (sa.peer_supports_fragmentation && codec::kHeaderSize + *overhead + inner.size() > max_datagram) {
    return codec::EncodeFragments(header, first, inner, keys, random, max_datagram);
  }
  auto message = codec::EncodeProtected(header, first, inner, keys, random);
  if (!message.ok()) return message.error();
  return std::vector<Bytes>{std::move(message).value()};
}

Result<std::vector<codec::PayloadEntry>> UnprotectMessage(const IkeSa& sa, ByteSpan datagram,
                                                          const codec::Message& message) {
  codec::SkKeys keys = InboundSkKeys(sa);
  auto inner = codec::DecryptProtected(datagram, message, keys);
  if (!inner.ok()) return inner.error();
  return codec::DecodePayloadChain(message.encrypted->first_inner, *inner);
}

}  // namespace ipsec::engine::ike
