# strongSwan's charon from Debian 12 as a tunnel gateway. Its ESP runs in user space
# (kernel-libipsec) so it works on nodes whose kernel lacks ESP, as our sidecar's does.
FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends strongswan-charon strongswan-swanctl \
      libstrongswan-standard-plugins libcharon-extra-plugins libstrongswan-extra-plugins iproute2 \
 && rm -rf /var/lib/apt/lists/*
# swanctl loads the configuration ($SWANCTL_CONF, else Debian's) once charon answers on its vici
# socket (not after a fixed pause, which a loaded node outlasts); the container ends with charon.
# charon reads $STRONGSWAN_CONF, else /etc/strongswan.conf.
CMD ["/bin/sh", "-c", "/usr/lib/ipsec/charon & pid=$!; until swanctl --stats >/dev/null 2>&1; do kill -0 $pid || exit 1; sleep 0.1; done; swanctl --load-all --file \"${SWANCTL_CONF:-/etc/swanctl/swanctl.conf}\" && wait $pid"]
