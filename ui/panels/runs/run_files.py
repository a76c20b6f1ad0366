"""Which checkpoints a run directory holds so far, in step order, ``final.safetensors`` last.

The layout is ``netstudio.training.run_dir``'s.  Weights files are written
atomically (a temporary name, then a rename), so a file listed here is whole;
a name that is not ``step-NNNNNN.safetensors`` (a temporary, a state file) is
not a checkpoint.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from netstudio.errors import NetStudioError
from netstudio.files.safe_read import quoted_name
from netstudio.training.run_dir import CHECKPOINTS, FINAL, METRICS, RUN_JSON, RunDir

_STEP_FILE = re.compile(r"\Astep-(\d{6,})\.safetensors\Z")


@dataclass(frozen=True)
class Saved:
    """One checkpoint: its label in the view ("step 200", "final") and its weights file."""

    label: str
    path: Path


def check_run_dir(path: Path) -> None:
    """One sentence if ``path`` cannot be a run directory (a run about to start may not have written yet)."""
    if not path.is_dir():
        raise NetStudioError(f"{quoted_name(path)} is not a folder, so it holds no run.")
    if (path / RUN_JSON).exists():
        RunDir(str(path)).read_record()   # a damaged run.json says so


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds anything a run writes."""
    return any((path / name).exists() for name in (RUN_JSON, METRICS, CHECKPOINTS, FINAL))


def saved_checkpoints(path: Path) -> list[Saved]:
    folder = path / CHECKPOINTS
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    steps = sorted(int(m.group(1)) for m in map(_STEP_FILE.match, names) if m)
    run = RunDir(str(path))
    saved = [Saved(f"step {step}", run.weights_path(step)) for step in steps]
    if (path / FINAL).is_file():
        saved.append(Saved("final", path / FINAL))
    return saved
