#!/usr/bin/env bash
# One HTTPS origin in front of every service (Caddy from Debian's packages, its own local CA).
# usage: deploy/proxy.sh start|stop|status|ca
# env: PROXY_PORT (8443), PROXY_HTTP_PORT (8480, unused but Caddy binds no port 80 then),
#      PROXY_HOSTS (names and addresses the certificate covers; default: localhost, this host's name and
#      LAN addresses), PROXY_RUN_DIR (.run/caddy), UPSTREAM_<SERVICE> (127.0.0.1:800N)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export PROXY_PORT=${PROXY_PORT:-8443}
export PROXY_HTTP_PORT=${PROXY_HTTP_PORT:-8480}
PROXY_RUN_DIR=${PROXY_RUN_DIR:-$RUN_DIR/caddy}
export PROXY_DATA_DIR=$PROXY_RUN_DIR/data
export PROXY_STATIC_DIR=$PROXY_RUN_DIR/static
PIDFILE=$PROXY_RUN_DIR/caddy.pid
LOGFILE=$PROXY_RUN_DIR/caddy.log
ROOT_CERT=$PROXY_DATA_DIR/pki/authorities/local/root.crt

i=0
for name in identity intake quarantine transport notify dashboard; do
  var=UPSTREAM_${name^^}
  export "$var=${!var:-127.0.0.1:$((8000 + i))}"
  i=$((i + 1))
done

sites() {
  local hosts=${PROXY_HOSTS:-localhost 127.0.0.1 $(hostname) $(hostname -I 2>/dev/null || true)} h out=() joined
  for h in $hosts; do
    [[ $h == *:* && $h != \[* ]] && h="[$h]"  # an IPv6 address in a URL
    out+=("https://$h:$PROXY_PORT")
  done
  printf -v joined '%s, ' "${out[@]}"
  echo "${joined%, }"
}

case ${1:-} in
  start)
    is_running "$PIDFILE" && { log "proxy already running on https://127.0.0.1:$PROXY_PORT"; exit 0; }
    command -v caddy >/dev/null || apt_install caddy
    # Another server on the port would answer our readiness check with its own certificate.
    ! (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null ||
      die "127.0.0.1:$PROXY_PORT is already in use: $(ss -ltnpH "sport = :$PROXY_PORT" 2>/dev/null || true)"
    mkdir -p "$PROXY_DATA_DIR" "$PROXY_STATIC_DIR/trust"
    cp "$ROOT/deploy/caddy/trust/index.html" "$PROXY_STATIC_DIR/trust/"
    PROXY_SITES=$(sites) start_bg caddy "$PIDFILE" "$LOGFILE" \
      caddy run --config "$ROOT/deploy/caddy/Caddyfile" --adapter caddyfile
    # The CA is made (first start) and the certificates issued before the port is of any use.
    deadline=$((SECONDS + 30))
    until [[ -s $ROOT_CERT ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null; do
      is_running "$PIDFILE" || { tail -20 "$LOGFILE" >&2; die "caddy failed to start"; }
      ((SECONDS < deadline)) || die "caddy not ready after 30s (log: $LOGFILE)"
      sleep 0.2
    done
    is_running "$PIDFILE" || { tail -20 "$LOGFILE" >&2; die "caddy exited after start"; }
    openssl x509 -in "$ROOT_CERT" -noout -fingerprint -sha256 | cut -d= -f2 >"$PROXY_STATIC_DIR/trust/fingerprint.txt"
    log "proxy ready on https://127.0.0.1:$PROXY_PORT (CA: $ROOT_CERT)"
    ;;
  stop) stop_pid "$PIDFILE" 10 ;;
  status)
    if is_running "$PIDFILE"; then echo "proxy running on https://127.0.0.1:$PROXY_PORT"; else echo "proxy stopped"; exit 1; fi
    ;;
  ca) echo "$ROOT_CERT" ;;
  *) die "usage: $0 start|stop|status|ca" ;;
esac
