#include "engine/ike/codec/fragments.h"

#include <algorithm>
#include <string>

#include "engine/common/byte_io.h"
#include "engine/ike/codec/codec_error.h"

namespace ipsec::engine::ike::codec {
namespace {

// The most content octets one fragment of `max_message_size` octets can carry.
size_t FragmentCapacity(const internal::SkSizes& sizes, size_t max_message_size) {
  const size_t fixed = kHeaderSize + kSkfHeaderSize + sizes.iv + sizes.icv;
  if (max_message_size <= fixed) return 0;
  const size_t blocks = (max_message_size - fixed) / sizes.block * sizes.block;
  return blocks == 0 ? 0 : blocks - 1;  // one octet for Pad Length, no padding
}

}  // namespace

Result<std::vector<Bytes>> EncodeFragments(const Header& header, PayloadType first_inner,
                                           ByteSpan inner_payloads, const SkKeys& keys,
                                           Random& random, size_t max_message_size) {
  Result<internal::SkSizes> sizes = internal::SizesFor(keys);
  if (!sizes.ok()) return sizes.error();
  const size_t capacity = FragmentCapacity(*sizes, std::min(max_message_size, kMaxMessageSize));
  if (capacity == 0) {
    return MakeCodecError(CodecError::kTooLarge,
                          "no room in " + std::to_string(max_message_size) + " octets");
  }
  const size_t total = std::max<size_t>(1, (inner_payloads.size() + capacity - 1) / capacity);
  if (total > kMaxFragments) {
    return MakeCodecError(CodecError::kTooLarge, std::to_string(total) + " fragments");
  }
  std::vector<Bytes> fragments;
  for (size_t n = 1; n <= total; ++n) {
    const size_t start = (n - 1) * capacity;
    const ByteSpan content =
        inner_payloads.subspan(start, std::min(capacity, inner_payloads.size() - start));
    const size_t payload_size = kSkfHeaderSize + internal::SealedSize(*sizes, content.size());
    const size_t size = kHeaderSize + payload_size;
    Bytes out;
    out.reserve(size);
    ByteWriter w(out);
    EncodeHeader(header, PayloadType::kSkf, static_cast<uint32_t>(size), w);
    w.WriteUint8(static_cast<uint8_t>(n == 1 ? first_inner : PayloadType::kNone));
    w.WriteUint8(0);
    w.WriteUint16(static_cast<uint16_t>(payload_size));
    w.WriteUint16(static_cast<uint16_t>(n));
    w.WriteUint16(static_cast<uint16_t>(total));
    Status s = internal::Seal(keys, content, random, out);
    if (!s.ok()) return s.error();
    fragments.push_back(std::move(out));
  }
  return fragments;
}

Result<Fragment> DecodeFragment(ByteSpan datagram, const Message& message, const SkKeys& keys) {
  if (!message.encrypted || message.encrypted->type != PayloadType::kSkf) {
    return MakeCodecError(CodecError::kInvalidSyntax, "not a fragment");
  }
  Result<Bytes> content = DecryptProtected(datagram, message, keys);
  if (!content.ok()) return content.error();
  const EncryptedPayload& e = *message.encrypted;
  return Fragment{e.fragment_number, e.total_fragments, e.first_inner, std::move(content).value()};
}

Result<bool> FragmentAssembler::Add(Fragment fragment) {
  if (fragment.number == 0 || fragment.number > fragment.total || fragment.total > kMaxFragments) {
    return MakeCodecError(CodecError::kBadFragment, "fragment " + std::to_string(fragment.number) +
                                                        " of " + std::to_string(fragment.total));
  }
  if (fragment.total < total_) return complete();  // stale: from before a re-fragmentation
  if (fragment.total > total_) {
    Reset();
    total_ = fragment.total;
    parts_.resize(total_);
  }
  std::optional<Bytes>& slot = parts_[fragment.number - 1];
  if (slot.has_value()) return complete();  // duplicate
  if (bytes_ + fragment.content.size() > kMaxReassembledSize) {
    Reset();
    return MakeCodecError(CodecError::kTooLarge, "reassembled message");
  }
  bytes_ += fragment.content.size();
  if (fragment.number == 1) first_inner_ = fragment.first_inner;
  slot = std::move(fragment.content);
  ++received_;
  return complete();
}

Result<ReassembledMessage> FragmentAssembler::Take() {
  if (!complete()) {
    return MakeCodecError(CodecError::kBadFragment, std::to_string(received_) + " of " +
                                                        std::to_string(total_) + " fragments");
  }
  ReassembledMessage m;
  m.first_inner = first_inner_;
  m.inner_payloads.reserve(bytes_);
  for (const std::optional<Bytes>& part : parts_) {
    m.inner_payloads.insert(m.inner_payloads.end(), part->begin(), part->end());
  }
  Reset();
  return m;
}

void FragmentAssembler::Reset() {
  total_ = 0;
  received_ = 0;
  bytes_ = 0;
  first_inner_ = PayloadType::kNone;
  parts_.clear();
}

}  // namespace ipsec::engine::ike::codec
