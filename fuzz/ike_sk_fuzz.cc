// libFuzzer target: SK/SKF protection with fixed keys.
//
// Input: octet 0 picks the key set (FuzzKeys()), octet 1 the mode, the rest is `data`.
//  mode 0: `data` is a datagram: DecodeMessage, then DecryptProtected / DecodeFragment with
//          the fixed keys, then the inner chain. Must never crash.
//  mode 1: `data` is inner payload bytes: EncodeProtected, decode, decrypt must give `data`
//          back; flipping any one octet of the protected message must make decryption fail.
//  mode 2: `data` is inner payload bytes: EncodeFragments at a size taken from `data`, decode
//          every fragment, reassemble in reverse order: must give `data` back.

#include <cstdint>
#include <cstdlib>

#include "engine/ike/codec/codec_error.h"
#include "engine/ike/codec/fragments.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/payload.h"
#include "engine/ike/codec/sk.h"
#include "fuzz/ike_fuzz_keys.h"

namespace codec = ipsec::engine::ike::codec;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

codec::Header FuzzHeader() {
  codec::Header h;
  h.initiator_spi = 0x0123456789abcdefull;
  h.responder_spi = 0xfedcba9876543210ull;
  h.exchange_type = codec::ExchangeType::kIkeAuth;
  h.flags = codec::kFlagInitiator;
  h.message_id = 1;
  return h;
}

void DecryptDatagram(ipsec::ByteSpan datagram, const codec::SkKeys& keys) {
  auto m = codec::DecodeMessage(datagram);
  if (!m.ok() || !m->encrypted) return;
  if (m->encrypted->type == codec::PayloadType::kSkf) {
    (void)codec::DecodeFragment(datagram, m.value(), keys);
    return;
  }
  auto inner = codec::DecryptProtected(datagram, m.value(), keys);
  if (inner.ok()) (void)codec::DecodePayloadChain(m->encrypted->first_inner, inner.value());
}

void ProtectRoundTrip(ipsec::ByteSpan data, const codec::SkKeys& keys) {
  ipsec::fuzz::FuzzRandom random;
  auto wire = codec::EncodeProtected(FuzzHeader(), codec::PayloadType::kNotify, data, keys, random);
  if (!wire.ok()) {
    Check(codec::CodecErrorOf(wire.error()) == codec::CodecError::kTooLarge);
    return;
  }
  auto m = codec::DecodeMessage(wire.value());
  Check(m.ok() && m->encrypted.has_value());
  auto plain = codec::DecryptProtected(wire.value(), m.value(), keys);
  Check(plain.ok() && plain.value() == ipsec::Bytes(data.begin(), data.end()));
  ipsec::Bytes bad = wire.value();
  const size_t at = data.empty() ? 0 : data[0] * 257u % bad.size();
  bad[at] ^= 0x01;
  auto bad_m = codec::DecodeMessage(bad);
  if (bad_m.ok() && bad_m->encrypted)
    Check(!codec::DecryptProtected(bad, bad_m.value(), keys).ok());
}

void FragmentRoundTrip(ipsec::ByteSpan data, const codec::SkKeys& keys) {
  ipsec::fuzz::FuzzRandom random;
  const size_t max_size = 68 + (data.empty() ? 0 : data[0]) * 8;
  auto wires =
      codec::EncodeFragments(FuzzHeader(), codec::PayloadType::kIdi, data, keys, random, max_size);
  if (!wires.ok()) {
    Check(codec::CodecErrorOf(wires.error()) == codec::CodecError::kTooLarge);
    return;
  }
  codec::FragmentAssembler assembler;
  for (auto it = wires->rbegin(); it != wires->rend(); ++it) {
    Check(it->size() <= max_size);
    auto m = codec::DecodeMessage(*it);
    Check(m.ok());
    auto fragment = codec::DecodeFragment(*it, m.value(), keys);
    Check(fragment.ok());
    Check(assembler.Add(std::move(fragment).value()).ok());
  }
  auto whole = assembler.Take();
  Check(whole.ok() && whole->inner_payloads == ipsec::Bytes(data.begin(), data.end()));
  Check(whole->first_inner == codec::PayloadType::kIdi);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  static const std::vector<codec::SkKeys> kKeys = ipsec::fuzz::FuzzKeys();
  if (size < 2) return 0;
  const codec::SkKeys& keys = kKeys[input[0] % kKeys.size()];
  const ipsec::ByteSpan data(input + 2, size - 2);
  switch (input[1] % 3) {
    case 0:
      DecryptDatagram(data, keys);
      break;
    case 1:
      ProtectRoundTrip(data, keys);
      break;
    case 2:
      FragmentRoundTrip(data, keys);
      break;
  }
  return 0;
}
