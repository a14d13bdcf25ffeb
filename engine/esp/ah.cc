#include "engine/esp/ah.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
