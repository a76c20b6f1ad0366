#!/usr/bin/env bash
# Runs the whole suite. UI tests run under Xvfb (real drag and drop) when
# xvfb-run exists, otherwise offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
if command -v xvfb-run >/dev/null 2>&1; then
    export QT_QPA_PLATFORM=xcb
    exec xvfb-run -a -s "-screen 0 1600x1000x24" "$PY" -m pytest -q "$@"
else
    export QT_QPA_PLATFORM=offscreen
    exec "$PY" -m pytest -q "$@"
fi
