#!/usr/bin/env bash
# Local PostgreSQL via Debian's cluster tools (pg_lsclusters/pg_ctlcluster), no Docker needed.
# usage: deploy/postgres.sh {install|start|stop|status|createdb NAME...|url NAME}
# All services log in over TCP on 127.0.0.1 as role "border" (password "border");
# Debian's default pg_hba.conf already requires scram-sha-256 for host 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_ROLE=border
PG_PASSWORD=border
CLUSTER=main

# Newest server version installed, e.g. 15 (empty when none).
pg_version() {
  local bins=(/usr/lib/postgresql/*/bin/postgres)
  [[ -x ${bins[0]} ]] || return 0
  printf '%s\n' "${bins[@]}" | sed -E 's|/usr/lib/postgresql/([^/]+)/.*|\1|' | sort -V | tail -n1
}

# Port of our cluster as Debian assigned it (5432 unless that was taken).
pg_port() {
  pg_lsclusters -h | awk -v v="$(pg_version)" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}'
}

# Superuser SQL goes through the local socket as the postgres OS user (peer auth).
# cd / because postgres cannot read the caller's working directory.
psql_admin() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$(pg_port)" "$@")
  else
    (cd / && sudo -u postgres psql -X -q -v ON_ERROR_STOP=1 -p "$(pg_port)" "$@")
  fi
}

running() { [[ -n $(pg_version) ]] && pg_ctlcluster "$(pg_version)" "$CLUSTER" status >/dev/null 2>&1; }

install() {
  if ! command -v pg_ctlcluster >/dev/null || [[ -z $(pg_version) ]]; then
    apt_install postgresql
  fi
  local ver
  ver=$(pg_version)
  # The package normally creates "main"; it can be missing if someone dropped it.
  if [[ -z $(pg_port) ]]; then
    log "creating cluster $ver/$CLUSTER"
    as_root pg_createcluster "$ver" "$CLUSTER"
  fi
}

start() {
  install
  local ver port t0=$SECONDS
  ver=$(pg_version)
  port=$(pg_port)
  if running; then
    log "postgres $ver/$CLUSTER already running"
  else
    log "starting postgres $ver/$CLUSTER on 127.0.0.1:$port"
    as_root pg_ctlcluster "$ver" "$CLUSTER" start
  fi
  until pg_isready -q -h 127.0.0.1 -p "$port" -t 1; do
    ((SECONDS - t0 < 30)) || die "postgres not ready after 30s; see /var/log/postgresql/postgresql-$ver-$CLUSTER.log"
    sleep 0.2
  done
  # ALTER every time so the password is known even if the role predates us.
  psql_admin -d postgres <<SQL
SELECT 'CREATE ROLE $PG_ROLE' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE')\gexec
ALTER ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
-- DROP DATABASE ... WITH (FORCE) in the tests must be able to end an autovacuum worker on the database.
GRANT pg_signal_backend TO $PG_ROLE;
SQL
  log "postgres ready on 127.0.0.1:$port (role $PG_ROLE)"
}

stop() {
  if running; then
    log "stopping postgres $(pg_version)/$CLUSTER"
    as_root pg_ctlcluster "$(pg_version)" "$CLUSTER" stop
  else
    log "postgres not running"
  fi
}

createdb() {
  running || start
  local name
  for name in "$@"; do
    # \gexec with %I quotes the name, so any database name is safe here.
    psql_admin -d postgres -v name="$name" <<SQL
SELECT format('CREATE DATABASE %I OWNER $PG_ROLE', :'name')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\gexec
SQL
  done
}

url() {
  echo "postgresql+psycopg://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$(pg_port || true)/$1"
}

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "postgres running on 127.0.0.1:$(pg_port)"; else echo "postgres stopped"; exit 1; fi ;;
  createdb) shift; (($#)) || die "usage: $0 createdb NAME..."; createdb "$@" ;;
  url) (($# == 2)) || die "usage: $0 url NAME"; url "$2" ;;
  *) echo "usage: $0 {install|start|stop|status|createdb NAME...|url NAME}" >&2; exit 2 ;;
esac
