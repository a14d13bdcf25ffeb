#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ipsec::sidecar::store {

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib's crc32), to detect a state
// file damaged on disk: every burst error up to 32 bits and all but 2^-32 of the rest. It is
// not a defence against someone who can write the file (they can write a matching checksum);
// the file's 0600 mode is.
uint32_t Crc32(std::string_view data);

// "crc32:" and 8 lower-case hex digits.
std::string Crc32Text(std::string_view data);

}  // namespace ipsec::sidecar::store
