#include "engine/esp/transform.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
