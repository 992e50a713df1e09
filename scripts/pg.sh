#!/usr/bin/env bash
# A project-local PostgreSQL + PostGIS cluster, no Docker and no system service needed.
#
#   scripts/pg.sh ensure-packages        install PostgreSQL + PostGIS from Debian/Ubuntu if missing
#   scripts/pg.sh start DIR PORT [DB]    init (once) and start a cluster in DIR on 127.0.0.1:PORT,
#                                        create role "sfa", database DB (default sfa) with PostGIS
#                                        and pg_partman
#   scripts/pg.sh replica PRIMARY_PORT DIR PORT
#                                        a streaming replica of 127.0.0.1:PRIMARY_PORT in DIR
#                                        on 127.0.0.1:PORT (pg_basebackup; tests/integration/scale)
#   scripts/pg.sh createdb PORT DB       create an empty database DB (owner sfa) on the
#                                        running cluster of 127.0.0.1:PORT, if missing
#   scripts/pg.sh stop DIR               stop the cluster started from DIR (by its pid)
#
# Runs the server as the "postgres" system user when called as root (PostgreSQL refuses
# to run as root), as the calling user otherwise.
set -euo pipefail

log() { printf '[pg] %s\n' "$*" >&2; }

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

pg_major() { basename "$(dirname "$(pg_bin)")"; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_packages() {
  local updated=0
  if [ -z "$(pg_bin || true)" ]; then
    log "PostgreSQL server not found: installing it from the distribution's packages"
    as_root apt-get update -qq; updated=1
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  fi
  local major; major=$(pg_major)
  if [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
    log "PostGIS for PostgreSQL $major not found: installing postgresql-$major-postgis-3"
    [ "$updated" -eq 1 ] || as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "postgresql-$major-postgis-3" >/dev/null
  fi
}

run_pg() {
  # Run a PostgreSQL binary as the account that owns the cluster.
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

serve() {
  local bin=$1 dir=$2 port=$3
  if [ -f "$dir/postmaster.pid" ] && kill -0 "$(head -n 1 "$dir/postmaster.pid")" 2>/dev/null; then
    log "cluster in $dir already running (pid $(head -n 1 "$dir/postmaster.pid"))"
  else
    # Listen on loopback only; the socket stays inside the data folder. SFA_PG_OPTIONS adds
    # server settings ("-c name=value ...", e.g. for benchmark experiments).
    run_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${SFA_PG_FSYNC:-on} ${SFA_PG_OPTIONS:-}" \
      start >/dev/null
    log "cluster started on 127.0.0.1:$port (pid $(head -n 1 "$dir/postmaster.pid"))"
  fi
}

own_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$1"; fi
  chmod 700 "$1"
}

replica() {
  # A hot standby streaming from the cluster on 127.0.0.1:PRIMARY_PORT: a base backup
  # (pg_basebackup, fast checkpoint, WAL streamed meanwhile) that keeps following it.
  local primary_port=$1 dir=$2 port=$3 bin
  bin=$(pg_bin) || { log "no PostgreSQL server: run '$0 ensure-packages'"; exit 1; }
  own_dir "$dir"
  dir=$(cd "$dir" && pwd)
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "base backup of 127.0.0.1:$primary_port into $dir"
    run_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir" \
      -X stream -R --checkpoint=fast
  fi
  serve "$bin" "$dir" "$port"
}

start() {
  local dir=$1 port=$2 db=${3:-sfa} bin
  bin=$(pg_bin) || { log "no PostgreSQL server: run '$0 ensure-packages'"; exit 1; }
  own_dir "$dir"
  dir=$(cd "$dir" && pwd)
  if [ ! -f "$dir/PG_VERSION" ]; then
    log "initialising a new cluster in $dir"
    run_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  serve "$bin" "$dir" "$port"
  local psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [ "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname='sfa'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "CREATE ROLE sfa LOGIN SUPERUSER" >/dev/null
  fi
  createdb "$port" "$db"
  "${psql[@]}" -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  # pg_partman keeps the pings partitions (scripts/packages.sh installs it); in a schema
  # of its own, as its documentation recommends. Migrations create it too.
  if [ -f "/usr/share/postgresql/$(pg_major)/extension/pg_partman.control" ]; then
    "${psql[@]}" -d "$db" -c "CREATE SCHEMA IF NOT EXISTS partman" \
      -c "CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman" >/dev/null
  fi
}

createdb() {
  local port=$1 db=$2 bin
  bin=$(pg_bin) || { log "no PostgreSQL server: run '$0 ensure-packages'"; exit 1; }
  local psql=("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [ "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE \"$db\" OWNER sfa" >/dev/null
    log "created database $db"
  fi
}

stop() {
  local dir=$1 pid
  [ -f "$dir/postmaster.pid" ] || { log "no cluster running in $dir"; return 0; }
  pid=$(head -n 1 "$dir/postmaster.pid")
  # Fast shutdown of exactly the server this folder started, then wait for it to exit.
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { log "stopped pid $pid"; return 0; }; sleep 0.1; done
  log "pid $pid did not stop in 10 s"; return 1
}

case "${1:-}" in
  ensure-packages) ensure_packages ;;
  start) shift; start "$@" ;;
  replica) shift; replica "$@" ;;
  createdb) shift; createdb "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 ensure-packages | start DIR PORT [DB] | replica PRIMARY_PORT DIR PORT | createdb PORT DB | stop DIR" >&2; exit 2 ;;
esac
