#pragma once

#include <string_view>

#include "engine/common/result.h"

namespace ipsec::sidecar::log {

// Writes all of `data` to `fd`, retrying on EINTR and short writes. Not owned: `fd` stays open.
Status WriteAll(int fd, std::string_view data);

}  // namespace ipsec::sidecar::log
