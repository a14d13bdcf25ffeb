#include "engine/esp/esp_wire.h"

namespace ipsec::engine::esp {

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kReplay:
      return "replay";
    case DropReason::kIntegrity:
      return "integrity";
    case DropReason::kPadding:
      return "padding";
    case DropReason::kDummy:
      return "dummy";
    case DropReason::kSequenceOverflow:
      return "sequence_overflow";
    case DropReason::kUnsupported:
      return "unsupported";
    case DropReason::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace ipsec::engine::esp
