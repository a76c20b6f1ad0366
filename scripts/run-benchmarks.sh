#!/usr/bin/env bash
# Runs every benchmark; the app's under Xvfb when it exists, offscreen otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
for bench in benchmarks/bench_*.py; do
    echo "== $bench"
    if command -v xvfb-run >/dev/null 2>&1; then
        QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" "$PY" "$bench"
    else
        QT_QPA_PLATFORM=offscreen "$PY" "$bench"
    fi
done
