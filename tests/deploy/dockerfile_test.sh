#!/usr/bin/env bash
# The Dockerfile cannot be built here (no registry), so this checks what a build would rely on
# (issue 5): two stages on Debian 12 (build) and Debian 12 slim (runtime); both install their
# packages with scripts/install-deps.sh (the README's script; runtime: --runtime-only, which
# it supports); the build stage builds with scripts/build.sh Release, the same script and type
# CI's scripts/test.sh uses, only targets CMake defines; every binary copied into the runtime
# stage is one of those targets, at the path the build tree really has it; the entrypoint and
# the healthcheck match the daemon. Usage: dockerfile_test.sh SOURCE_DIR BUILD_DIR
set -u
src=${1:?source dir}
build=${2:?build dir}
df=$src/Dockerfile
fail=0
bad() { echo "dockerfile_test: $*"; fail=1; }

[ -f "$df" ] || { echo "dockerfile_test: no Dockerfile at $df"; exit 1; }
mapfile -t froms < <(grep -E '^FROM ' "$df")
[ "${#froms[@]}" -eq 2 ] || bad "expected 2 stages, found ${#froms[@]}: ${froms[*]}"
[ "${froms[0]:-}" = "FROM debian:12 AS build" ] || bad "stage 1 is '${froms[0]:-}', not 'FROM debian:12 AS build'"
[ "${froms[1]:-}" = "FROM debian:12-slim AS runtime" ] || bad "stage 2 is '${froms[1]:-}', not 'FROM debian:12-slim AS runtime'"

build_stage=$(sed -n '/^FROM debian:12 AS build/,/^FROM /p' "$df")
runtime_stage=$(sed -n '/^FROM debian:12-slim AS runtime/,$p' "$df")
grep -qE '^RUN .*scripts/install-deps.sh --build-only$' <<<"$build_stage" || bad "the build stage does not RUN scripts/install-deps.sh --build-only"
grep -q -- '--build-only' "$src/scripts/install-deps.sh" || bad "install-deps.sh has no --build-only"
grep -qE 'install-deps.sh --runtime-only' <<<"$runtime_stage" || bad "the runtime stage does not run install-deps.sh --runtime-only"
grep -q -- '--runtime-only' "$src/scripts/install-deps.sh" || bad "install-deps.sh has no --runtime-only"
if grep -qE 'apt-get install' <<<"$runtime_stage$build_stage"; then
  bad "a stage installs packages itself (apt-get install): put them in scripts/install-deps.sh"
fi

# The build command, and the same script and build type in CI.
build_cmd=$(grep -oE 'scripts/build.sh Release[^\\&]*' <<<"$build_stage" | head -1)
[ -n "$build_cmd" ] || bad "the build stage does not run scripts/build.sh Release"
grep -qE '^scripts/build.sh Release$' "$src/scripts/test.sh" || bad "CI (scripts/test.sh) does not build with scripts/build.sh Release"
read -r -a targets <<<"${build_cmd#scripts/build.sh Release}"
[ "${#targets[@]}" -ge 3 ] || bad "the build stage builds only: ${targets[*]}"
for t in "${targets[@]}"; do
  grep -rqE "add_executable\($t( |\))" --include=CMakeLists.txt "$src/sidecar" "$src/engine" "$src/api" ||
    bad "the build stage builds '$t', which no CMakeLists.txt defines"
done

# Every COPY --from=build is a built target at its real path, installed under its own name.
copies=0
while read -r _ _ from to; do
  copies=$((copies + 1))
  rel=${from#/src/build/}
  name=$(basename "$rel")
  printf '%s\n' "${targets[@]}" | grep -qx "$name" || bad "COPY of $name, which the build stage does not build"
  [ -x "$build/$rel" ] || bad "$build/$rel does not exist after the build (the Dockerfile copies $from)"
  [ "$(basename "$to")" = "$name" ] || bad "$from is installed as $to"
done < <(grep -E '^COPY --from=build ' "$df")
[ "$copies" -eq "${#targets[@]}" ] || bad "$copies binaries copied, ${#targets[@]} built"

# With PREBUILT (scripts/build-image.sh --prebuilt), the stage installs each binary it would
# have built at the path the build tree has it, and the context leaves out build trees.
for t in "${targets[@]}"; do
  path=$(grep -oE "/src/build/[a-z/_-]+/$t( |$)" "$df" | head -1 | tr -d ' ')
  grep -qE "install -D -m 0755 \"\\\$PREBUILT/$t\" ${path#/src/}( |;|$)" <<<"$build_stage" ||
    bad "the PREBUILT branch does not install $t at ${path#/src/}"
done
grep -qx 'build\*/' "$src/.dockerignore" 2>/dev/null || bad ".dockerignore does not leave out build*/"

# The entrypoint is the daemon; the healthcheck asks its default API address.
grep -qE '^ENTRYPOINT \["/usr/local/bin/ipsec-sidecar"\]' "$df" || bad "the entrypoint is not /usr/local/bin/ipsec-sidecar"
api=$("$build/sidecar/app/ipsec-sidecar" --help | grep -oE 'api-listen TEXT=[0-9.:]+' | cut -d= -f2)
grep -qE "^HEALTHCHECK .*http://$api/healthz" "$df" || bad "the healthcheck does not ask the daemon's default API ($api)"

# Never privileged, anywhere we ship.
if grep -rnE 'privileged: *true' "$src/deploy" "$src/charts"; then bad "a manifest asks for privileged"; fi

[ $fail -eq 0 ] && echo "dockerfile_test: ok (${#targets[@]} binaries: ${targets[*]})"
exit $fail
