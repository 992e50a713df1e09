#!/usr/bin/env bash
# `make demo-company`: one more demo company next to the one `make run` serves, in the
# same local cluster: its database (sfa_<company>), PostGIS, the migrations, the demo
# data, and its entry in the registry; the running API and scheduler serve it within
# seconds, no restart. Run again, it only finishes what a previous run left undone.
#
#   scripts/demo_company.sh [COMPANY [NAME]]    default: demo2 "Demo Company 2"
#   (make demo-company COMPANY=toko-maju NAME="Toko Maju")
set -euo pipefail
cd "$(dirname "$0")/.."
SLUG=${1:-demo2}
NAME=${2:-"Demo Company 2"}
PORT=${SFA_PORT:-8000}
HOST=${SFA_HOST:-127.0.0.1}

say() { printf '[demo-company] %s\n' "$*" >&2; }

[ -x .venv/bin/sfa ] || { say "nothing installed yet: run 'make run' first"; exit 1; }
# shellcheck source=scripts/local_env.sh
. scripts/local_env.sh
if [ "$SFA_LOCAL_CLUSTER" -eq 1 ]; then
  [ -f .pgdata/PG_VERSION ] || { say "no local database yet: run 'make run' first"; exit 1; }
  scripts/pg.sh start .pgdata "$PG_PORT" sfa
  scripts/pg.sh createdb "$PG_PORT" sfa_registry
fi

.venv/bin/sfa tenants create "$SLUG" --name "$NAME" --demo --exists-ok

# The API answers 401 (no credentials) for a company it serves, 404 for one it does not
# know; it reads the registry again within SFA_TENANT_CACHE_SECONDS (5).
served=$(.venv/bin/python - "$HOST" "$PORT" "$SLUG" <<'PY'
import sys, time, urllib.error, urllib.request

host, port, slug = sys.argv[1:]
request = urllib.request.Request(f"http://{host}:{port}/v1/me", headers={"X-Company": slug})
status = "down"
for _ in range(15):
    try:
        urllib.request.urlopen(request, timeout=3)
        status = "200"
    except urllib.error.HTTPError as exc:
        status = str(exc.code)
    except OSError:
        status = "down"
    if status in ("401", "down"):
        break
    time.sleep(1)
print(status)
PY
)
case "$served" in
  401) state="the API on http://$HOST:$PORT serves it now" ;;
  down) state="no API answers on http://$HOST:$PORT: start it with 'make run'" ;;
  *) state="the API on http://$HOST:$PORT does not serve it (HTTP $served): was it started
    without the registry (SFA_TENANTS_URL)? restart it: 'make stop' then 'make run'" ;;
esac

cat <<TXT

  Company $SLUG ("$NAME") is ready: $state
    API:      send the header 'X-Company: $SLUG', e.g.
                curl -s -X POST http://$HOST:$PORT/v1/auth/token -H 'X-Company: $SLUG' \\
                     -d 'username=rep01&password=demo1234'
              or use the host $SLUG.${SFA_TENANT_BASE_DOMAIN:-<base domain>}:$PORT
    Console:  http://$SLUG.${SFA_TENANT_BASE_DOMAIN:-<base domain>}:$PORT/console
    Logins:   as in the first company (admin, manager.budi, rep01 … rep24; demo1234),
              its data apart from the first company's
    Companies: SFA_TENANTS_URL=$SFA_TENANTS_URL .venv/bin/sfa tenants list

TXT
