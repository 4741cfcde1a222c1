#!/usr/bin/env bash
# Shared helpers for the deploy scripts. Source it; do not run it.
# Every long-running thing we start is tracked by a pid file under $RUN_DIR and
# stopped by that PID only, so we never touch processes we did not start.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$ROOT/.run"      # git-ignored: pid files, logs, data
CACHE_DIR="$ROOT/.cache"  # git-ignored: downloaded jars etc.
export ROOT RUN_DIR CACHE_DIR

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

die() { log "ERROR: $*"; exit 1; }

# wait_port HOST PORT TIMEOUT_SECONDS — bash /dev/tcp so no nc/curl is needed.
wait_port() {
  local host=$1 port=$2 timeout=${3:-30}
  # +1: SECONDS ticks in whole seconds, so never give up early
  local deadline=$((SECONDS + timeout + 1))
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $host:$port"
      return 1
    fi
    sleep 0.2
  done
}

# pid_alive PID — true while any thread of PID is not a zombie. kill -0 alone is
# not enough: our daemons are reparented to PID 1, which here reaps them only
# after a second or more. And the main thread of a dying JVM turns zombie while
# other threads still hold its sockets, so every thread is checked.
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  # No pipe into `grep -q` (SIGPIPE under pipefail): the states are read first.
  grep -qv 'zombie' <<<"$(grep -h '^State:' /proc/"$1"/task/*/status 2>/dev/null)"
}

# is_running PIDFILE — true when the pid file names a live process.
is_running() {
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid"
}

# start_bg NAME PIDFILE LOGFILE cmd... — setsid detaches the process from our
# terminal/process group so Ctrl-C on a caller or the end of a CI step does not kill it.
start_bg() {
  local name=$1 pidfile=$2 logfile=$3
  shift 3
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  # Without job control the child is no group leader, so setsid does not fork
  # and $! is the real PID (and its own process group, which stop_pid signals).
  local monitor=$-
  set +m
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  [[ $monitor == *m* ]] && set -m
  log "started $name (pid $!, log $logfile)"
}

# Signal the whole process group start_bg created (wrapper shells, workers),
# falling back to the single PID when it is not a group leader.
_signal() {
  kill -"$1" -- "-$2" 2>/dev/null || kill -"$1" "$2" 2>/dev/null || true
}

# stop_pid PIDFILE [TIMEOUT] — SIGTERM, wait, then SIGKILL. No-op when not running.
stop_pid() {
  local pidfile=$1 timeout=${2:-30} pid deadline
  if ! is_running "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(<"$pidfile")
  _signal TERM "$pid"
  deadline=$((SECONDS + timeout + 1))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "pid $pid did not exit after ${timeout}s; sending SIGKILL"
      _signal KILL "$pid"
      break
    fi
    sleep 0.2
  done
  # the process may be our child (same shell) — reap it quietly
  wait "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# as_root cmd... — the sandbox runs as root without sudo; developers may not.
as_root() {
  if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

# apt_install PKG... — installs only what is missing. The lock timeout matters
# because other scripts may be running apt at the same time.
_APT_UPDATED=""
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600)
  if [[ -z $_APT_UPDATED ]]; then
    log "apt-get update"
    # DPkg::Lock::Timeout does not cover the lists lock taken by update, so retry by hand.
    local tries=0 err
    err=$(mktemp)
    until as_root "${apt[@]}" update 2>"$err"; do
      grep -q 'Could not get lock' "$err" && ((++tries < 60)) || { cat "$err" >&2; rm -f "$err"; return 1; }
      log "apt lists are locked by another apt; waiting"
      sleep 10
    done
    rm -f "$err"
    _APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  as_root "${apt[@]}" install --no-install-recommends "${missing[@]}"
}

# new_secret — 32 random bytes as hex: safe in URLs, config files and env files without quoting.
new_secret() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

# read_env_value FILE NAME — the value of NAME=... in a KEY=VALUE file; empty when absent.
read_env_value() {
  [[ -f $1 ]] || return 0
  sed -n "s/^$2=//p" "$1" | tail -1
}

# ensure_secret_file FILE cmd... — FILE holds a secret made once by cmd (mode 600), kept across runs.
ensure_secret_file() {
  local file=$1
  shift
  [[ -s $file ]] && return 0
  (umask 077 && mkdir -p "$(dirname "$file")" && "$@" >"$file.new") && mv "$file.new" "$file"
}

# export_notify_kannel_secrets FILE — give notify the credentials of the Kannel whose secrets.env is FILE
# (none when the file is missing: a Kannel started with credentials of its own).
export_notify_kannel_secrets() {
  local notify kannel value
  for notify in SEND_PASSWORD:KANNEL_SEND_PASSWORD INBOUND_SECRET:KANNEL_INBOUND_SECRET STATUS_PASSWORD:KANNEL_ADMIN_PASSWORD; do
    kannel=${notify#*:} value=$(read_env_value "$1" "$kannel")
    [[ -n $value ]] && export "NOTIFY_KANNEL_${notify%%:*}=$value"
  done
  return 0
}

# new_password — 20 hex characters (80 bits): a demo password an operator can type.
new_password() { new_secret | cut -c1-20; }
