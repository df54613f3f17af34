#!/usr/bin/env bash
# Idempotent set-up: a venv with the package and its dev extras, and a Chromium.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again and again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ARCHIVER_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. venv (re-created only when missing or broken)
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing python3-venv with apt-get"
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    else
      echo "Python venv support is missing: run 'sudo apt-get install -y python3-venv' and try again." >&2
      exit 1
    fi
  fi
  log "creating venv in $VENV"
  "$PY" -m venv "$VENV"
fi

# 2. the package (re-installed only when pyproject.toml changed)
STAMP="$VENV/.archiver-installed"
HASH="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-64)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ]; then
  log "installing the archiver package and its dev extras (log: $VENV/install.log)"
  if ! { "$VENV/bin/python" -m pip install --upgrade pip \
         && "$VENV/bin/python" -m pip install -e "$ROOT[dev]"; } >"$VENV/install.log" 2>&1; then
    tail -n 30 "$VENV/install.log" >&2
    echo "error: installing the Python packages failed (full log: $VENV/install.log)" >&2
    exit 1
  fi
  echo "$HASH" > "$STAMP"
fi

# 3. a Chromium (our own resolution order: env/config, Playwright's, system; apt as a last resort)
"$VENV/bin/archiver" browser ensure
