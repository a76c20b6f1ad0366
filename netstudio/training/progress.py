"""The progress of a run on stderr, from rank 0 only.

On a terminal, one line redrawn in place (at most ten times a second); in a
pipe or a log, a line at each tenth of the run, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, start: int, stream: TextIO | None = None):
        self.total, self.start = total, start
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._began, self._drawn, self._tenth = time.monotonic(), 0.0, start * 10 // max(total, 1)

    def update(self, step: int, loss: float) -> None:
        now = time.monotonic()
        tenth = step * 10 // self.total
        if self.tty and (now - self._drawn >= 0.1 or step == self.total):
            self._drawn = now
            self.stream.write("\r" + self._line(step, loss, now))
        elif not self.tty and tenth > self._tenth:
            self._tenth = tenth
            self.stream.write(self._line(step, loss, now) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _line(self, step: int, loss: float, now: float) -> str:
        width = 30
        filled = width * step // self.total
        rate = (step - self.start) / max(now - self._began, 1e-9)
        return f"[{'#' * filled}{'.' * (width - filled)}] {step}/{self.total} loss {loss:.4g} {rate:.1f} steps/s"
