#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/README.md) with clang, writes the seed corpora from real
# data, runs each target for a bounded time, one at a time, and prints a table: target, wall
# seconds, executions, coverage (edges), corpus size, findings. Exit status: 0 only when no
# target found anything (a crash, leak, timeout, out-of-memory, or a broken invariant).
#
# Usage: scripts/fuzz.sh [seconds-per-target]      (default 60)
# Environment:
#   FUZZ_BUILD_DIR   build directory (default build-fuzz); the corpora grow in $FUZZ_BUILD_DIR/corpus
#                    and findings land in $FUZZ_BUILD_DIR/findings
#   FUZZ_OPT         optimisation of the instrumented build (default -O1; -O0 builds faster)
#   FUZZ_DEBUG       debug information (default -gline-tables-only: file:line in stack traces)
#   FUZZ_TARGETS     the targets to run, space-separated (default: all of them)
#   FUZZ_REPORT      also write the table (with the command, commit and machine) to this file
#   FUZZ_KEEP_GOING  1: run the remaining targets after a finding (the exit status still says it)
#   FUZZ_JOBS        parallel compile jobs (default 2)
# ccache is used when installed (CCACHE_DISABLE=1 turns it off).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: seconds-per-target must be a positive integer, not '$seconds'" >&2
  exit 2
fi
build=${FUZZ_BUILD_DIR:-build-fuzz}
opt=${FUZZ_OPT:--O1}
debug=${FUZZ_DEBUG--gline-tables-only}
keep_going=${FUZZ_KEEP_GOING:-0}

# target, corpus directory, largest input, further libFuzzer flags. The state fuzzer's runs
# light up tens of thousands of features each; the entropic schedule's bookkeeping of them
# took two thirds of its time (7 runs/s; 26 without it).
all_targets=(
  "ike_message_fuzz ike_message 4096"
  "ike_sk_fuzz ike_sk 8192"
  "esp_inbound_fuzz esp_inbound 2048"
  "ike_state_fuzz ike_state 4096 -entropic=0"
  "esp_pipeline_fuzz esp_pipeline 4096"
  "policy_json_fuzz policy_json 16384"
  "x509_fuzz x509 8192"
)
selected=()
for spec in "${all_targets[@]}"; do
  name=${spec%% *}
  if [ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $name "* ]]; then
    selected+=("$spec")
  fi
done
if [ ${#selected[@]} -eq 0 ]; then
  echo "fuzz.sh: FUZZ_TARGETS='${FUZZ_TARGETS:-}' names none of the targets" >&2
  exit 2
fi

# clang and libFuzzer's runtime are Debian packages (scripts/install-deps.sh): never skip.
for tool in clang clang++ cmake ninja; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz.sh: '$tool' not found; install Debian's clang and libclang-rt-14-dev" \
      "(scripts/install-deps.sh)" >&2
    exit 1
  fi
done
runtime="$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
if [ ! -f "$runtime" ]; then
  echo "fuzz.sh: libFuzzer's runtime ($runtime) is missing; install libclang-rt-14-dev" >&2
  exit 1
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "== fuzz: configure $build ($opt)"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="$opt $debug" -DIPSEC_BUILD_FUZZ=ON -DIPSEC_BUILD_TESTS=OFF \
  -DIPSEC_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
names=()
for spec in "${selected[@]}"; do names+=("${spec%% *}"); done
echo "== fuzz: build ${names[*]}"
build_start=$(date +%s)
nice -n 5 ninja -C "$build" -j "${FUZZ_JOBS:-2}" "${names[@]}" ike_fuzz_seeds
echo "== fuzz: built in $(($(date +%s) - build_start)) s"

corpus=$build/corpus
findings_dir=$build/findings
logs=$build/fuzz-logs
mkdir -p "$corpus" "$findings_dir" "$logs"
"$build/fuzz/ike_fuzz_seeds" "$corpus"

rows=()
header=$(printf '%-18s %8s %12s %9s %7s %s' target seconds execs coverage corpus findings)
total_findings=0
for spec in "${selected[@]}"; do
  read -r name dir max_len flags <<<"$spec"
  log=$logs/$name.log
  before=$(find "$findings_dir" -name "$name-*" | sort)
  echo "== fuzz: $name for $seconds s"
  start=$(date +%s)
  rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$build/fuzz/$name" -max_total_time="$seconds" -max_len="$max_len" -timeout=30 \
    -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$findings_dir/$name-" \
    ${flags:-} "$corpus/$dir" >"$log" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # The last status line ("#N DONE cov: C ft: F corp: K/...") says coverage and corpus.
  status_line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status_line")
  new=$(comm -13 <(echo "$before") <(find "$findings_dir" -name "$name-*" | sort))
  found=$(grep -c . <<<"$new" || true)
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi  # e.g. a crash in start-up
  total_findings=$((total_findings + found))
  row=$(printf '%-18s %8s %12s %9s %7s %s' "$name" "$elapsed" "${execs:-?}" "${cov:-?}" \
    "${corp:-?}" "$found")
  rows+=("$row")
  if [ "$found" -ne 0 ]; then
    echo "fuzz.sh: $name: finding (exit $rc); log $log; inputs: ${new:-none written}" >&2
    grep -E 'ERROR|invariant broken|SUMMARY' "$log" | head -5 >&2 || true
    [ "$keep_going" = 1 ] || break
  fi
done

echo
echo "$header"
printf '%s\n' "${rows[@]}"
if [ -n "${FUZZ_REPORT:-}" ]; then
  {
    echo "# scripts/fuzz.sh $seconds (FUZZ_OPT=$opt FUZZ_DEBUG=$debug); finished" \
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) CPUs," \
      "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); clang" \
      "$(clang -dumpversion)"
    echo "$header"
    printf '%s\n' "${rows[@]}"
  } >"$FUZZ_REPORT"
fi
if [ "$total_findings" -ne 0 ]; then
  echo "fuzz.sh: $total_findings finding(s); inputs in $findings_dir (replay: $build/fuzz/<target> <file>)" >&2
  exit 1
fi
echo "fuzz.sh: no findings"
