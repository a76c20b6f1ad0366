#!/usr/bin/env bash
# Creates .venv and installs NetStudio with its test tools.
# On a machine without an NVIDIA GPU the CPU build of torch is installed first,
# so that pip does not pull the multi-gigabyte CUDA build for `torch>=2.4`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
stamp="$VENV/.netstudio-installed"
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        pip install 'torch>=2.4'
    else
        pip install 'torch==2.13.0'
    fi
fi 2>&1 | grep -v '^WARNING: Location' || true
pip install -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -c 'import torch, netstudio' 
touch "$stamp"
