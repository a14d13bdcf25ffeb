// Writes seed inputs for the IKE fuzzers: ike_fuzz_seeds <message_corpus_dir> <sk_corpus_dir>.
// The messages are the codec tests' samples; the SK seeds are protected with FuzzKeys(), so
// mutations start from messages that decrypt.

#include <cstdio>
#include <fstream>
#include <string>

#include "engine/common/ip_address.h"
#include "engine/ike/codec/fragments.h"
#include "engine/ike/codec/message.h"
#include "engine/ike/codec/sk.h"
#include "fuzz/ike_fuzz_keys.h"

namespace codec = ipsec::engine::ike::codec;

namespace {

void Write(const std::string& path, const ipsec::Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

codec::PayloadEntry Entry(codec::PayloadType type, codec::Payload payload) {
  return codec::PayloadEntry{type, false, std::move(payload)};
}

codec::Message SaInit() {
  codec::Message m;
  m.header.initiator_spi = 0x0102030405060708ull;
  m.header.exchange_type = codec::ExchangeType::kIkeSaInit;
  m.header.flags = codec::kFlagInitiator;
  codec::Proposal p;
  p.transforms = {{codec::TransformType::kEncr, 20, 256, {}},
                  {codec::TransformType::kPrf, 5, std::nullopt, {}},
                  {codec::TransformType::kDh, 31, std::nullopt, {}}};
  m.payloads = {
      Entry(codec::PayloadType::kSa, codec::SaPayload{{p}}),
      Entry(codec::PayloadType::kKe,
            codec::KePayload{codec::DhGroup::kCurve25519, ipsec::Bytes(32, 0x11)}),
      Entry(codec::PayloadType::kNonce, codec::NoncePayload{ipsec::Bytes(32, 0x22)}),
      Entry(codec::PayloadType::kNotify,
            codec::MakeNotify(codec::NotifyType::kNatDetectionSourceIp, ipsec::Bytes(20, 3))),
  };
  return m;
}

std::vector<codec::PayloadEntry> AuthInner() {
  codec::TsPayload ts{
      {codec::TrafficSelector::FromRange(ipsec::IpRange::Full(ipsec::IpFamily::kV4))}};
  codec::Proposal esp;
  esp.protocol = codec::ProtocolId::kEsp;
  esp.spi = {1, 2, 3, 4};
  esp.transforms = {{codec::TransformType::kEncr, 20, 128, {}},
                    {codec::TransformType::kEsn, 0, std::nullopt, {}}};
  return {
      Entry(codec::PayloadType::kIdi, codec::IdPayload{codec::IdType::kFqdn, {'a'}}),
      Entry(codec::PayloadType::kAuth,
            codec::AuthPayload{codec::AuthMethod::kSharedKeyMic, ipsec::Bytes(32, 5)}),
      Entry(codec::PayloadType::kSa, codec::SaPayload{{esp}}),
      Entry(codec::PayloadType::kTsi, ts),
      Entry(codec::PayloadType::kTsr, ts),
      Entry(codec::PayloadType::kDelete, codec::DeletePayload{codec::ProtocolId::kEsp, {7}}),
      Entry(codec::PayloadType::kCp, codec::CpPayload{codec::CfgType::kRequest, {{1, {}}}}),
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <message_corpus_dir> <sk_corpus_dir>\n", argv[0]);
    return 2;
  }
  const std::string msg_dir = argv[1], sk_dir = argv[2];
  Write(msg_dir + "/ike_sa_init", codec::EncodeMessage(SaInit()));
  codec::Header h = SaInit().header;
  h.exchange_type = codec::ExchangeType::kIkeAuth;
  const ipsec::Bytes inner = codec::EncodePayloadChain(AuthInner());
  const auto keys = ipsec::fuzz::FuzzKeys();
  for (size_t k = 0; k < keys.size(); ++k) {
    ipsec::fuzz::FuzzRandom random;
    auto wire = codec::EncodeProtectedMessage(h, AuthInner(), keys[k], random);
    if (!wire.ok()) continue;
    Write(msg_dir + "/ike_auth_" + std::to_string(k), *wire);
    ipsec::Bytes seed = {static_cast<uint8_t>(k), 0};
    seed.insert(seed.end(), wire->begin(), wire->end());
    Write(sk_dir + "/decrypt_" + std::to_string(k), seed);
    auto fragments =
        codec::EncodeFragments(h, codec::PayloadType::kIdi, inner, keys[k], random, 200);
    if (fragments.ok()) {
      seed = {static_cast<uint8_t>(k), 0};
      seed.insert(seed.end(), fragments->front().begin(), fragments->front().end());
      Write(sk_dir + "/fragment_" + std::to_string(k), seed);
    }
    for (uint8_t mode : {1, 2}) {
      seed = {static_cast<uint8_t>(k), mode};
      seed.insert(seed.end(), inner.begin(), inner.end());
      Write(sk_dir + "/inner_" + std::to_string(k) + "_" + std::to_string(mode), seed);
    }
  }
  return 0;
}
