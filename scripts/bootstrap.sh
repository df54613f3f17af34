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

# 2b. command-line tools a verifier (and the tests) use: openssl (ts -verify), ps (procps)
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v ps >/dev/null 2>&1 || missing+=(procps)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "warning: ${missing[*]} not found (sudo apt-get install -y ${missing[*]}); some checks need them"
  fi
fi

# 3. a Chromium (our own resolution order: env/config, Playwright's, system; apt as a last resort)
"$VENV/bin/archiver" browser ensure

# 4. the ReplayWeb.page viewer for `archiver replay`, served from this project (no CDN):
#    the npm package's prebuilt ui.js and sw.js (its other dependencies only build them, so
#    `npm pack` fetches just the package tarball; its integrity is pinned below). Installed
#    again only when missing or when the pinned version changed.
RWP_VERSION="2.5.3"
RWP_INTEGRITY="sha512-nCj2PSON3BxeSJKE8AsYPyULv0XPZKJWfy4l9PyQre9SqwLZ+WKZVs/sfLqPOQ4GrH+0YkjbwOhr8cSTH08gsQ=="
RWP_DIR="$ROOT/.cache/replaywebpage"
RWP_STAMP="$RWP_DIR/.archiver-installed"
RWP_LOG="$ROOT/.cache/replaywebpage-install.log"
if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: 'archiver replay' will use pywb instead of ReplayWeb.page"
elif [ ! -f "$RWP_DIR/ui.js" ] || [ ! -f "$RWP_DIR/sw.js" ] || [ "$(cat "$RWP_STAMP" 2>/dev/null)" != "$RWP_VERSION" ]; then
  log "installing replaywebpage $RWP_VERSION for 'archiver replay' (log: $RWP_LOG)"
  mkdir -p "$ROOT/.cache"
  RWP_TMP="$(mktemp -d "$ROOT/.cache/.replaywebpage-XXXXXX")"
  if { npm pack "replaywebpage@$RWP_VERSION" --pack-destination "$RWP_TMP" \
       && [ "$("$VENV/bin/python" -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' \
             "$RWP_TMP/replaywebpage-$RWP_VERSION.tgz")" = "$RWP_INTEGRITY" ] \
       && tar -xzf "$RWP_TMP/replaywebpage-$RWP_VERSION.tgz" -C "$RWP_TMP" \
       && [ -f "$RWP_TMP/package/ui.js" ] && [ -f "$RWP_TMP/package/sw.js" ]; } >"$RWP_LOG" 2>&1; then
    echo "$RWP_VERSION" > "$RWP_TMP/package/.archiver-installed"
    rm -rf "$RWP_DIR" && mv "$RWP_TMP/package" "$RWP_DIR"
  else
    tail -n 10 "$RWP_LOG" >&2
    log "warning: installing replaywebpage failed (integrity or network; log: $RWP_LOG): 'archiver replay' will use pywb"
  fi
  rm -rf "$RWP_TMP"
fi
