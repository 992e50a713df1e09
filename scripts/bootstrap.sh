#!/usr/bin/env bash
# Create the project virtualenv (.venv), installing Python's venv support from the
# distribution's packages when it is missing.
#
#   scripts/bootstrap.sh run    what running needs: the package alone (`pip install -e .`)
#   scripts/bootstrap.sh test   and the test tools too (`.[dev]`: pytest, ruff, mypy,
#                               import-linter, a real Tryton, ...); the default
#
# Re-runs are cheap: pip is only called again when pyproject.toml changed since that
# kind of install last ran.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
MODE=${1:-test}
case "$MODE" in
  run) spec='.' ;;
  test) spec='.[dev]' ;;
  *) echo "usage: $0 [run | test]" >&2; exit 2 ;;
esac

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

PY=$(pick_python || true)
if [ -z "$PY" ]; then
  echo "[bootstrap] Python >= 3.11 not found: installing python3.11 from the distribution" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  PY=python3.11
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    echo "[bootstrap] $PY has no venv/ensurepip: installing it from the distribution" >&2
    rm -rf "$VENV"
    as_root apt-get update -qq
    ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "python$ver-venv" >/dev/null
    "$PY" -m venv "$VENV"
  fi
fi

# A test install covers a run install; a run install does not cover a test one.
stamp="$VENV/.installed-$MODE"
fresh() { [ -f "$1" ] && [ ! pyproject.toml -nt "$1" ]; }
if ! fresh "$stamp" && ! { [ "$MODE" = run ] && fresh "$VENV/.installed-test"; }; then
  echo "[bootstrap] installing Python dependencies ($spec) into $VENV" >&2
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e "$spec"
  touch "$stamp"
fi

# openapi-python-client (tests/e2e/test_generated_client.py) pins httpx and typer below the
# versions the service uses: it gets a virtualenv of its own, inside ours.
OPC="$VENV/opc"
OPC_VERSION=0.29.1
if [ "$MODE" = test ] && [ ! -f "$OPC/.installed-$OPC_VERSION" ]; then
  echo "[bootstrap] installing openapi-python-client $OPC_VERSION into $OPC" >&2
  "$PY" -m venv "$OPC"
  "$OPC/bin/pip" install -q "openapi-python-client==$OPC_VERSION"
  touch "$OPC/.installed-$OPC_VERSION"
fi
