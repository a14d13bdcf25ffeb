#include "engine/ike/codec/codec_error.h"

#include <array>

namespace ipsec::engine::ike::codec {
namespace {

constexpr std::array<CodecError, 14> kAllKinds = {
    CodecError::kTruncated,           CodecError::kBadLength,
    CodecError::kInvalidSyntax,       CodecError::kUnsupportedVersion,
    CodecError::kUnsupportedCritical, CodecError::kTooLarge,
    CodecError::kPayloadNotAllowed,   CodecError::kMissingPayload,
    CodecError::kTooManyPayloads,     CodecError::kNotEncrypted,
    CodecError::kIntegrity,           CodecError::kBadPadding,
    CodecError::kBadFragment,         CodecError::kBadKeys,
};

}  // namespace

const char* CodecErrorName(CodecError kind) {
  switch (kind) {
    case CodecError::kNone:
      return "none";
    case CodecError::kTruncated:
      return "truncated";
    case CodecError::kBadLength:
      return "bad_length";
    case CodecError::kInvalidSyntax:
      return "invalid_syntax";
    case CodecError::kUnsupportedVersion:
      return "unsupported_version";
    case CodecError::kUnsupportedCritical:
      return "unsupported_critical_payload";
    case CodecError::kTooLarge:
      return "too_large";
    case CodecError::kPayloadNotAllowed:
      return "payload_not_allowed";
    case CodecError::kMissingPayload:
      return "missing_payload";
    case CodecError::kTooManyPayloads:
      return "too_many_payloads";
    case CodecError::kNotEncrypted:
      return "not_encrypted";
    case CodecError::kIntegrity:
      return "integrity_check_failed";
    case CodecError::kBadPadding:
      return "bad_padding";
    case CodecError::kBadFragment:
      return "bad_fragment";
    case CodecError::kBadKeys:
      return "bad_keys";
  }
  return "unknown";
}

Error MakeCodecError(CodecError kind, std::string detail, std::string path) {
  ErrorCode code =
      kind == CodecError::kBadKeys ? ErrorCode::kInternal : ErrorCode::kInvalidArgument;
  std::string message = CodecErrorName(kind);
  if (!detail.empty()) message += ": " + detail;
  return MakeError(code, std::move(message), std::move(path));
}

CodecError CodecErrorOf(const Error& error) {
  std::string_view message = error.message;
  std::string_view name = message.substr(0, message.find(':'));
  for (CodecError kind : kAllKinds) {
    if (name == CodecErrorName(kind)) return kind;
  }
  return CodecError::kNone;
}

}  // namespace ipsec::engine::ike::codec
