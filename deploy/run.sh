#!/usr/bin/env bash
# The README's run command: the whole system on SQLite, with Kafka and Kannel+fakesmsc, on this machine.
# usage: deploy/run.sh [stop]     Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SERVICES=(intake:8001 quarantine:8002 transport:8003 notify:8004)
SVC_DIR=$RUN_DIR/services

# Infrastructure that was already running (a developer's, or the test command's) is left running.
started=()
stop_all() {
  local s
  for s in "${SERVICES[@]}"; do stop_pid "$SVC_DIR/${s%%:*}.pid" 20; done
  for s in "${started[@]}"; do bash "deploy/$s.sh" stop || true; done
}

if [[ ${1:-} == stop ]]; then
  started=(kannel kafka)
  stop_all
  exit 0
fi

bash deploy/install.sh
trap 'echo; log "stopping"; stop_all; exit 0' INT TERM
for s in kafka kannel; do
  bash "deploy/$s.sh" status >/dev/null 2>&1 || started=("$s" "${started[@]}")
  bash "deploy/$s.sh" start
done
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
.venv/bin/border-topics

mkdir -p "$RUN_DIR/data" "$SVC_DIR"
for s in "${SERVICES[@]}"; do
  name=${s%%:*} port=${s##*:}
  is_running "$SVC_DIR/$name.pid" && continue
  upper=${name^^}
  (
    export "${upper}_DATABASE_URL=sqlite+aiosqlite:///$RUN_DIR/data/$name.db" "${upper}_HTTP_PORT=$port"
    start_bg "$name" "$SVC_DIR/$name.pid" "$SVC_DIR/$name.log" ".venv/bin/border-$name" serve
  )
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

cat <<MSG

The border-return system is up (SQLite in $RUN_DIR/data, logs in $SVC_DIR):
  intake       http://127.0.0.1:8001/docs
  quarantine   http://127.0.0.1:8002/docs
  transport    http://127.0.0.1:8003/docs
  notify       http://127.0.0.1:8004/docs
  Kafka        127.0.0.1:${KAFKA_PORT:-9092}     SMS gateway (Kannel sendsms) 127.0.0.1:13013
  SMS centre log (what the commune chiefs' phones got): $RUN_DIR/kannel/fakesmsc.log
Press Ctrl-C to stop everything.
MSG
# Sleep in short steps so the trap runs as soon as Ctrl-C arrives.
while true; do sleep 1; done
