#include "engine/esp/inbound_sa.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
