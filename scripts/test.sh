#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine, as root: installs what it needs,
# builds Release and ASan+UBSan, runs every test (unit and integration: namespaces, the daemon,
# the CLI, Prometheus' promtool) in the Release build, then the unit tests under ASan+UBSan.
# Exit status: 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root (the integration tests create network namespaces)" >&2
  exit 1
fi
scripts/install-deps.sh
echo "== build (Release)"
scripts/build.sh Release
echo "== tests (Release: unit + integration)"
ctest --test-dir build --output-on-failure -j 2 --timeout 600
echo "== build (ASan+UBSan)"
scripts/build.sh Asan
echo "== unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j 2 -L unit --timeout 600
echo "== all tests passed"
