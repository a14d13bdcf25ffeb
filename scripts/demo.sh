#!/usr/bin/env bash
# The README's first command: the product's main job, locally. Creates two pods (network
# namespaces) joined by a node namespace, starts ipsec-sidecar in each with a policy, and shows
# what an operator sees: the assignment, the compiled filters (generic and specific), match
# decisions, a live IKE SA negotiated between the pods, the pods' traffic (ping, a TCP stream)
# through our ESP data path with the SA's counters, and metrics scraped from the node. Everything it creates is removed on exit. Run as root on Debian 12; installs and
# builds what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (it creates network namespaces)" >&2
  exit 1
fi
# IPSEC_DEMO_BUILD_DIR: an existing build to take the binaries from, with no install or build
# step (tests/integration/demo_test.sh, which runs inside the suite after its build).
build=${IPSEC_DEMO_BUILD_DIR:-}
if [ -z "$build" ]; then
  scripts/install-deps.sh >/dev/null
  echo "== building (Release)"
  scripts/build.sh Release ipsec-sidecar ipsecctl | tail -n 1
  build=$repo/build
fi
sidecar=$build/sidecar/app/ipsec-sidecar
ctl=$build/sidecar/ipsecctl/ipsecctl
for bin in "$sidecar" "$ctl"; do
  [ -x "$bin" ] || { echo "demo.sh: $bin is missing (build it first)" >&2; exit 1; }
done

sfx=$(printf "%04x%02x" $RANDOM $((RANDOM % 256)))
node=demo-node-$sfx
pods=(demo-pod-a-$sfx demo-pod-b-$sfx)
work=$(mktemp -d /tmp/ipsec-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${pods[@]}" "$node"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "lab: node $node, pods ${pods[*]}"
ip netns add "$node"
ip -n "$node" link set lo up
ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for i in 0 1; do
  n=$((i + 1)); ns=${pods[$i]}; hif=dv$n$sfx
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$hif" netns "$node" type veth peer name eth0 netns "$ns"
  ip -n "$node" addr add 10.99.$n.1/24 dev "$hif"
  ip -n "$node" addr add fd99:$n::1/64 dev "$hif" nodad
  ip -n "$node" link set "$hif" up
  ip -n "$ns" addr add 10.99.$n.2/24 dev eth0
  ip -n "$ns" addr add fd99:$n::2/64 dev eth0 nodad
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via 10.99.$n.1
  ip -n "$ns" -6 route add default via fd99:$n::1
done
echo "pod A = 10.99.1.2 / fd99:1::2, pod B = 10.99.2.2 / fd99:2::2"

for i in 0 1; do
  d=$work/pod$i
  mkdir -p "$d/cluster" "$d/namespace"
  head -c 24 /dev/urandom | base64 >"$d/token"
  ip netns exec "${pods[$i]}" "$sidecar" --api-listen=127.0.0.1:9443 \
    --metrics-listen=0.0.0.0:9090 --token-file="$d/token" --state-dir="$d/state" \
    --cluster-policy-dir="$d/cluster" --namespace-policy-dir="$d/namespace" \
    --log-dir="$d/log" --node-address=10.99.$((i + 1)).1 >"$d/daemon.log" 2>&1 &
  pids+=($!)
done
ctl_in() {  # ctl_in POD_INDEX ARGS...
  local i=$1; shift
  ip netns exec "${pods[$i]}" "$ctl" --token-file="$work/pod$i/token" "$@"
}
for i in 0 1; do
  for _ in $(seq 100); do
    ip netns exec "${pods[$i]}" curl -sf http://127.0.0.1:9443/readyz >/dev/null && break
    sleep 0.1
  done
done
say "daemons ready (pids ${pids[*]})"

say "pod A: a cluster-wide default arrives as a ConfigMap file; then the pod's own policy"
cat >"$work/pod0/cluster/policy.yaml" <<'YAML'
name: cluster-default
filter_lists: [{name: all, filters: [{source: me, destination: any}]}]
filter_actions: [{name: request, type: negotiate, accept_unsecured: true, allow_fallback_to_clear: true}]
rules: [{name: request-all, filter_list: all, filter_action: request, auth_methods: [{type: psk, preshared_key: cluster-psk}]}]
YAML
kill -HUP "${pids[0]}"; sleep 0.5
run ctl_in 0 show policy
run ctl_in 0 policy apply -f docs/examples/web-tier.yaml --assign
run ctl_in 0 show policy
say "pod A: generic filters (as configured)"
run ctl_in 0 show filters
say "pod A: specific filters (expanded, weighted; FAQ 22)"
run ctl_in 0 show filters --specific
say "pod A: which rule decides a packet"
run ctl_in 0 match --direction out --src 10.99.1.2 --dst 10.99.2.2 --proto tcp --sport 40000 --dport 5432
run ctl_in 0 match --direction out --src 10.99.1.2 --dst 10.99.2.2 --proto udp --sport 40000 --dport 53
run ctl_in 0 match --direction out --src 10.99.1.2 --dst 10.99.2.66 --proto tcp --dport 22
run ctl_in 0 match --direction in --src 10.99.1.1 --dst 10.99.1.2 --proto tcp --sport 50000 --dport 8080
run ctl_in 0 match --direction out --src fd99:1::2 --dst fd99:2::2 --proto tcp --sport 40000 --dport 5432
run ctl_in 0 match --direction out --src 10.99.1.2 --dst 192.0.2.10 --proto udp --dport 9

say "pod B: its own policy"
run ctl_in 1 policy apply -f docs/examples/db-tier.yaml --assign
run ctl_in 1 show filters --specific
say "pod B: securing multicast is refused (FAQ 21)"
cat >"$work/bad.yaml" <<'YAML'
name: bad
filter_lists: [{name: m, filters: [{source: me, destination: 239.1.1.1}]}]
filter_actions: [{name: s, type: negotiate}]
rules: [{name: m, filter_list: m, filter_action: s, auth_methods: [{type: psk, preshared_key: x}]}]
YAML
run ctl_in 1 policy apply -f "$work/bad.yaml" || echo "(exit code $?: refused, nothing applied)"

say "IKEv2 between the pods: pod A starts main mode + quick mode for rule 'db' (FAQ 37-38)"
run ctl_in 0 sa initiate --rule db --peer 10.99.2.2
for _ in $(seq 50); do
  ctl_in 0 -o json show sa | grep -q '"state": *"established"' && break
  sleep 0.1
done
say "pod A: the IP Security Monitor"
run ctl_in 0 show sa
say "pod B: the same SAs from the responder's side (SPIs mirrored)"
run ctl_in 1 show sa
say "pod A: statistics (negotiations, rules configured vs established)"
run ctl_in 0 show stats

say "metrics, scraped from the node namespace"
ip netns exec "$node" curl -s http://10.99.1.2:9090/metrics >"$work/metrics.txt"
echo "(non-zero samples only)"
grep -E '^ipsec_(build_info|policy_generation|ike_sas_active|child_sas_active|ike_negotiations_total|ike_negotiation_duration_seconds_count|rule_)' \
  "$work/metrics.txt" | grep -v ' 0$' | head -20 || true

say "audit trail (pod A's log)"
grep -h '"audit\.' "$work/pod0/daemon.log" | head -5 || true
say "pod B deletes its SA (an IKE Delete informs pod A: RFC 7296 §1.4.1)"
id=$(ctl_in 1 -o json show sa | grep -o '"id": *"ike-[0-9]*"' | head -1 | grep -o 'ike-[0-9]*')
run ctl_in 1 sa delete "$id"
sleep 0.3
run ctl_in 0 show sa
say "the pods' traffic through ESP: both pods require security for each other (DNS stays exempt)"
for i in 0 1; do
  me=10.99.$((i + 1)).2; peer=10.99.$((2 - i)).2
  cat >"$work/pair$i.yaml" <<YAML
name: pods-require
description: everything between the two pods over ESP; DNS exempt (built-in, FAQ 24)
filter_lists: [{name: peer, filters: [{source: $me, destination: $peer}]}]
filter_actions: [{name: require, type: negotiate, security_methods: [{protocol: esp, esp_encryption: aes128gcm16, lifetime_seconds: 3600}]}]
rules: [{name: pods, filter_list: peer, filter_action: require, auth_methods: [{type: psk, preshared_key: demo-only-pair-psk}]}]
YAML
  ctl_in "$i" policy apply -f "$work/pair$i.yaml" --assign >/dev/null
done
ip netns exec "${pods[0]}" tcpdump -i eth0 -nn -c 400 -w "$work/wire.pcap" 'esp or udp port 4500 or icmp or tcp port 5201' >/dev/null 2>&1 &
tcpdump_pid=$!; pids+=($tcpdump_pid); sleep 0.5
echo "(the first ping triggers the negotiation: FAQ 'negotiate on the first packet')"
run ip netns exec "${pods[0]}" ping -c 3 -i 0.3 10.99.2.2
ip netns exec "${pods[1]}" iperf3 -s -1 >/dev/null 2>&1 &
pids+=($!); sleep 0.3
run ip netns exec "${pods[0]}" iperf3 -c 10.99.2.2 -t 3 -f m | grep -E 'sender|receiver'
kill "$tcpdump_pid" 2>/dev/null || true; wait "$tcpdump_pid" 2>/dev/null || true
echo "on the wire (pod A's eth0): $(tcpdump -nn -r "$work/wire.pcap" esp 2>/dev/null | wc -l) ESP packets, $(tcpdump -nn -r "$work/wire.pcap" 'icmp or tcp' 2>/dev/null | wc -l) ICMP/TCP packets in clear"
say "pod A: the child SA with its bytes and packets"
run ctl_in 0 show sa
say "metrics: the data path (scraped from the node)"
ip netns exec "$node" curl -s http://10.99.1.2:9090/metrics |
  grep -E '^ipsec_(dataplane_(packets|bytes)_total|child_sa_bytes_total|dataplane_drops_total)' | grep -v ' 0$' | head -12 || true

say "done: removing the lab"
