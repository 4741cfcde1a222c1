#!/usr/bin/env bash
# The README's run command: the whole system on SQLite, with Kafka and Kannel+fakesmsc, on this machine.
# usage: deploy/run.sh [stop]     Ctrl-C stops everything it started.
set -euo pipefail
# A shell started in the background by a non-interactive parent (nohup, `&`, CI runners) inherits SIGINT
# as ignored, and bash cannot trap a signal ignored on entry: start again with it restored, so Ctrl-C
# (forwarded by a supervisor, or typed after `fg`) still stops everything.
if [[ -z ${BORDER_RUN_SIGNALS_RESET:-} ]]; then
  BORDER_RUN_SIGNALS_RESET=1 exec env --default-signal=INT,TERM bash "${BASH_SOURCE[0]}" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SERVICES=(identity:8000 intake:8001 quarantine:8002 transport:8003 notify:8004 dashboard:8005)
SVC_DIR=$RUN_DIR/services
SECRETS_DIR=$RUN_DIR/secrets  # made at the first start, mode 600, kept: nothing here is printed in the repository

# Infrastructure that was already running (a developer's, or the test command's) is left running.
started=()
stop_all() {
  local s
  bash deploy/proxy.sh stop || true
  for s in "${SERVICES[@]}"; do stop_pid "$SVC_DIR/${s%%:*}.pid" 20; done
  for s in "${started[@]}"; do bash "deploy/$s.sh" stop || true; done
}

if [[ ${1:-} == stop ]]; then
  started=(kannel kafka)
  stop_all
  exit 0
fi

bash deploy/install.sh
# The issuer's signing key (the services fetch its public half from identity's JWKS), the demo users'
# password and the bearer token Prometheus scrapes /metrics with.
ensure_secret_file "$SECRETS_DIR/identity-signing-key.pem" .venv/bin/border-identity keys generate
ensure_secret_file "$SECRETS_DIR/demo-password" new_password
ensure_secret_file "$SECRETS_DIR/metrics-token" new_secret
export IDENTITY_SIGNING_KEY_FILE=$SECRETS_DIR/identity-signing-key.pem
export IDENTITY_DEMO_PASSWORD=$(<"$SECRETS_DIR/demo-password")
export METRICS_TOKEN=$(<"$SECRETS_DIR/metrics-token")
export JWT_JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json
export JWT_REVOCATIONS_URL=http://127.0.0.1:8000/auth/revocations
trap 'echo; log "stopping"; stop_all; exit 0' INT TERM
for s in kafka kannel; do
  bash "deploy/$s.sh" status >/dev/null 2>&1 || started=("$s" "${started[@]}")
  bash "deploy/$s.sh" start
done
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
# Kannel keeps its generated passwords and inbound secret in its own run directory (also when it was
# already running): notify gets them from there.
export_notify_kannel_secrets "${KANNEL_RUN_DIR:-$RUN_DIR/kannel}/secrets.env"
.venv/bin/border-topics

# The demo clock: one day a minute unless asked otherwise, the same epoch for every service.
export CLOCK_SPEED=${CLOCK_SPEED:-1440}
export CLOCK_EPOCH=${CLOCK_EPOCH:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
# The demo has nobody recording daily check-ins or dispatching vehicles: let the services do it.
export QUARANTINE_REQUIRE_FINAL_CHECKIN=${QUARANTINE_REQUIRE_FINAL_CHECKIN:-false}
export TRANSPORT_AUTO_DISPATCH=${TRANSPORT_AUTO_DISPATCH:-true}
export NOTIFY_WEBHOOKS_ALLOW_PRIVATE=${NOTIFY_WEBHOOKS_ALLOW_PRIVATE:-true}
export NOTIFY_WEBHOOKS_ALLOW_HTTP=${NOTIFY_WEBHOOKS_ALLOW_HTTP:-true}

mkdir -p "$RUN_DIR/data" "$SVC_DIR"
for s in "${SERVICES[@]}"; do
  name=${s%%:*} port=${s##*:}
  export "${name^^}_DATABASE_URL=sqlite+aiosqlite:///$RUN_DIR/data/$name.db" "${name^^}_HTTP_PORT=$port"
done
log "preparing the databases and the demo data (users, facilities, vehicles, commune contacts)"
for s in "${SERVICES[@]}"; do
  ".venv/bin/border-${s%%:*}" migrate >/dev/null
done
COLUMNS=140 .venv/bin/border-identity seed-demo >"$RUN_DIR/demo-users.txt"
for name in quarantine transport notify; do
  ".venv/bin/border-$name" seed-demo >>"$SVC_DIR/seed.log" 2>&1
done
for s in "${SERVICES[@]}"; do
  name=${s%%:*}
  is_running "$SVC_DIR/$name.pid" && continue
  start_bg "$name" "$SVC_DIR/$name.pid" "$SVC_DIR/$name.log" ".venv/bin/border-$name" serve --no-migrate-first
done
for s in "${SERVICES[@]}"; do
  name=${s%%:*} port=${s##*:}
  deadline=$((SECONDS + 60))
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    is_running "$SVC_DIR/$name.pid" || { tail -20 "$SVC_DIR/$name.log" >&2; stop_all; die "$name failed to start"; }
    ((SECONDS < deadline)) || { stop_all; die "$name not ready after 60s (log: $SVC_DIR/$name.log)"; }
    sleep 0.3
  done
done

# One HTTPS origin for a tablet on the LAN (service worker and offline queue need a secure origin).
bash deploy/proxy.sh start || { stop_all; die "the HTTPS proxy failed to start (log: $RUN_DIR/caddy/caddy.log)"; }
lan=$(hostname -I 2>/dev/null | cut -d' ' -f1)

cat "$RUN_DIR/demo-users.txt"
cat <<MSG

The border-return system is up (SQLite in $RUN_DIR/data, logs in $SVC_DIR; demo clock x$CLOCK_SPEED).
  One HTTPS origin         https://${lan:-127.0.0.1}:${PROXY_PORT:-8443}/tablet/ (and /transport/, /quarantine/, /notify/, /dashboard/;
                           APIs under /api/<service>/). Tablets first trust its CA: https://${lan:-127.0.0.1}:${PROXY_PORT:-8443}/trust/
  Checkpoint tablet        http://127.0.0.1:8001/tablet/      (log in as checkpoint.poipet)
  Quarantine facility      http://127.0.0.1:8002/quarantine/  (facility.poipet)
  Transfer working group   http://127.0.0.1:8003/transport/   (transport.bmc)
  Contacts and SMS         http://127.0.0.1:8004/notify/      (pwg.preyveng, district.baphnum)
  Provincial dashboard     http://127.0.0.1:8005/dashboard/   (pwg.preyveng, national.admin)
  API docs                 http://127.0.0.1:800[0-5]/docs     identity 0, intake 1, quarantine 2, transport 3, notify 4, dashboard 5
  SMS centre log (what the commune chiefs' phones got): $RUN_DIR/kannel/fakesmsc.log  (bash deploy/kannel.sh sent)
  A chief's reply:  bash deploy/kannel.sh inject <chief's phone> 1294 "VISIT <code>"
Press Ctrl-C to stop everything.
MSG
# Sleep in short steps so the trap runs as soon as Ctrl-C arrives.
while true; do sleep 1; done
