#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine, as root: installs what it needs,
# builds Release and ASan+UBSan, runs every test (unit and integration: namespaces, the daemon,
# the CLI, Prometheus' promtool) in the Release build, then the unit tests under ASan+UBSan,
# then every fuzzer for a bounded time (IPSEC_FUZZ_SECONDS each, scripts/fuzz.sh).
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
# Each fuzzer for a bounded time, from the seed corpora (fuzz/README.md); a finding fails the
# run. clang is required (scripts/install-deps.sh installs it; fuzz.sh fails without it).
echo "== fuzzers (${IPSEC_FUZZ_SECONDS:-15} s each)"
FUZZ_BUILD_DIR=build-fuzz-ci FUZZ_OPT=-O0 scripts/fuzz.sh "${IPSEC_FUZZ_SECONDS:-15}"
echo "== all tests passed"
