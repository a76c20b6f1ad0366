"""The loss and learning-rate curves of a run, read from ``metrics.jsonl`` a piece at a time.

A run appends one JSON line per step while the view follows it, so each
``poll`` reads only the bytes written since the last one (at most
``MAX_READ`` of them, so a long file never holds up the GUI thread; call
again while ``behind``).  A line still being written (no newline yet) waits
for the next poll.  A resume rewrites the file atomically (a new file, maybe
shorter): then everything is read again.  Lines that are not a step's
metrics are skipped and counted.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

MAX_READ = 1 << 20   # about 10,000 lines: some 40 ms of parsing (benchmarks/bench_runs_metrics.py)


class MetricsTail:
    """``steps``, ``losses`` and ``lrs`` so far (``lrs`` NaN where a line has none); ``skipped`` bad lines."""

    def __init__(self, path: Path):
        self.path = path
        self._reset(None)

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.lrs: list[float] = []
        self.skipped = 0
        self.behind = False
        self._identity, self._offset, self._rest = identity, 0, b""

    def poll(self) -> bool:
        """Read what was appended since the last call; True when the curves changed."""
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        identity = (st.st_dev, st.st_ino)
        changed = False
        if identity != self._identity or st.st_size < self._offset:   # rewritten by a resume
            changed = bool(self.steps or self.skipped)
            self._reset(identity)
        if st.st_size == self._offset:
            self.behind = False
            return changed
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read(min(st.st_size - self._offset, MAX_READ))
        self._offset += len(data)
        self.behind = self._offset < st.st_size
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        before = (len(self.steps), self.skipped)
        for line in lines:
            if line.strip():
                self._add(line)
        return changed or before != (len(self.steps), self.skipped)

    def _add(self, line: bytes) -> None:
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        step, loss = (row.get("step"), row.get("loss")) if isinstance(row, dict) else (None, None)
        lr = row.get("lr") if isinstance(row, dict) else None
        if not isinstance(step, int) or isinstance(loss, bool) or not isinstance(loss, (int, float)):
            self.skipped += 1
            return
        self.steps.append(step)
        self.losses.append(float(loss))
        self.lrs.append(float(lr) if isinstance(lr, (int, float)) and not isinstance(lr, bool) else math.nan)

    def skipped_sentence(self) -> str:
        """One sentence about the skipped lines ("" when none were)."""
        if not self.skipped:
            return ""
        one = self.skipped == 1
        return (f"{self.skipped:,} {'line' if one else 'lines'} of {self.path.name} could not be read and "
                f"{'was' if one else 'were'} skipped.")
