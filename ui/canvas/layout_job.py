"""Auto layout of a large definition, computed on a worker thread.

``layered_layout`` of 10,000 blocks takes a second or more: on the GUI thread the window
would freeze meanwhile.  A ``LayoutJob`` lays out a copy of the definition (its node and
edge dicts, copied in O(n); the layout reads only ids, types and edges, which edits replace
rather than change) on a thread of its own pool, and hands the result to ``apply`` on the
GUI thread, as one undo step, only if the document did not change meanwhile (any complete
edit, a reset included, makes the result stale: it is then dropped, never applied over the
user's edits).

Closing is safe: the pool is the job's first child, so deleting the job (with the canvas)
first waits for the worker, then deletes the relay the worker reports through, whose
queued call is then never delivered; ``cancel`` drops a result still to come.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal

from netstudio.graph import Definition
from netstudio.graph.layout import Layout, layered_layout

from ..document.relay import listen, to_gui


class _Compute(QRunnable):
    def __init__(self, definition: Definition, done: Callable[..., None]):
        super().__init__()
        self.definition, self.done = definition, done

    def run(self) -> None:
        try:
            layout, error = layered_layout(self.definition), None
        except Exception as err:  # noqa: BLE001 - a bug: said in the hint, the graph left as it is
            layout, error = None, str(err) or type(err).__name__
        self.done(layout, error)


class LayoutJob(QObject):
    """One layout under way for ``definition``; ``finished(applied, why_not)`` once it is over."""

    finished = Signal(bool, str)

    def __init__(self, document, definition: str, apply: Callable[[Layout], bool], parent: QObject):
        super().__init__(parent)
        self.definition = definition
        d = document.definition(definition)
        self.count = len(d.nodes)
        self._document, self._apply = document, apply
        self._stale = self._cancelled = False
        self._done = False
        self._pool = QThreadPool(self)     # first child: deleted (and waited for) before the relay
        self._pool.setMaxThreadCount(1)
        self._link = listen(self, document.events.changed, self._on_changed)
        snapshot = Definition(d.name, d.kind, d.class_name, dict(d.nodes), dict(d.edges))
        self._pool.start(_Compute(snapshot, to_gui(self, self._landed)))

    @property
    def running(self) -> bool:
        return not self._done

    @property
    def stale(self) -> bool:
        """The document changed since the job began (or it was cancelled): its result will not apply."""
        return self._stale or self._cancelled

    def cancel(self) -> None:
        """Drop the result still to come, silently (the worker runs on; nothing is applied)."""
        self._cancelled = True

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the worker is done and its result handled (tests, benchmarks)."""
        self._pool.waitForDone(timeout_ms)
        QCoreApplication.processEvents()
        return self._done

    def _on_changed(self) -> None:
        self._stale = True

    def _landed(self, layout: Layout | None, error: str | None) -> None:
        self._done = True
        self._link.disconnect()
        applied, why = False, ""
        if self._cancelled:
            pass
        elif error is not None:
            why = f"The blocks could not be arranged: {error}"
        elif self._stale:
            why = "The blocks changed while they were being arranged; arrange them again (Ctrl+L)."
        elif self.definition in self._document.project.definitions:
            applied = self._apply(layout)
        self.finished.emit(applied, why)
