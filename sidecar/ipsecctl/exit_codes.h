#pragma once

// ipsecctl's exit codes: what a script can rely on (docs/cli.md lists them too).

namespace ipsec::sidecar::ipsecctl {

enum ExitCode : int {
  kExitOk = 0,           // the request succeeded
  kExitUsage = 1,        // bad command line, unreadable or invalid input file
  kExitRejected = 2,     // the API refused the request: 4xx other than 401
  kExitUnreachable = 3,  // no answer: connection refused, timeout, TLS failure
  kExitAuth = 4,         // authentication failed: 401 (missing or wrong token)
  kExitServer = 5,       // the API failed: 5xx, or an answer ipsecctl cannot read
};

inline constexpr const char* kExitCodeHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  usage error (bad arguments, unreadable or invalid input file)\n"
    "  2  the API rejected the request (HTTP 4xx other than 401: invalid input, not found,\n"
    "     conflict, stale revision)\n"
    "  3  cannot reach the daemon (connection refused, timeout, TLS failure)\n"
    "  4  authentication failed (HTTP 401: missing or wrong token)\n"
    "  5  server error (HTTP 5xx) or an unreadable response\n";

}  // namespace ipsec::sidecar::ipsecctl
