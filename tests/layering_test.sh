#!/usr/bin/env bash
# Checks the module layering of ../shared/STYLE.md (c) by scanning #include lines: each module
# may include only the project modules and third-party headers it is allowed to use. CMake's
# per-module link lists enforce the same at build time; this catches a header-only slip.
set -u
root=${1:-$(git rev-parse --show-toplevel)}
cd "$root" || exit 2
fail=0

# module directory | allowed project include prefixes (space-separated) | forbidden system headers (regex)
rules=(
  "engine/common|engine/common/|openssl/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/telemetry|engine/common/ engine/telemetry/|openssl/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/crypto|engine/common/ engine/crypto/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/policy|engine/common/ engine/policy/|openssl/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/esp|engine/common/ engine/telemetry/ engine/crypto/ engine/esp/|openssl/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/dataplane|engine/common/ engine/telemetry/ engine/crypto/ engine/policy/ engine/esp/ engine/dataplane/|openssl/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/ike/codec|engine/common/ engine/crypto/ engine/ike/codec/|openssl/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/ike|engine/common/ engine/telemetry/ engine/crypto/ engine/policy/ engine/ike/ engine/dataplane/backend.h|openssl/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/net|engine/common/ engine/net/|openssl/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "engine/service|engine/|openssl/|boost/|nlohmann/|prometheus/|yaml-cpp/|CLI/"
  "api/dto|engine/common/ engine/policy/ api/dto/|openssl/|boost/|prometheus/|CLI/"
  "api/handlers|engine/common/ engine/policy/ engine/service/ engine/telemetry/ api/dto/ api/handlers/|prometheus/|CLI/"
  "api/http|engine/common/ api/http/|nlohmann/|prometheus/|CLI/"
  "api/client|engine/common/ api/dto/ api/client/|prometheus/"
  "sidecar/metrics|engine/common/ engine/telemetry/ engine/policy/ engine/service/ sidecar/metrics/|boost/|nlohmann/|CLI/"
  "sidecar/log|engine/common/ engine/telemetry/ sidecar/log/|boost/|prometheus/|CLI/"
  "sidecar/store|engine/ api/dto/ sidecar/store/|boost/|prometheus/|CLI/"
  "sidecar/injector|engine/common/ api/dto/ api/http/ sidecar/injector/|openssl/|prometheus/"
  "sidecar/ipsecctl|engine/common/ engine/policy/ api/dto/ api/client/ sidecar/ipsecctl/|prometheus/"
)

for rule in "${rules[@]}"; do
  dir=${rule%%|*}
  rest=${rule#*|}
  allowed=${rest%%|*}
  forbidden=${rest#*|}
  [ -d "$dir" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$line")
    case "$line" in
      *'#include "'*)
        ok=0
        for prefix in $allowed; do
          [[ $inc == "$prefix"* ]] && ok=1
        done
        if [ $ok -eq 0 ]; then
          echo "layering: $file includes \"$inc\", not allowed in $dir (allowed: $allowed)"
          fail=1
        fi
        ;;
      *)
        if [[ $inc =~ ^($forbidden) ]]; then
          echo "layering: $file includes <$inc>, forbidden in $dir"
          fail=1
        fi
        ;;
    esac
  done < <(grep -rHn -E '^[[:space:]]*#[[:space:]]*include' "$dir" --include='*.h' --include='*.cc' | sed -E 's/^([^:]+):[0-9]+:/\1:/')
done

# Nothing depends on sidecar/ but sidecar/ itself and tests.
if grep -rn -E '#include "sidecar/' engine api 2>/dev/null; then
  echo "layering: engine/ or api/ includes sidecar/"
  fail=1
fi
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
