#!/usr/bin/env bash
# `make run`: a local PostGIS (unless SFA_DATABASE_URL is given), migrations, demo data
# (once), the scheduler in the background and the API in the foreground.
#
#   scripts/run.sh         start; refuses, before touching anything, when an instance of
#                          this checkout is already running or the API port is taken
#   scripts/run.sh stop    stop that instance (API and scheduler) by the pids in .run/
#
# .run/ (SFA_RUN_DIR) holds run.lock (held by every process of a running instance),
# api.pid, scheduler.pid and scheduler.log (the previous run's log: scheduler.log.1).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${SFA_PORT:-8000}
HOST=${SFA_HOST:-127.0.0.1}
RUN=${SFA_RUN_DIR:-.run}

say() { printf '[run] %s\n' "$*" >&2; }

# The pid in a pid file, if that process is alive and is one of ours (an `sfa` command).
live_pid() {
  local file=$1 pid
  [ -f "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "sfa" || return 1
  echo "$pid"
}

port_taken() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

stop() {
  local name pid stopped=0
  for name in api scheduler; do
    if pid=$(live_pid "$RUN/$name.pid"); then
      say "stopping the $name (pid $pid)"
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      stopped=1
    fi
    rm -f "$RUN/$name.pid"
  done
  [ "$stopped" -eq 1 ] || say "nothing of this checkout was running"
}

# Say what runs and stop here: nothing below may run twice (migrations, seeding, a second
# scheduler, truncating the first one's log, then failing on the port).
refuse_if_running() {
  local api scheduler problems=()
  mkdir -p "$RUN"
  exec 9>"$RUN/run.lock"
  local locked=0
  flock -n 9 || locked=1
  api=$(live_pid "$RUN/api.pid" || true)
  scheduler=$(live_pid "$RUN/scheduler.pid" || true)
  [ -z "$api" ] || problems+=("the API of this checkout runs (pid $api) on http://$HOST:$PORT")
  [ -z "$scheduler" ] || problems+=("its scheduler runs (pid $scheduler, log $RUN/scheduler.log)")
  if [ "$locked" -eq 1 ] && [ ${#problems[@]} -eq 0 ]; then
    problems+=("another 'make run' of this checkout is starting (it holds $RUN/run.lock)")
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    say "SFA is already running:"
    printf '  - %s\n' "${problems[@]}" >&2
    say "use that one, or stop it first: Ctrl-C in its terminal, or 'make stop'"
    exit 1
  fi
  if port_taken; then
    say "port $PORT on $HOST is in use by another program"
    say "stop it, or pick another port: SFA_PORT=8001 make run"
    exit 1
  fi
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start | stop]" >&2; exit 2 ;;
esac

refuse_if_running
scripts/bootstrap.sh run

# shellcheck source=scripts/local_env.sh
. scripts/local_env.sh
if [ "$SFA_LOCAL_CLUSTER" -eq 1 ]; then
  scripts/packages.sh run
  scripts/pg.sh start .pgdata "$PG_PORT" sfa
  # The registry of the companies beyond the demo one (make demo-company): empty until then.
  scripts/pg.sh createdb "$PG_PORT" sfa_registry
fi

.venv/bin/sfa migrate
.venv/bin/sfa seed-demo

[ ! -f "$RUN/scheduler.log" ] || mv "$RUN/scheduler.log" "$RUN/scheduler.log.1"
.venv/bin/sfa scheduler >"$RUN/scheduler.log" 2>&1 &
SCHEDULER_PID=$!
echo "$SCHEDULER_PID" >"$RUN/scheduler.pid"
trap 'kill "$SCHEDULER_PID" 2>/dev/null || true; rm -f "$RUN/scheduler.pid" "$RUN/api.pid"' EXIT

cat <<TXT

  SFA backend is starting
    API:        http://$HOST:$PORT
    API docs:   http://$HOST:$PORT/docs
    Console:    http://$HOST:$PORT/console  (managers and admins: manager.budi, admin)
    Health:     http://$HOST:$PORT/readyz
    Scheduler:  pid $SCHEDULER_PID, log in $RUN/scheduler.log
    Demo logins (password demo1234): admin, manager.budi, manager.sari, rep01 … rep24
    A second demo company: 'make demo-company' from another terminal.
    Stop with Ctrl-C (or 'make stop' from another terminal); the database keeps
    running (make db-stop stops it).

TXT
# In the foreground (Ctrl-C reaches it); the wrapper records the API's pid, then becomes it.
status=0
bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/api.pid" .venv/bin/sfa serve --host "$HOST" --port "$PORT" ||
  status=$?
# Stopped by Ctrl-C or `make stop` (SIGINT, SIGTERM): the normal end of a run.
if [ "$status" -eq 130 ] || [ "$status" -eq 143 ]; then status=0; fi
exit "$status"
