#pragma once

// The state file's format: LocalState <-> text. Pure functions, no I/O; thread-safe.
//
//   {"format": "ipsec-sidecar-state", "version": 1, "last_revision": 12,
//    "assigned": "web-tier" | null,
//    "policies": [{"revision": 7, "policy": {...policy JSON, preshared keys included...}}],
//    "checksum": "crc32:1a2b3c4d"}
//
// The checksum covers the canonical form of everything else: the object without "checksum",
// dumped compactly with sorted keys (nlohmann's default). So it survives re-indentation but
// not a changed value. Decoding is strict: a missing or unknown field, a wrong type, a bad
// checksum, a policy that does not decode or validate, duplicate names, a revision above
// last_revision or an assignment of a policy that is not stored is kDataLoss, never a guess.

#include <string>
#include <string_view>

#include "engine/common/result.h"
#include "engine/service/engine_service.h"

namespace ipsec::sidecar::store {

inline constexpr const char* kStateFormat = "ipsec-sidecar-state";
inline constexpr int kStateVersion = 1;

// The file's text (indented JSON and a final newline). kInternal if the state cannot be
// serialized (a string that is not UTF-8).
Result<std::string> EncodeState(const engine::service::LocalState& state);

// Parses the text read from `file_name` (named in every error message and in Error::path).
// Policies come back sorted by name.
Result<engine::service::LocalState> DecodeState(std::string_view text,
                                                const std::string& file_name);

}  // namespace ipsec::sidecar::store
