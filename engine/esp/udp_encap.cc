#include "engine/esp/udp_encap.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
