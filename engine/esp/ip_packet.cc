#include "engine/esp/ip_packet.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
