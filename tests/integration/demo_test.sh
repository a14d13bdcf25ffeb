#!/usr/bin/env bash
# The README's first command, scripts/demo.sh, run against the suite's build (no install or
# build step: IPSEC_DEMO_BUILD_DIR), with its promises checked: the multicast policy refused,
# an IKE SA established between the pods, the pods' ping and TCP stream through ESP with
# nothing in clear on the wire, the child SA's traffic selectors exactly the two pods (a
# mirrored filter does not widen them), and the data path's metrics moving.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR. Needs root, iproute2, nftables, tcpdump, iperf3,
# curl; fails naming what is missing.
set -uo pipefail
src=$1
build=$2
fail=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fail=1; fi
}
[ "$(id -u)" -eq 0 ] || { echo "FAILED: demo_test.sh needs root (network namespaces)"; exit 1; }
for tool in ip nft tcpdump iperf3 curl ping; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool is missing (scripts/install-deps.sh)"; exit 1; }
done
out=$(mktemp /tmp/ipsec-demo-test-XXXXXX)
trap 'rm -f "$out"' EXIT
IPSEC_DEMO_BUILD_DIR=$build timeout 180 "$src/scripts/demo.sh" >"$out" 2>&1
rc=$?
check "demo.sh exits 0 (got $rc)" test "$rc" -eq 0
check "securing multicast is refused, nothing applied" grep -q 'refused, nothing applied' "$out"
check "an IKE SA is established between the pods" grep -Eq '^ike-[0-9]+ +established' "$out"
check "the ping through ESP loses nothing" grep -q '3 packets transmitted, 3 received, 0% packet loss' "$out"
check "the iperf3 TCP stream completes" grep -Eq 'Mbits/sec +receiver' "$out"
wire=$(grep -o "on the wire (pod A's eth0): [0-9]* ESP packets, [0-9]* ICMP/TCP packets in clear" "$out")
esp=$(echo "$wire" | awk '{print $7}')
clear=$(echo "$wire" | awk '{print $10}')
check "ESP on the wire (${esp:-none})" test "${esp:-0}" -gt 0
check "no ICMP or TCP in clear on the wire (${clear:-?})" test "${clear:-1}" -eq 0
# The last child SA of rule "pods" as `ipsecctl show sa` prints it: LOCAL TS is column 9,
# REMOTE TS column 10.
ts=$(grep -E '^child-[0-9]+ +ike-[0-9]+ +pods +installed' "$out" | tail -1 | awk '{print $9, $10}')
check "pod A's child SA has traffic selectors ($ts)" test -n "$ts"
check "its local TS holds only pod A ($ts)" bash -c "[[ '${ts%% *}' == *10.99.1.2* && '${ts%% *}' != *10.99.2.2* ]]"
check "its remote TS holds only pod B ($ts)" bash -c "[[ '${ts##* }' == *10.99.2.2* && '${ts##* }' != *10.99.1.2* ]]"
check "the data path's outbound packets counter moved" \
  grep -Eq '^ipsec_dataplane_packets_total\{direction="outbound"\} [1-9]' "$out"
check "per (rule, peer) inbound bytes counted" \
  grep -Eq '^ipsec_child_sa_bytes_total\{direction="inbound",peer="10.99.2.2",rule="pods"\} [1-9]' "$out"
if [ "$fail" -ne 0 ]; then
  echo "---- demo output"
  cat "$out"
fi
exit "$fail"
