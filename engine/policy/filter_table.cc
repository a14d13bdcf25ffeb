#include "engine/policy/filter_table.h"

namespace ipsec::engine::policy {

const char* Name(Direction d) { return d == Direction::kOutbound ? "outbound" : "inbound"; }

const char* Name(Action a) {
  switch (a) {
    case Action::kPermit:
      return "permit";
    case Action::kNegotiate:
      return "negotiate";
    case Action::kBlock:
      return "block";
  }
  return "?";
}

}  // namespace ipsec::engine::policy
