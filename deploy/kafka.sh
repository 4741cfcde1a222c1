#!/usr/bin/env bash
# Local single-node Kafka (KRaft) from Maven Central jars, no Docker needed.
# usage: deploy/kafka.sh {fetch|start|stop|restart|status|kill9}
# env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
#      KAFKA_RUN_DIR (.run/kafka; point tests at a separate data dir),
#      KAFKA_HEAP (-Xmx1g)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_RUN_DIR=${KAFKA_RUN_DIR:-$RUN_DIR/kafka}
KAFKA_HEAP=${KAFKA_HEAP:--Xmx1g}  # many short-lived test topics need headroom
KAFKA_DATA_DIR=$KAFKA_RUN_DIR/data
LIBS=$CACHE_DIR/kafka/libs
POM=$ROOT/deploy/kafka/pom.xml
MARKER=$LIBS/.fetched   # holds the pom's hash: a changed pom means a new fetch
PIDFILE=$KAFKA_RUN_DIR/kafka.pid
OUT=$KAFKA_RUN_DIR/kafka.out
START_TIMEOUT=90

need_tools() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
}

fetch() {
  local want
  want=$(sha256sum "$POM" | cut -d' ' -f1)
  [[ -f $MARKER && $(<"$MARKER") == "$want" ]] && return 0
  need_tools
  log "fetching Kafka jars into $LIBS"
  # Download into a scratch dir so an interrupted fetch never looks complete.
  rm -rf "$LIBS.tmp"
  mkdir -p "$(dirname "$LIBS")"
  # Maven's output is only noise (colour codes even with -q) unless it fails.
  mvn -q -B -f "$POM" dependency:copy-dependencies -DoutputDirectory="$LIBS.tmp" >"$LIBS.log" 2>&1 ||
    { cat "$LIBS.log" >&2; die "maven could not fetch the Kafka jars"; }
  rm -rf "$LIBS"
  mv "$LIBS.tmp" "$LIBS"
  echo "$want" >"$MARKER"
  log "fetched $(ls "$LIBS"/*.jar | wc -l) jars"
}

# A pid file can outlive a reboot or container restart and name some other
# process by then; only trust it when the PID really is our broker.
alive() {
  # No pipe into `grep -q`: it exits at the first match, `tr` then dies of SIGPIPE, and pipefail calls a
  # live broker dead.
  is_running "$PIDFILE" && grep -q 'kafka\.Kafka' <<<"$(tr '\0' ' ' <"/proc/$(<"$PIDFILE")/cmdline" 2>/dev/null)"
}

forget_stale_pid() { alive || rm -f "$PIDFILE"; }

render_config() {
  mkdir -p "$KAFKA_DATA_DIR"
  # sed rather than envsubst: only our three placeholders, and no gettext needed.
  sed -e "s|\${KAFKA_PORT}|$KAFKA_PORT|g" \
      -e "s|\${KAFKA_CONTROLLER_PORT}|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|\${KAFKA_DATA_DIR}|$KAFKA_DATA_DIR|g" \
      "$ROOT/deploy/kafka/server.properties.template" >"$KAFKA_RUN_DIR/server.properties"
}

kafka_java() { java -cp "$LIBS/*" "$@"; }

format_once() {
  # Formatting again would give the data a new cluster id and lose the topics.
  [[ -f $KAFKA_DATA_DIR/meta.properties ]] && return 0
  local id
  id=$(kafka_java -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" kafka.tools.StorageTool random-uuid)
  log "formatting $KAFKA_DATA_DIR (cluster id $id)"
  kafka_java -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
    kafka.tools.StorageTool format -t "$id" -c "$KAFKA_RUN_DIR/server.properties" >/dev/null
}

start() {
  forget_stale_pid
  if alive; then
    log "kafka already running (pid $(<"$PIDFILE"))"
    return 0
  fi
  # Another broker (or anything) on our port would make the JVM die with a long
  # stack trace. Give a just-killed broker a moment to let go of its sockets.
  local port tries
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    tries=0
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      ((++tries < 50)) || die "127.0.0.1:$port is already in use by another process:" \
        "$(ss -ltnpH "sport = :$port" 2>/dev/null || echo '(ss not installed)')"
      sleep 0.2
    done
  done
  fetch
  need_tools
  render_config
  format_once
  # kafka.out is appended to across restarts; only look at what this run writes.
  local from t0=$SECONDS
  from=$(($( [[ -f $OUT ]] && stat -c %s "$OUT" || echo 0) + 1))
  # Each partition holds several open files; the default limit is soon reached by a busy test broker.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  # shellcheck disable=SC2086  # KAFKA_HEAP may hold several JVM flags
  start_bg kafka "$PIDFILE" "$OUT" java $KAFKA_HEAP -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$KAFKA_RUN_DIR/server.properties"
  # The port opens before the broker has joined the quorum; the log line is the real signal.
  until grep -q 'Kafka Server started' <(tail -c +"$from" "$OUT"); do
    if ! alive; then
      tail -n 30 "$OUT" >&2
      rm -f "$PIDFILE"
      die "kafka exited during start; see $OUT"
    fi
    if ((SECONDS - t0 >= START_TIMEOUT)); then
      tail -n 30 "$OUT" >&2
      die "kafka not ready after ${START_TIMEOUT}s; see $OUT"
    fi
    sleep 0.2
  done
  wait_port 127.0.0.1 "$KAFKA_PORT" 10
  log "kafka ready on 127.0.0.1:$KAFKA_PORT after $((SECONDS - t0))s"
}

stop() {
  forget_stale_pid
  alive || { log "kafka not running"; return 0; }
  log "stopping kafka (pid $(<"$PIDFILE"))"
  stop_pid "$PIDFILE" 30
}

kill9() {
  # For fault tests: the broker gets no chance to flush or deregister.
  forget_stale_pid
  alive || { log "kafka not running"; return 0; }
  local pid
  pid=$(<"$PIDFILE")
  _signal KILL "$pid"
  while pid_alive "$pid"; do sleep 0.1; done
  rm -f "$PIDFILE"
  log "killed kafka (pid $pid) with SIGKILL"
}

status() {
  if alive; then
    echo "kafka running (pid $(<"$PIDFILE")) on 127.0.0.1:$KAFKA_PORT, data $KAFKA_DATA_DIR"
  else
    echo "kafka stopped"
    return 1
  fi
}

case ${1:-} in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  kill9) kill9 ;;
  *) echo "usage: $0 {fetch|start|stop|restart|status|kill9}" >&2; exit 2 ;;
esac
