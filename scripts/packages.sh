#!/usr/bin/env bash
# System packages the product and its tests need, installed from Debian/Ubuntu when
# missing (like PostgreSQL + PostGIS in scripts/pg.sh). One `need` line per package:
#
#   need PATH-THAT-PROVES-IT-IS-THERE  DEBIAN-PACKAGE...
#
#   scripts/packages.sh run    what `make run` needs
#   scripts/packages.sh test   what `make test` needs (a superset)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[packages] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
need() {
  local proof=$1; shift
  # A glob is allowed in the proof (e.g. a versioned path).
  # shellcheck disable=SC2086
  if ! compgen -G "$proof" >/dev/null; then missing+=("$@"); fi
}

pg_major() { basename "$(dirname "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)")"; }

run_needs() {
  scripts/pg.sh ensure-packages
  # Purchase-order intake: OCR of scanned pages in Bahasa Indonesia and English.
  need /usr/bin/tesseract tesseract-ocr
  need /usr/share/tesseract-ocr/*/tessdata/ind.traineddata tesseract-ocr-ind
  need /usr/share/tesseract-ocr/*/tessdata/eng.traineddata tesseract-ocr-eng
  # Partition upkeep of pings (docs/scaling.md): the extension scripts/pg.sh creates.
  local major; major=$(pg_major)
  need "/usr/share/postgresql/$major/extension/pg_partman.control" "postgresql-$major-partman"
}

test_needs() {
  run_needs
  # The console's end-to-end tests drive a real headless Chromium (tests/browser.py).
  need /usr/bin/chromium chromium
  # bench/po_intake.py's baseline (invoice2data) reads text with pdftotext.
  need /usr/bin/pdftotext poppler-utils
  # The app behind a real connection pooler in transaction mode (tests/integration/scale).
  need /usr/sbin/pgbouncer pgbouncer
}

case "${1:-}" in
  run) run_needs ;;
  test) test_needs ;;
  *) echo "usage: $0 run | test" >&2; exit 2 ;;
esac

if [ "${#missing[@]}" -gt 0 ]; then
  log "installing from the distribution: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
