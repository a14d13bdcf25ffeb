#pragma once

#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace ipsec::engine::ike::codec {

// Why the codec refused a message. Every refusal of untrusted input is one of these, carried in
// a common Error (../shared/STYLE.md rule 9): code kInvalidArgument (kInternal for caller bugs
// such as bad key sizes), message "<name>: <detail>", path the location in the message
// ("/payloads/2(SA)/proposals/0/transforms/3"). CodecErrorOf() recovers the kind.
enum class CodecError {
  kNone,                 // not a codec error
  kTruncated,            // input ends inside a field
  kBadLength,            // a length field disagrees with the data around it
  kInvalidSyntax,        // a field value the RFC forbids (IKE layer: INVALID_SYNTAX)
  kUnsupportedVersion,   // major version != 2 (RFC 7296 §2.5: INVALID_MAJOR_VERSION)
  kUnsupportedCritical,  // unknown critical payload (§2.5: UNSUPPORTED_CRITICAL_PAYLOAD)
  kTooLarge,             // beyond one of our limits in messages.h
  kPayloadNotAllowed,    // payload rule table: not allowed in this message
  kMissingPayload,       // payload rule table: a required payload is absent
  kTooManyPayloads,      // payload rule table: more occurrences than allowed
  kNotEncrypted,         // payload rule table: must be inside SK
  kIntegrity,            // ICV or AEAD tag mismatch; no detail is given
  kBadPadding,           // Pad Length or alignment wrong after decryption
  kBadFragment,          // RFC 7383 fragment numbering or reassembly fault
  kBadKeys,              // SkKeys unusable (caller bug)
};

const char* CodecErrorName(CodecError kind);  // "truncated", "bad_length", ...

Error MakeCodecError(CodecError kind, std::string detail, std::string path = {});

// The kind of an Error made by MakeCodecError; kNone for any other Error.
CodecError CodecErrorOf(const Error& error);

}  // namespace ipsec::engine::ike::codec
