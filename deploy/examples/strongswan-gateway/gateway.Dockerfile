# strongSwan's charon from Debian 12 as a tunnel gateway. Its ESP runs in user space
# (kernel-libipsec) so it works on nodes whose kernel lacks ESP, as our sidecar's does.
FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends strongswan-charon strongswan-swanctl \
      libcharon-extra-plugins libstrongswan-extra-plugins iproute2 \
 && rm -rf /var/lib/apt/lists/*
CMD ["/bin/sh", "-c", "/usr/lib/ipsec/charon & sleep 2 && swanctl --load-all && wait"]
