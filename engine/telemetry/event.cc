#include "engine/telemetry/event.h"

namespace ipsec::engine::telemetry {

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kDebug:
      return "debug";
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "info";
}

}  // namespace ipsec::engine::telemetry
