"""What every part of the mutation tool shares: where things are, what is mutated, how progress is told.

Kept in one place so that the map, the runs and the report agree on ROOT, OUT_DIR and TARGETS.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# The entry point: the map runs in a subprocess of it (``--map-only``).
ENTRY = ROOT / "scripts" / "mutation.py"
# NETSTUDIO_MUTATION_DIR keeps separate maps and reports apart (several runs side by side).
OUT_DIR = Path(os.environ.get("NETSTUDIO_MUTATION_DIR") or ROOT / "build" / "mutation")
TARGETS = ("netstudio/tensors/", "netstudio/analysis/", "netstudio/compiler/", "netstudio/params/",
           "netstudio/init/", "netstudio/files/atomic.py", "ui/document/")
TEST_POOL = ("tests/engine", "tests/ui")
NO_MUTATE = "pragma: no mutate"


def target_files(only: list[str]) -> list[str]:
    files = []
    for target in TARGETS:
        path = ROOT / target
        found = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for f in found:
            rel = f.relative_to(ROOT).as_posix()
            if not only or any(rel.startswith(o) for o in only):
                files.append(rel)
    return files


def quiet_hypothesis() -> None:
    """Derandomised examples (a mutant is killed or not, the same every run), no example database."""
    try:
        from hypothesis import settings
    except ImportError:
        return
    settings.register_profile("mutation", derandomize=True, database=None, deadline=None, print_blob=False)
    settings.load_profile("mutation")


_SAY = None


def say(text: str) -> None:
    """Progress, on the terminal even while pytest captures fds 1 and 2."""
    global _SAY
    if _SAY is None:
        _SAY = os.fdopen(os.dup(2), "w", buffering=1)
    print(text, file=_SAY, flush=True)


def close_say() -> None:
    """Close the progress stream, if :func:`say` opened it."""
    if _SAY is not None:
        _SAY.close()
