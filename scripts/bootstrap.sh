#!/usr/bin/env bash
# Create the project virtualenv (.venv) with every dependency, installing Python's venv
# support from the distribution's packages when it is missing. Re-runs are cheap: pip is
# only called again when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

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

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[bootstrap] installing Python dependencies into $VENV" >&2
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev]'
  touch "$stamp"
fi
