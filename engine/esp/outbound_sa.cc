#include "engine/esp/outbound_sa.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
