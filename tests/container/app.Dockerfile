# The application containers of tests/container: the examples' agnhost (netexec, pause) is on a
# registry this suite cannot reach, so the suite builds this stand-in from Debian's image and
# tags it with agnhost's name in the local store only: the manifests stay as users apply them.
# `netexec --http-port=N` serves HTTP on N (busybox httpd): / answers the pod's name, and
# /cgi-bin/bytes?N streams N zero octets (throughput); `pause` waits for SIGTERM. curl and
# iperf3 are the clients.
FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends busybox curl iperf3 \
 && rm -rf /var/lib/apt/lists/*
COPY agnhost.sh /usr/local/bin/agnhost
ENTRYPOINT ["/usr/local/bin/agnhost"]
