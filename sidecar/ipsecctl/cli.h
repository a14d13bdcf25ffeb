#pragma once

// ipsecctl's command line (CLI11): global flags, the command tree, and the exit code.

#include <ostream>

namespace ipsec::sidecar::ipsecctl {

// Parses argv, runs the command, returns the process exit code (exit_codes.h). Help goes to
// `out`; usage errors and API errors go to `err`. Never throws.
int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace ipsec::sidecar::ipsecctl
