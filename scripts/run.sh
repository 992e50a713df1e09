#!/usr/bin/env bash
# `make run`: a local PostGIS (unless SFA_DATABASE_URL is given), migrations, demo data
# (once), the scheduler in the background and the API in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${SFA_PORT:-8000}
HOST=${SFA_HOST:-127.0.0.1}

if [ -z "${SFA_DATABASE_URL:-}" ]; then
  PG_PORT=${SFA_PG_PORT:-5544}
  scripts/packages.sh run
  scripts/pg.sh start .pgdata "$PG_PORT" sfa
  export SFA_DATABASE_URL="postgresql+psycopg://sfa@127.0.0.1:$PG_PORT/sfa"
fi

.venv/bin/sfa migrate
.venv/bin/sfa seed-demo

mkdir -p .run
.venv/bin/sfa scheduler > .run/scheduler.log 2>&1 &
SCHEDULER_PID=$!
trap 'kill "$SCHEDULER_PID" 2>/dev/null || true' EXIT

cat <<TXT

  SFA backend is starting
    API:        http://$HOST:$PORT
    API docs:   http://$HOST:$PORT/docs
    Console:    http://$HOST:$PORT/console  (managers and admins: manager.budi, admin)
    Health:     http://$HOST:$PORT/readyz
    Scheduler:  pid $SCHEDULER_PID, log in .run/scheduler.log
    Demo logins (password demo1234): admin, manager.budi, manager.sari, rep01 … rep24
    Stop with Ctrl-C; the database keeps running (make db-stop stops it).

TXT
.venv/bin/sfa serve --host "$HOST" --port "$PORT"
