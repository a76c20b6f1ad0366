"""A small run directory for the Runs view's tests, written by ``netstudio train`` in this process."""

from __future__ import annotations

import shutil
from pathlib import Path

from netstudio.cli import main
from tests.engine.train_helpers import mlp_project, regression_data

STEPS, SAVE_EVERY = 6, 2   # checkpoints at steps 2 and 4, then final.safetensors


def write_run(folder: Path) -> Path:
    """``folder/run``: a 6-step run of the 4-8-3 MLP; the project and data beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    project, data = mlp_project(folder / "mlp.netstudio"), regression_data(folder / "data.safetensors")
    run = folder / "run"
    code = main(["train", str(project), "--data", str(data), "--run-dir", str(run), "--steps", str(STEPS),
                 "--batch-size", "8", "--save-every", str(SAVE_EVERY)])
    assert code == 0
    return run


def copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to
