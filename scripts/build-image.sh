#!/usr/bin/env bash
# Builds the ipsec-sidecar image on this machine with buildah, no registry needed:
#  1. the base: Debian 12 minbase from mmdebstrap, imported into podman's storage and tagged
#     debian:12 and debian:12-slim, so the Dockerfile's FROM lines resolve locally. Cached there
#     under a label naming its recipe: built once per machine (about 80 s), again only when the
#     recipe changes or with --rebuild-base.
#  2. the Dockerfile with `buildah bud --isolation chroot`, giving localhost/ipsec-sidecar:dev.
#     --prebuilt BUILD_DIR puts that tree's Release binaries (scripts/build.sh Release, on
#     Debian 12) into the image instead of compiling them again inside the build stage.
#  3. with --gateway, deploy/examples/strongswan-gateway's charon image as
#     localhost/strongswan-gateway:dev.
# Prints each image's size and the build times. Needs root, podman, buildah, mmdebstrap, runc
# (scripts/install-deps.sh) and uses deploy/podman/containers.conf (CONTAINERS_CONF).
# Usage: scripts/build-image.sh [--prebuilt BUILD_DIR] [--gateway] [--rebuild-base] [--tag T]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/podman-env.sh

prebuilt="" gateway=0 rebuild_base=0 tag=localhost/ipsec-sidecar:dev
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt=${2:?--prebuilt BUILD_DIR}; shift 2 ;;
    --gateway) gateway=1; shift ;;
    --rebuild-base) rebuild_base=1; shift ;;
    --tag) tag=${2:?--tag NAME}; shift 2 ;;
    *) echo "build-image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
problem=$(podman_env_problem)
[ -z "$problem" ] || { echo "build-image.sh: $problem" >&2; exit 1; }

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
size_mb() { podman image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

# The base, as Docker's debian:12-slim is made: minbase with /usr merged by a hook (not by
# the usrmerge package, which pulls in perl: 46 MB), dpkg leaving out documentation, manuals
# and translations (also from every package installed later), and apt keeping no downloaded
# packages, no package caches and no translated indexes (Docker's debian images' apt.conf.d).
MIRROR=http://deb.debian.org/debian
APT_CLEAN='DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
Acquire::GzipIndexes "true";'
BASE_CMD=(mmdebstrap --variant=minbase --quiet
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --customize-hook="printf '%s\\n' '$APT_CLEAN' > \"\$1/etc/apt/apt.conf.d/docker-clean\""
  --customize-hook='rm -f "$1"/var/cache/apt/*.bin'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/groff/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  bookworm -
  "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main")
recipe=$(printf '%s\n' "${BASE_CMD[@]}" | sha256sum | cut -c1-16)
base=localhost/debian:12-slim
have=$(podman image inspect --format '{{index .Labels "org.ipsec-sidecar.base-recipe"}}' \
  "$base" 2>/dev/null || true)
if [ "$have" = "$recipe" ] && [ $rebuild_base -eq 0 ] &&
  podman image exists localhost/debian:12; then
  echo "build-image.sh: base $base (recipe $recipe) cached: $(size_mb "$base")"
else
  echo "build-image.sh: building the base (mmdebstrap minbase bookworm, recipe $recipe)"
  t0=$(now)
  nice -n 10 "${BASE_CMD[@]}" |
    podman import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "LABEL org.ipsec-sidecar.base-recipe=$recipe" \
      --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
  podman tag "$base" localhost/debian:12
  echo "build-image.sh: base built in $(seconds "$t0" "$(now)") s: $(size_mb "$base")"
fi

args=()
ctx_prebuilt=.image-prebuilt
rm -rf "$ctx_prebuilt"
if [ -n "$prebuilt" ]; then
  mkdir -p "$ctx_prebuilt"
  for bin in sidecar/app/ipsec-sidecar sidecar/ipsecctl/ipsecctl sidecar/injector/ipsec-injector; do
    [ -x "$prebuilt/$bin" ] || {
      echo "build-image.sh: $prebuilt/$bin missing: scripts/build.sh Release first" >&2; exit 1; }
    strip -o "$ctx_prebuilt/$(basename "$bin")" "$prebuilt/$bin"
  done
  args+=(--build-arg "PREBUILT=$ctx_prebuilt")
fi
trap 'rm -rf "$ctx_prebuilt"' EXIT

t0=$(now)
nice -n 10 buildah bud --isolation chroot --format docker --layers --pull=never --quiet "${args[@]}" \
  -f Dockerfile -t "$tag" . >/dev/null
echo "build-image.sh: $tag built in $(seconds "$t0" "$(now)") s$([ -n "$prebuilt" ] && echo " (binaries from $prebuilt)"): $(size_mb "$tag")"

if [ $gateway -eq 1 ]; then
  t0=$(now)
  nice -n 10 buildah bud --isolation chroot --format docker --layers --pull=never --quiet \
    -f deploy/examples/strongswan-gateway/gateway.Dockerfile -t localhost/strongswan-gateway:dev \
    deploy/examples/strongswan-gateway >/dev/null
  echo "build-image.sh: localhost/strongswan-gateway:dev built in $(seconds "$t0" "$(now)") s: $(size_mb localhost/strongswan-gateway:dev)"
fi
