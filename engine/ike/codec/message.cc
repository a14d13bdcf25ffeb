#include "engine/ike/codec/message.h"

#include <cassert>
#include <string>

#include "engine/common/byte_io.h"
#include "engine/ike/codec/codec_error.h"
#include "engine/ike/codec/messages.h"

namespace ipsec::engine::ike::codec {

Result<Message> DecodeMessage(ByteSpan datagram) {
  if (datagram.size() > kMaxMessageSize) {
    return MakeCodecError(CodecError::kTooLarge,
                          "message of " + std::to_string(datagram.size()) + " octets");
  }
  Result<Header> header = DecodeHeader(datagram);
  if (!header.ok()) return header.error();
  Message m;
  m.header = header.value();
  if (m.header.major_version != kIkeMajorVersion) {
    return MakeCodecError(CodecError::kUnsupportedVersion,
                          "major version " + std::to_string(m.header.major_version), "/header");
  }
  if (m.header.length != datagram.size()) {
    return MakeCodecError(CodecError::kBadLength,
                          "Length " + std::to_string(m.header.length) + ", datagram " +
                              std::to_string(datagram.size()),
                          "/header");
  }
  Status s = internal::DecodeChain(m.header.next_payload, datagram.subspan(kHeaderSize),
                                   kHeaderSize, &m.payloads, &m.encrypted);
  if (!s.ok()) return s.error();
  return m;
}

Bytes EncodeMessage(const Message& message) {
  assert(!message.encrypted.has_value());
  Bytes out;
  ByteWriter w(out);
  const PayloadType first =
      message.payloads.empty() ? PayloadType::kNone : message.payloads.front().type;
  EncodeHeader(message.header, first, 0, w);
  EncodePayloadChain(message.payloads, PayloadType::kNone, w);
  w.PatchUint32(kHeaderSize - 4, static_cast<uint32_t>(out.size()));
  return out;
}

}  // namespace ipsec::engine::ike::codec
