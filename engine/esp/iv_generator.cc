#include "engine/esp/iv_generator.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
