#!/usr/bin/env bash
# Local Kannel SMS gateway (Debian kannel 1.4.5) with a fake SMS centre, no Docker.
# usage: deploy/kannel.sh {install|start|stop|restart|status|config|inject FROM TO TEXT|sent}
# env: KANNEL_RUN_DIR (.run/kannel), KANNEL_ADMIN_PASSWORD, KANNEL_SEND_USER,
#      KANNEL_SEND_PASSWORD, NOTIFY_URL, KANNEL_INBOUND_SECRET, KANNEL_LOG_LEVEL (1),
#      (the passwords and the secret not given are generated once into $KANNEL_RUN_DIR/secrets.env)
#      KANNEL_ADMIN_PORT (13000), KANNEL_SMSBOX_PORT (13001), KANNEL_SENDSMS_PORT (13013),
#      KANNEL_SMSC_PORT (13015): a second gateway (e.g. a fault test's) on other ports
# See deploy/kannel/README.md for ports and message formats.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export KANNEL_RUN_DIR=${KANNEL_RUN_DIR:-$RUN_DIR/kannel}
export KANNEL_SEND_USER=${KANNEL_SEND_USER:-notify}
export NOTIFY_URL=${NOTIFY_URL:-http://127.0.0.1:8004}
# No password is printed here: what the environment does not give comes from secrets.env, made at the
# first start (notify reads the same file through deploy/test.sh, deploy/run.sh or tests/conftest.py).
SECRETS=$KANNEL_RUN_DIR/secrets.env
KANNEL_SECRETS=(KANNEL_ADMIN_PASSWORD KANNEL_SEND_PASSWORD KANNEL_INBOUND_SECRET)
load_secrets() {
  local name
  for name in "${KANNEL_SECRETS[@]}"; do
    [[ -n ${!name:-} ]] || export "$name=$(read_env_value "$SECRETS" "$name")"
  done
}
ensure_secrets() {
  local name
  mkdir -p "$KANNEL_RUN_DIR"
  for name in "${KANNEL_SECRETS[@]}"; do
    [[ -n ${!name:-} ]] || export "$name=$(new_secret)"
  done
  (umask 077 && for name in "${KANNEL_SECRETS[@]}"; do printf '%s=%s\n' "$name" "${!name}"; done >"$SECRETS.new")
  mv "$SECRETS.new" "$SECRETS"
}
load_secrets
export KANNEL_LOG_LEVEL=${KANNEL_LOG_LEVEL:-1}
# Loopback only, unless a container deployment opens sendsms to its network (docker-compose.yml).
export KANNEL_BIND=${KANNEL_BIND:-127.0.0.1}
export KANNEL_ALLOW_IP=${KANNEL_ALLOW_IP:-127.0.0.1}

export KANNEL_ADMIN_PORT=${KANNEL_ADMIN_PORT:-13000}
export KANNEL_SMSBOX_PORT=${KANNEL_SMSBOX_PORT:-13001}
export KANNEL_SENDSMS_PORT=${KANNEL_SENDSMS_PORT:-13013}
export KANNEL_SMSC_PORT=${KANNEL_SMSC_PORT:-13015}
ADMIN_PORT=$KANNEL_ADMIN_PORT SMSC_PORT=$KANNEL_SMSC_PORT SENDSMS_PORT=$KANNEL_SENDSMS_PORT
RD=$KANNEL_RUN_DIR
CONF=$RD/kannel.conf
FIFO=$RD/fakesmsc.in          # fakesmsc's stdin: `inject` writes MO lines here
SENT_LOG=$RD/fakesmsc.log     # fakesmsc's own output: one "Got message" line per MT SMS
FAKESMSC=/usr/lib/kannel/test/fakesmsc
START_TIMEOUT=30

# A pid file can outlive a reboot and name another process by then: trust it
# only when the PID really runs the expected program.
alive() { # NAME CMDLINE-PATTERN
  local pf=$RD/$1.pid
  # No pipe into `grep -q` (SIGPIPE under pipefail, see kafka.sh).
  is_running "$pf" && grep -q -- "$2" <<<"$(tr '\0' ' ' <"/proc/$(<"$pf")/cmdline" 2>/dev/null)"
}
alive_bearerbox() { alive bearerbox "bearerbox.*$CONF"; }
alive_smsbox() { alive smsbox "smsbox.*$CONF" || adopt_smsbox; }
alive_fakesmsc() { alive fakesmsc "fakesmsc -H 127.0.0.1 -r $SMSC_PORT"; }
alive_fifo() { alive fifo-holder "^sleep infinity"; }

# smsbox that loses bearerbox forks a new smsbox (new PID) 10 s later, even when
# told to stop meanwhile; that child may connect to the next bearerbox and hold
# the sendsms port. Track it by its exact command line (our own config path).
adopt_smsbox() {
  local pid
  pid=$(pgrep -n -x -f -- "$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"/usr/sbin/smsbox -v 2 $CONF")") || return 1
  echo "$pid" >"$RD/smsbox.pid"
}

# status.txt over bash /dev/tcp (no curl needed); empty when bearerbox is down.
admin_status() {
  (exec 3<>"/dev/tcp/127.0.0.1/$ADMIN_PORT" &&
    printf 'GET /status.txt?password=%s HTTP/1.0\r\n\r\n' "$KANNEL_ADMIN_PASSWORD" >&3 &&
    cat <&3) 2>/dev/null || true
}

install() {
  [[ -x /usr/sbin/bearerbox && -x $FAKESMSC ]] || apt_install kannel kannel-extras
  command -v envsubst >/dev/null || apt_install gettext-base
}

render_config() {
  mkdir -p "$RD/store"
  ensure_secrets
  # An explicit list, so Kannel's own %-escapes and anything else with $ stay as written.
  envsubst '${KANNEL_BIND} ${KANNEL_ALLOW_IP} ${KANNEL_RUN_DIR} ${KANNEL_ADMIN_PASSWORD} ${KANNEL_SEND_USER} ${KANNEL_SEND_PASSWORD}
            ${NOTIFY_URL} ${KANNEL_INBOUND_SECRET} ${KANNEL_LOG_LEVEL}
            ${KANNEL_ADMIN_PORT} ${KANNEL_SMSBOX_PORT} ${KANNEL_SENDSMS_PORT} ${KANNEL_SMSC_PORT}' \
    <"$ROOT/deploy/kannel/kannel.conf.template" >"$CONF"
  chmod 600 "$CONF"   # holds passwords
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_fakesmsc() {
  [[ -p $FIFO ]] || { rm -f "$FIFO"; mkfifo -m 600 "$FIFO"; }
  # The holder keeps a writer on the FIFO so fakesmsc never reads EOF between
  # injects (O_RDWR open: does not block waiting for a reader).
  alive_fifo || { setsid sleep infinity <>"$FIFO" >/dev/null 2>&1 & echo $! >"$RD/fifo-holder.pid"; }
  # No message arguments = interactive mode: every stdin line is sent as an MO SMS.
  # -i 0: no pacing between MOs; -v 0: print each received MT ("Got message").
  setsid nohup "$FAKESMSC" -H 127.0.0.1 -r "$SMSC_PORT" -i 0 -v 0 <"$FIFO" >>"$SENT_LOG" 2>&1 &
  echo $! >"$RD/fakesmsc.pid"
  log "started fakesmsc (pid $!, log $SENT_LOG, MO input $FIFO)"
  local deadline=$((SECONDS + START_TIMEOUT))
  until grep -q "fake.*online" <<<"$(admin_status)"; do
    # The PID only: just after the fork its command line is still this script's, not fakesmsc's yet.
    is_running "$RD/fakesmsc.pid" || die "fakesmsc exited; see $SENT_LOG"
    ((SECONDS < deadline)) || die "fake SMS centre not online after ${START_TIMEOUT}s"
    sleep 0.2
  done
}

start() {
  local t0=$SECONDS
  install
  mkdir -p "$RD"
  if ! alive_bearerbox; then
    # e.g. the Debian package's own service: we must not wait on someone else's port.
    local port
    for port in "$ADMIN_PORT" "$KANNEL_SMSBOX_PORT" "$SMSC_PORT"; do
      port_free "$port" || die "port $port is in use by another process (system kannel?)"
    done
    render_config
    # -v 2: only warnings to stderr (.out); the log-file in the config has the rest.
    start_bg bearerbox "$RD/bearerbox.pid" "$RD/bearerbox.out" /usr/sbin/bearerbox -v 2 "$CONF"
    wait_port 127.0.0.1 "$ADMIN_PORT" "$START_TIMEOUT" || die "bearerbox not up; see $RD/bearerbox.out"
  fi
  alive_fakesmsc || start_fakesmsc
  if ! alive_smsbox; then
    port_free "$SENDSMS_PORT" || die "port $SENDSMS_PORT is in use by another process"
    start_bg smsbox "$RD/smsbox.pid" "$RD/smsbox.out" /usr/sbin/smsbox -v 2 "$CONF"
  fi
  # Also when smsbox was already there: it may be between a lost bearerbox and its respawn.
  wait_port 127.0.0.1 "$SENDSMS_PORT" "$START_TIMEOUT" || die "smsbox not up; see $RD/smsbox.out"
  alive_smsbox || die "smsbox exited; see $RD/smsbox.out"
  log "kannel ready (sendsms 127.0.0.1:$SENDSMS_PORT) after $((SECONDS - t0))s"
}

stop() {
  # smsbox first so it stops taking requests; bearerbox last so it can write its store.
  local i
  for i in 1 2 3; do   # again for a respawned child (see adopt_smsbox)
    alive_smsbox || break
    stop_pid "$RD/smsbox.pid" 20
  done
  alive_fakesmsc && stop_pid "$RD/fakesmsc.pid" 10
  alive_fifo && stop_pid "$RD/fifo-holder.pid" 5
  alive_bearerbox && stop_pid "$RD/bearerbox.pid" 30
  rm -f "$RD"/{smsbox,fakesmsc,fifo-holder,bearerbox}.pid
  log "kannel stopped"
}

status() {
  local n rc=0
  for n in bearerbox fakesmsc fifo-holder smsbox; do
    if "alive_${n%-holder}"; then echo "$n running (pid $(<"$RD/$n.pid"))"; else echo "$n stopped"; rc=1; fi
  done
  admin_status | sed -n '/^SMS:/p;/^SMSC connections:/,$p'
  return $rc
}

inject() { # FROM TO TEXT — one MO SMS from a phone, as UCS-2 so any script (Khmer) survives
  (($# == 3)) || die "usage: $0 inject FROM TO TEXT"
  alive_fakesmsc || die "fakesmsc is not running"
  local from=$1 to=$2 text=$3 line before
  [[ $from =~ ^[+0-9]+$ && $to =~ ^[+0-9]+$ ]] || die "FROM and TO must be phone numbers"
  [[ $text != *$'\n'* && -n $text ]] || die "TEXT must be one non-empty line"
  # fakesmsc reads stdin with a 256-byte fgets: a longer line would become several SMS.
  # Prefer "ucs2" (url-encoded UTF-16BE), how a phone sends Khmer; smsbox's mo-recode
  # turns it into UTF-8. Too long for that: "text" with raw UTF-8 bytes, which smsbox
  # also passes on as UTF-8 (6 vs 3 bytes per Khmer character).
  line="$from $to ucs2 $(printf '%s' "$text" | iconv -f UTF-8 -t UTF-16BE | od -An -v -tx1 | tr -d ' \n' | sed 's/../%&/g')"
  ((${#line} < 255)) || line="$from $to text $text"
  (($(printf '%s' "$line" | wc -c) < 255)) || die "text too long for one fakesmsc line (254 bytes)"
  # fakesmsc reads stdin through stdio but polls the raw fd: two lines in the pipe
  # at once would leave the second stuck in its buffer. So inject one at a time
  # (flock) and wait until fakesmsc reports it sent this one.
  exec 9>"$RD/inject.lock"
  flock -w 30 9 || die "another inject is stuck"
  before=$(grep -c 'fakesmsc: sent message' "$SENT_LOG" || true)
  printf '%s\n' "$line" >"$FIFO"
  local deadline=$((SECONDS + 10))
  until (($(grep -c 'fakesmsc: sent message' "$SENT_LOG" || true) > before)); do
    ((SECONDS < deadline)) || die "fakesmsc did not take the message in 10s"
    sleep 0.05
  done
}

sent() { [[ -f $SENT_LOG ]] && grep 'Got message' "$SENT_LOG" || true; }

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  config) render_config ;;  # writes kannel.conf (and secrets.env) without starting anything
  inject) shift; inject "$@" ;;
  sent) sent ;;
  *) echo "usage: $0 {install|start|stop|restart|status|config|inject FROM TO TEXT|sent}" >&2; exit 2 ;;
esac
