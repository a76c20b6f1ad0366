#!/usr/bin/env bash
# Creates .venv and installs NetStudio with its test tools.
# On a machine without an NVIDIA GPU the CPU build of torch is installed first,
# so that pip does not pull the multi-gigabyte CUDA build for `torch>=2.4`.
# pip's own chatter goes to .venv/setup.log, shown only if something fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
stamp="$VENV/.netstudio-installed"
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
log="$VENV/setup.log"
: > "$log"
pip() {
    if ! "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@" >>"$log" 2>&1; then
        grep -v '^WARNING: Location' "$log" >&2
        echo "setup: 'pip $*' failed (full log: $log)" >&2
        exit 1
    fi
}
echo "setup: installing into $VENV (log: $log)"
pip install --upgrade pip
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        pip install 'torch>=2.4'
    else
        pip install 'torch==2.13.0'
    fi
fi
pip install -e '.[test]'
# torchvision, for the importer's tests and its model list: only the release paired with the installed
# torch (2.13.x pairs with 0.28.x), and with --no-deps, so pip can never replace torch with another build.
# Optional: without it those tests skip.
paired=$("$VENV/bin/python" -c 'import torch; major, minor, patch = (torch.__version__.split("+")[0].split(".") + ["0"])[:3]; print(f"0.{int(minor) + 15}.{patch}" if major == "2" else "")')
if [ -n "$paired" ] && ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('torchvision') == '$paired'" 2>/dev/null; then
    "$VENV/bin/python" -m pip --disable-pip-version-check -q install --no-deps "torchvision==$paired" >>"$log" 2>&1 \
        || echo "setup: torchvision $paired is not available; the tests that need it will skip" >&2
fi
"$VENV/bin/python" -c 'import torch, netstudio, PySide6'
touch "$stamp"
