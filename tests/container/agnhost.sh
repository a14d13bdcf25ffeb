#!/bin/sh
# A stand-in for agnhost's netexec and pause (app.Dockerfile says why).
set -eu
case "${1:-}" in
  netexec)
    port=8080
    for a in "$@"; do case "$a" in --http-port=*) port=${a#--http-port=} ;; esac; done
    mkdir -p /tmp/www/cgi-bin
    hostname >/tmp/www/index.html
    printf '#!/bin/sh\nprintf "Content-Type: application/octet-stream\\r\\n\\r\\n"\nexec head -c "${QUERY_STRING:-1024}" /dev/zero\n' \
      >/tmp/www/cgi-bin/bytes
    chmod 755 /tmp/www/cgi-bin/bytes
    exec busybox httpd -f -p "$port" -h /tmp/www ;;
  pause)
    trap 'exit 0' TERM INT
    while :; do sleep 3600 & wait $! || true; done ;;
  *) echo "agnhost stand-in: netexec --http-port=N | pause" >&2; exit 2 ;;
esac
