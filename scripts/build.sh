#!/usr/bin/env bash
# Configures and builds ipsec-sidecar. Usage: scripts/build.sh [Release|Asan|Debug] [targets...]
# Build directories: build/ (Release), build-asan/ (Asan), build-debug/ (Debug).
set -euo pipefail
cd "$(dirname "$0")/.."
type=${1:-Release}
shift || true
case "$type" in
  Release) dir=build ;;
  Asan) dir=build-asan ;;
  Debug) dir=build-debug ;;
  *) echo "build.sh: unknown build type '$type' (Release, Asan, Debug)" >&2; exit 2 ;;
esac
bench=ON
[ "$type" = Asan ] && bench=OFF
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DIPSEC_BUILD_BENCH="$bench" >/dev/null
jobs=$(nproc)
ninja -C "$dir" -j "$jobs" "$@"
