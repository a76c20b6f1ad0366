"""Reading and computing off the GUI thread: a tensor, a picture of it, a diff of two checkpoints.

Checkpoints can be large, so the view hands each piece of work to one
background thread and draws the result when it comes back.  Each piece has a
key ("checkpoint", "diff", ...); when the person moves on before it is done,
only the latest result for that key is delivered.  Failures come back as one
sentence, never a traceback.  Work that is already outdated when its turn
comes (a slider dragged across many checkpoints) is skipped.  Waiting work
runs by ``priority``, highest first (the picture a person looks at before a
diff or statistics), then in the order it was started.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from netstudio.errors import NetStudioError


def one_sentence(err: Exception) -> str:
    """What went wrong, in the words a person reads."""
    if isinstance(err, NetStudioError):
        return str(err)
    reason = str(err).splitlines()[0].rstrip(".") if str(err) else type(err).__name__
    return f"The file cannot be read: {reason}."


class _Posts(QObject):
    done = Signal(str, int, object, str)   # key, generation, result, error sentence


class _Job(QRunnable):
    def __init__(self, jobs: Jobs, key: str, generation: int, work: Callable[[], object]):
        super().__init__()
        self.jobs, self.key, self.generation, self.work = jobs, key, generation, work
        self.posts = jobs._posts

    def run(self) -> None:
        if not shiboken6.isValid(self.posts) or not self.jobs.is_latest(self.key, self.generation):
            return
        try:
            result, error = self.work(), ""
        except Exception as err:  # a hostile or half-written file: one sentence
            result, error = None, one_sentence(err)
        if shiboken6.isValid(self.posts):
            self.posts.done.emit(self.key, self.generation, result, error)


class Jobs(QObject):
    """``start(key, work, done)``: run ``work()`` in the background, then ``done(result, error)`` here."""

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._pool = QThreadPool(self)     # made before _posts, so it is deleted (and joined) first
        self._pool.setMaxThreadCount(1)
        self._posts = _Posts(self)
        self._posts.done.connect(self._deliver)
        self._latest: dict[str, tuple[int, Callable[[object, str], None]]] = {}

    def start(self, key: str, work: Callable[[], object], done: Callable[[object, str], None],
              priority: int = 0) -> None:
        generation = self._latest.get(key, (0, None))[0] + 1
        self._latest[key] = (generation, done)
        self._pool.start(_Job(self, key, generation, work), priority)

    def is_latest(self, key: str, generation: int) -> bool:
        return self._latest.get(key, (0, None))[0] == generation

    def _deliver(self, key: str, generation: int, result: object, error: str) -> None:
        if self.is_latest(key, generation):
            self._latest[key][1](result, error)

    def idle(self) -> bool:
        """Whether no work is running or waiting (its result may still be on its way to ``done``)."""
        return self._pool.activeThreadCount() == 0

    def wait(self, timeout_ms: int = 10_000) -> None:
        """Block until the pending work is done (closing, tests)."""
        self._pool.waitForDone(timeout_ms)
