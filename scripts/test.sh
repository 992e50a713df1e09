#!/usr/bin/env bash
# `make test`: lint, import contracts, then the whole suite. The suite starts its own
# throwaway PostGIS cluster (tests/conftest.py), so only the packages are needed here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/packages.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/mypy
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$rc"
