#!/usr/bin/env bash
# Set up (idempotent) and capture the built-in demo post, offline, into captures/demo/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/archiver" demo "$@"
