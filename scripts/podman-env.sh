# Sourced by scripts/build-image.sh and the container tests: the project's podman settings
# (deploy/podman/containers.conf), checked against this machine. Needs bash.
_ipsec_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF=$_ipsec_src/deploy/podman/containers.conf

# "" when podman can run here with these settings, else what is missing.
podman_env_problem() {
  local tool
  for tool in podman buildah mmdebstrap runc; do
    command -v "$tool" >/dev/null ||
      { echo "$tool is missing: run scripts/install-deps.sh"; return; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "podman here runs as root (rootful storage and bridge networks)"; return; }
  local limit want
  for limit in nofile:n nproc:u; do
    want=$(grep -oE "${limit%%:*}=[0-9]+" "$CONTAINERS_CONF" | cut -d= -f2)
    local hard
    hard=$(ulimit -H"${limit##*:}")
    if [ "$hard" != unlimited ] && [ "$hard" -le "$want" ]; then
      echo "this host's hard ${limit%%:*} limit ($hard) is not above containers.conf's ($want):" \
        "lower default_ulimits in $CONTAINERS_CONF"
      return
    fi
  done
}
