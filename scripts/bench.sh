#!/usr/bin/env bash
# `make bench`: every benchmark (bench/README.md): GPS (issue 3), analytics (issue 4), ERP
# sync (issue 5; the longest: ~15 min, Tryton spends ~0.7 s per sale). Each one starts its own throwaway
# PostGIS cluster on a free port and, where it needs one, its own API server, prints the
# absolute figures and the ratio to a baseline measured in the same run, and stops
# everything it started. Bench-only dependencies (bench/requirements.txt) go into .venv.
#
#   scripts/bench.sh                    all of them, in order
#   scripts/bench.sh check_in ...       only these (names of bench/*.py)
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/packages.sh test || exit 1

stamp=.venv/.bench-installed
if [ ! -f "$stamp" ] || [ bench/requirements.txt -nt "$stamp" ]; then
  echo "[bench] installing bench/requirements.txt into .venv" >&2
  log=$(mktemp)
  if ! .venv/bin/pip install -q -r bench/requirements.txt >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "[bench] could not install bench/requirements.txt" >&2
    exit 1
  fi
  rm -f "$log"
  touch "$stamp"
fi

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(ping_ingest check_in junk_bodies day_recompute stops_vs_trackintel
                                      analytics_recompute console_maps pipeline_metrics multi_process
                                      erp_sync po_intake sync workflow_engine tenants webhooks)

echo "code: $(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
     "($(git status --porcelain 2>/dev/null | grep -c . || true) changed paths in the work tree)"
failed=()
for name in "${benches[@]}"; do
  script="bench/$name.py"
  [ -f "$script" ] || { echo "[bench] no such benchmark: $script" >&2; failed+=("$name"); continue; }
  # Each benchmark bounds itself to a few minutes; the timeout only catches a hang.
  if ! timeout 2400 .venv/bin/python "$script"; then
    echo "[bench] $name FAILED" >&2
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "[bench] failed: ${failed[*]}" >&2
  exit 1
fi
echo "[bench] all ${#benches[@]} benchmarks ran"
