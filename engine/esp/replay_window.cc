#include "engine/esp/replay_window.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
