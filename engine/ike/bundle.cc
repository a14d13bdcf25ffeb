#include "engine/ike/bundle.h"

namespace ipsec::engine::ike {

codec::NotifyPayload ToNotify(const BundleNotify& b) {
  codec::NotifyPayload n;
  n.type = kAhEspBundleNotify;
  n.protocol = codec::ProtocolId::kAh;
  n.spi = {static_cast<uint8_t>(b.ah_spi >> 24), static_cast<uint8_t>(b.ah_spi >> 16),
           static_cast<uint8_t>(b.ah_spi >> 8), static_cast<uint8_t>(b.ah_spi)};
  for (const BundleEntry& e : b.entries) {
    const auto id = static_cast<uint16_t>(e.ah_integrity);
    n.data.insert(n.data.end(),
                  {e.proposal, 0, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)});
  }
  return n;
}

Result<BundleNotify> ParseBundleNotify(const codec::NotifyPayload& n) {
  auto invalid = [](const char* why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("malformed AH+ESP bundle notification: ") + why);
  };
  if (n.protocol != codec::ProtocolId::kAh || n.spi.size() != 4) {
    return invalid("it must name protocol AH with a 4-octet SPI");
  }
  BundleNotify b;
  for (uint8_t octet : n.spi) b.ah_spi = b.ah_spi << 8 | octet;
  if (b.ah_spi == 0) return invalid("SPI 0 is reserved (RFC 4302 §2.4)");
  if (n.data.empty() || n.data.size() % 4 != 0) {
    return invalid("its data must be entries of 4 octets");
  }
  for (size_t i = 0; i < n.data.size(); i += 4) {
    if (n.data[i + 1] != 0) return invalid("a reserved octet is set");
    BundleEntry e;
    e.proposal = n.data[i];
    e.ah_integrity = static_cast<codec::IntegId>(n.data[i + 2] << 8 | n.data[i + 3]);
    if (e.ah_integrity == codec::IntegId::kNone) return invalid("AH needs an integrity algorithm");
    b.entries.push_back(e);
  }
  return b;
}

std::optional<codec::IntegId> BundleIntegrityFor(const BundleNotify* offer, uint8_t number) {
  if (offer == nullptr) return std::nullopt;
  for (const BundleEntry& e : offer->entries) {
    if (e.proposal == number) return e.ah_integrity;
  }
  return std::nullopt;
}

}  // namespace ipsec::engine::ike
