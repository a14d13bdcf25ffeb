#include "engine/esp/sa_crypto.h"

namespace ipsec::engine::esp {}  // namespace ipsec::engine::esp
