#!/usr/bin/env bash
# The README's test command: install, start Kafka, PostgreSQL and Kannel, run the whole suite.
# usage: deploy/test.sh [pytest args...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

bash deploy/install.sh --test

# Stop at the end only what this run started; a developer's running stack is left alone.
started=()
cleanup() {
  local s
  for s in "${started[@]}"; do bash "deploy/$s.sh" stop || true; done
}
trap cleanup EXIT
bash deploy/kafka.sh status >/dev/null 2>&1 || started+=(kafka)
bash deploy/kannel.sh status >/dev/null 2>&1 || started+=(kannel)
bash deploy/kafka.sh start
bash deploy/postgres.sh start
bash deploy/kannel.sh start

export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
# notify's tests talk to this Kannel with the credentials it generated at its first start.
export_notify_kannel_secrets "${KANNEL_RUN_DIR:-$RUN_DIR/kannel}/secrets.env"
export KANNEL_RESTART_TESTS=1
# notify's own defaults name deploy/kannel.sh's default ports; a gateway moved with KANNEL_*_PORT is here.
export NOTIFY_KANNEL_SENDSMS_URL=http://127.0.0.1:${KANNEL_SENDSMS_PORT:-13013}/cgi-bin/sendsms
export NOTIFY_KANNEL_STATUS_URL=http://127.0.0.1:${KANNEL_ADMIN_PORT:-13000}/status.txt  # the test command owns this Kannel: notify may stop and start it
export TEST_POSTGRES_URL=$(bash deploy/postgres.sh url postgres)
.venv/bin/border-topics

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest exits 5 when it collected nothing: a suite that ran nothing must not pass.
if ((rc == 5)); then
  log "no tests were collected"
  exit 1
fi
exit "$rc"
