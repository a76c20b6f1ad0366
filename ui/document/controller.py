"""The document controller: one open project with its undo stack, file state,
selection, and the latest check result computed off the UI thread.

Views take the controller in their constructor and connect to its signals and
to ``controller.document.events``; none of them edits the project except by
``controller.push(command)``.

It also builds a big network (above ``netstudio.session.SYNC_REBUILD_LIMIT`` nodes) on a worker thread,
which would freeze the window for seconds on the GUI thread: once its edits pause (``REBUILD_DELAY_MS``
after the last one), and the first time a view asks for it (``session.network_now``).  The build reuses
the snapshot and result of the check of the same version, and is dropped when the document moved on.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from netstudio.gc_pause import gc_paused
from netstudio.analysis import CheckResult
from netstudio.analysis.incremental import Checker
from netstudio.graph import Document, Project
from netstudio.graph.snapshots import Snapshots
from netstudio.session import BuildStamp, NetworkSession

from .relay import listen, to_gui

REBUILD_DELAY_MS = 400   # how long edits must pause before a big network is rebuilt (it takes seconds)
RETRY_MS = 200           # a run holds the network: apply what a build kept out this much later


class _CheckJob(QRunnable):
    """Checks a snapshot of the project in a worker thread, so editing never waits for it.

    The snapshot is immutable and shares what did not change with the one before
    (``graph/snapshots.py``), so taking it costs about what the edit touched; the one
    ``Checker``, used by one job at a time (the pool has one thread), redoes only what
    the edits since its last check reach.  A job overtaken by a newer edit checks nothing."""

    def __init__(self, project: Project, checker: Checker, generation: int, latest, done):
        super().__init__()
        self.project, self.checker, self.generation, self.latest, self.done = \
            project, checker, generation, latest, done

    def run(self) -> None:
        if self.generation != self.latest():
            return
        try:
            result = self.checker.check(self.project)
        except Exception as err:  # a bug: reported, and the checker starts afresh next time
            from netstudio.analysis import Diagnostic
            result = CheckResult([Diagnostic("error", f"checking failed: {err}", self.project.root)])
        self.done(self.generation, result)


class _BuildJob(QRunnable):
    """Builds a big network from a snapshot in a worker thread (``NetworkSession.build_from``)."""

    def __init__(self, session: NetworkSession, project: Project, stamp: BuildStamp, result: CheckResult | None,
                 done):
        super().__init__()
        self.session, self.project, self.stamp, self.result, self.done = session, project, stamp, result, done

    def run(self) -> None:
        try:
            self.session.build_from(self.project, self.stamp, self.result)
        finally:
            self.done()


class DocumentController(QObject):
    """Owns a ``Document``; emits ``checked`` with each new ``CheckResult``."""

    checked = Signal(object)                 # CheckResult
    selection_changed = Signal(str, list)    # definition, node ids
    tensor_selected = Signal(object)         # ui.panels.tensor_ref.TensorRef, or None
    path_changed = Signal(object)            # Path | None
    modified_changed = Signal(bool)
    busy_changed = Signal(bool)              # a run (forward, training, a device move...) holds the network
    project_opened = Signal()                # another project replaced this one (open, new, revert, recover)

    def __init__(self, document: Document | None = None, path: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.document = document or Document()
        self.session = NetworkSession(self.document)
        self.undo_stack = QUndoStack(self)
        self.path: Path | None = Path(path) if path else None
        self.result: CheckResult | None = None
        self.selection: tuple[str, list[str]] = (self.document.project.root, [])
        self._runs = 0
        self._cancels: list[Callable[[], None]] = []
        # Trained, imported or edited weights are unsaved work too, though no undo command made them.
        self._weights_unsaved = False
        self._generation = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._snapshots = Snapshots(self.document)
        self._checker = Checker()
        self._deliver_check = to_gui(self, self._on_checked)   # called by the checking thread
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._start_check)
        self._rebuild_timer = QTimer(self, singleShot=True, interval=REBUILD_DELAY_MS)
        self._rebuild_timer.timeout.connect(self._rebuild)
        self._rebuild_after_runs = False
        # The build pool: its own thread, so checks go on meanwhile.  The check job of the latest edit
        # (generation, snapshot, stamp), then that snapshot, stamp and result once checked, for builds.
        self._build_pool = QThreadPool(self)
        self._build_pool.setMaxThreadCount(1)
        self._building = False
        self._build_wanted = False
        self._closed = False
        self._checking: tuple[int, Project, BuildStamp] | None = None
        self._checked_input: tuple[Project, BuildStamp, CheckResult] | None = None
        self._deliver_build = to_gui(self, self._on_built)   # called by the building thread
        self._missed_timer = QTimer(self, singleShot=True, interval=RETRY_MS)
        self._missed_timer.timeout.connect(self._apply_missed_inits)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        events = self.document.events
        self._connections = [listen(self, self.session.events.weights_changed, self._on_weights_changed),
                             listen(self, self.session.events.went_stale, self._rebuild_timer.start),
                             listen(self, self.session.events.wanted, self.build_soon),
                             listen(self, events.changed, self.schedule_check),
                             listen(self, events.reset, self._on_reset)]
        self.schedule_check()

    @property
    def busy(self) -> bool:
        return self._runs > 0

    def run_started(self, cancel: Callable[[], None] | None = None) -> None:
        """A worker began using the network: undoing weight changes would have to wait for it.
        ``cancel`` stops it (after its current step), for ``stop_runs``."""
        self._runs += 1
        if cancel is not None:
            self._cancels.append(cancel)
        if self._runs == 1:
            self.busy_changed.emit(True)

    def run_finished(self, cancel: Callable[[], None] | None = None) -> None:
        self._runs = max(0, self._runs - 1)
        if cancel in self._cancels:
            self._cancels.remove(cancel)
        if self._runs == 0:
            self.busy_changed.emit(False)
            if self._rebuild_after_runs:
                self._rebuild_after_runs = False
                self._rebuild_timer.start()

    def stop_runs(self) -> Future:
        """Ask every run to stop; the future is done once none holds the network any more."""
        done: Future = Future()
        if not self.busy:
            done.set_result(None)
            return done

        def on_busy(busy: bool) -> None:
            if not busy and not done.done():
                self.busy_changed.disconnect(on_busy)
                done.set_result(None)
        self.busy_changed.connect(on_busy)
        for cancel in list(self._cancels):
            cancel()
        return done

    def _on_clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(self.modified)

    def close(self) -> None:
        """Stop following the document; the window calls this when it closes."""
        self._closed = True
        self.session.close()
        for connection in self._connections:
            connection.disconnect()
        self._timer.stop()
        self._rebuild_timer.stop()
        self._missed_timer.stop()
        self._pool.waitForDone(5000)
        self._build_pool.waitForDone(30000)
        self._snapshots.close()

    # -- editing ---------------------------------------------------------------------
    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    @property
    def modified(self) -> bool:
        """Unsaved changes: an edit since the last save, or weights changed by a run or an import."""
        return not self.undo_stack.isClean() or self._weights_unsaved

    def mark_saved(self) -> None:
        """The project and its weights are on disk now."""
        self._weights_unsaved = False
        self.undo_stack.setClean()
        self.modified_changed.emit(self.modified)

    def forget_unsaved_weights(self) -> None:
        """Another project replaced this one (open, new, revert): its weights are not this one's."""
        self._weights_unsaved = False

    def _on_weights_changed(self, *_) -> None:
        if self.session.weights_modified and not self._weights_unsaved:
            self._weights_unsaved = True
            self.modified_changed.emit(True)

    def set_path(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.path_changed.emit(self.path)

    def select(self, definition: str, node_ids: list[str]) -> None:
        if self.selection != (definition, list(node_ids)):
            self.selection = (definition, list(node_ids))
            self.selection_changed.emit(definition, list(node_ids))

    def _rebuild(self) -> None:
        """The edits paused: rebuild the stale network in the background, or once the runs holding it
        are over (a run rebuilds it itself if it needs it sooner)."""
        if self.busy:
            self._rebuild_after_runs = True
        else:
            self.build_soon()

    # -- building big networks ----------------------------------------------------------
    @property
    def building(self) -> bool:
        """A big network is being built, or will be once the check of the latest edit is in."""
        return self._building or (self._build_wanted and self.session.stale)

    def build_soon(self) -> None:
        """Build the stale network on the build thread, from the snapshot the check of the same version
        used (and its result), so as soon as that check is in; one build at a time."""
        if self._closed or not self.session.stale:
            return
        self._build_wanted = True
        self._start_build()

    def _start_build(self) -> None:
        if self._closed or self._building or not self._build_wanted:
            return
        if not self.session.stale:
            self._build_wanted = False
            return
        stamp = self.session.stamp()
        if self._checked_input is not None and self._checked_input[1] == stamp:
            project, _, result = self._checked_input
        elif self._timer.isActive() or self._checking is not None:
            return   # _on_checked starts it, with the check of this version
        else:
            project, result = self._snapshots.take(), None
        self._build_wanted, self._building = False, True
        self._build_pool.start(_BuildJob(self.session, project, stamp, result, self._deliver_build))

    def _on_built(self) -> None:
        """The build thread is done: built, or dropped because the document moved on (then again, once
        the edits pause); node initializer settings changed meanwhile are applied now."""
        self._building = False
        if self._closed:
            return
        self._apply_missed_inits()
        if self.session.stale:
            if self._build_wanted:
                self._start_build()
            else:
                self._rebuild_timer.start()

    def _apply_missed_inits(self) -> None:
        if not self._closed and not self.session.apply_missed_inits():
            self._missed_timer.start()

    def wait_for_build(self, timeout_ms: int = 30000) -> bool:
        """Block until the build under way (after the check it waits for) is in (tests, benchmarks);
        True when the network is up to date."""
        self.wait_for_check(timeout_ms)
        self._build_pool.waitForDone(timeout_ms)
        from PySide6.QtCore import QCoreApplication
        QCoreApplication.processEvents()
        return not self.session.stale

    # -- checking ---------------------------------------------------------------------
    def schedule_check(self) -> None:
        self._timer.start()

    def wait_for_check(self, timeout_ms: int = 5000) -> CheckResult | None:
        """Block until pending checks finish (tests)."""
        if self._timer.isActive():
            self._timer.stop()
            self._start_check()
        self._pool.waitForDone(timeout_ms)
        from PySide6.QtCore import QCoreApplication
        QCoreApplication.processEvents()
        return self.result

    def _start_check(self) -> None:
        self._generation += 1
        snapshot = self._snapshots.take()
        self._checking = (self._generation, snapshot, self.session.stamp())
        job = _CheckJob(snapshot, self._checker, self._generation, lambda: self._generation, self._deliver_check)
        self._pool.start(job)

    def _on_checked(self, generation: int, result: CheckResult) -> None:
        if generation != self._generation:
            return  # a newer edit is being checked already
        if self._checking is not None and self._checking[0] == generation:
            self._checked_input = (self._checking[1], self._checking[2], result)
            self._checking = None
        self.result = result
        # Every view shows the result now (10,000 blocks: most of a second); they keep what they
        # make, so the cycle collector would only walk the heap meanwhile.
        with gc_paused():
            self.checked.emit(result)
        self._start_build()

    def _on_reset(self) -> None:
        root = self.document.project.root
        if self.selection[0] not in self.document.project.definitions:
            self.selection = (root, [])
        self.schedule_check()
