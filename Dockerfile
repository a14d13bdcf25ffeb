# ipsec-sidecar container image. Both stages install their packages with the script the README
# uses (scripts/install-deps.sh), so the image and a developer machine cannot drift.
# Build: docker build -t ipsec-sidecar . (on a machine without a registry: scripts/build-image.sh)

FROM debian:12 AS build
WORKDIR /src
# PREBUILT: a directory of the build context holding the three binaries, already built (a
# Release build tree of this source on Debian 12) and stripped, as scripts/build-image.sh
# --prebuilt stages it: the stage then neither installs the toolchain nor compiles again.
ARG PREBUILT=
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN [ -n "$PREBUILT" ] || scripts/install-deps.sh --build-only
COPY . .
RUN if [ -n "$PREBUILT" ]; then \
      install -D -m 0755 "$PREBUILT/ipsec-sidecar" build/sidecar/app/ipsec-sidecar \
   && install -D -m 0755 "$PREBUILT/ipsecctl" build/sidecar/ipsecctl/ipsecctl \
   && install -D -m 0755 "$PREBUILT/ipsec-injector" build/sidecar/injector/ipsec-injector; \
    else scripts/build.sh Release ipsec-sidecar ipsecctl ipsec-injector \
   && strip build/sidecar/app/ipsec-sidecar build/sidecar/ipsecctl/ipsecctl \
            build/sidecar/injector/ipsec-injector; fi

FROM debian:12-slim AS runtime
COPY scripts/install-deps.sh /usr/local/lib/ipsec-sidecar/install-deps.sh
RUN /usr/local/lib/ipsec-sidecar/install-deps.sh --runtime-only \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/ipsec-sidecar ipsec \
 && install -d -o root -g ipsec -m 0770 /var/lib/ipsec-sidecar \
 && install -d -o root -g ipsec -m 0770 /var/log/ipsec-sidecar
COPY --from=build /src/build/sidecar/app/ipsec-sidecar /usr/local/bin/ipsec-sidecar
COPY --from=build /src/build/sidecar/ipsecctl/ipsecctl /usr/local/bin/ipsecctl
COPY --from=build /src/build/sidecar/injector/ipsec-injector /usr/local/bin/ipsec-injector
# The image's default user suits ipsec-injector and the policy engine alone. The sidecar's
# data path needs NET_ADMIN, NET_RAW and NET_BIND_SERVICE (TUN, routes, nftables, raw ESP, UDP
# 500) and /dev/net/tun: the manifests run it as UID 0 with only those capabilities, never
# privileged (deploy/components/sidecar). Without CAP_DAC_OVERRIDE, UID 0 writes only where it
# owns (or is granted) the directory: the state and log directories are root's, and group ipsec
# lets the image's default user write them too. Runtimes that fill a volume from the image's
# directory (podman's emptyDir, docker volumes) copy this ownership. tests/container plays it;
# tests/deploy/dockerfile_test.sh checks this file.
USER ipsec
EXPOSE 9443 9090
HEALTHCHECK --interval=10s --timeout=3s CMD curl -sf http://127.0.0.1:9443/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/ipsec-sidecar"]
