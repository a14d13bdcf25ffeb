#include "engine/esp/checksum.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
