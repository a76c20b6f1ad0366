"""Running session work off the UI thread, and following session events safely.

``Runner`` runs one job at a time on a ``QThread`` (a ``QObject`` worker moved
to the thread); its signals arrive on the UI thread, so the window keeps
painting and a ``CancelToken`` can stop a training run between steps.

The session emits its events (``weights_changed``, ``ran``, ``device_changed``)
from whichever thread called it, so a run on the worker thread emits them
there, while it holds ``session.lock``; views hear them through
:func:`ui.document.relay.listen`.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, Signal, Slot

from pathlib import Path

from netstudio.errors import NetStudioError, RunError
from netstudio.files.safe_read import quoted_name
from netstudio.run import CancelToken, make_classification, make_regression
from netstudio.run.dataset import DatasetTask, check_fit, check_values
from netstudio.training.samples import open_samples

Progress = Callable[[int, float], None]
JobFn = Callable[[Progress, CancelToken], Any]

PROGRESS_INTERVAL = 0.03  # seconds between progress batches posted to the UI
_LIVE: set = set()  # (thread, worker) pairs kept alive until their thread has finished


def one_sentence(err: BaseException, doing: str = "The run") -> str:
    """A user-facing sentence for any error: the engine's own, or a generic first line."""
    if isinstance(err, NetStudioError):
        return str(err)
    first = (str(err).strip().splitlines() or [type(err).__name__])[0].rstrip(".!")
    return f"{doing} failed: {first}."


class _Worker(QObject):
    progress = Signal(object)  # [(step, value), ...] since the last batch
    done = Signal(object, object, str)  # result, error sentence or None, traceback text

    def __init__(self, fn: JobFn, token: CancelToken, doing: str):
        super().__init__()
        self.fn, self.token, self.doing = fn, token, doing
        self._batch: list[tuple[int, float]] = []
        self._sent = 0.0

    def _progress(self, step: int, value: float) -> None:
        """Called by the job for every step; posted to the UI in batches so fast runs never flood it."""
        self._batch.append((step, value))
        now = time.monotonic()
        if now - self._sent >= PROGRESS_INTERVAL:
            self._flush(now)

    def _flush(self, now: float) -> None:
        self._sent = now
        if self._batch:
            batch, self._batch = self._batch, []
            self.progress.emit(batch)

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self._progress, self.token)
        except Exception as err:  # every failure becomes one sentence for the panel
            self._flush(time.monotonic())
            self.done.emit(None, one_sentence(err, self.doing), traceback.format_exc())
        else:
            self._flush(time.monotonic())
            self.done.emit(result, None, "")
        finally:
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())  # so it is deleted on the UI thread


class Runner(QObject):
    """Runs one job at a time on a worker thread.

    ``start(name, fn)`` calls ``fn(progress, cancel_token)`` on the thread;
    each ``progress(step, value)`` call reaches the ``progress`` signal, in
    batches (a list of ``(step, value)``) at most every 30 ms, so a fast run
    never floods the UI.  When it ends, ``finished(name, result, error)``
    fires on the UI thread with the result, or ``error`` as one sentence.
    """

    started = Signal(str)
    progress = Signal(object)  # [(step, value), ...]
    finished = Signal(str, object, object)  # name, result, error sentence or None

    def __init__(self, parent: QObject | None = None, controller=None):
        super().__init__(parent)
        self.controller = controller   # told when a job starts and ends (the window disables undo meanwhile)
        self.name: str | None = None
        self.token: CancelToken | None = None
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        holder = self._pair = [None]

        def stop_on_destroy(*_: Any) -> None:  # a panel closed mid-run: stop and wait for it
            pair = holder[0]
            if pair is not None:
                pair[1].token.cancel()
                pair[0].quit()
                pair[0].wait(30000)
                _LIVE.discard(pair)

        self.destroyed.connect(stop_on_destroy)

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, name: str, fn: JobFn, doing: str = "The run") -> bool:
        """Start ``fn`` on a worker thread; False (and nothing started) while another job runs."""
        if self.busy:
            return False
        self.name, self.token = name, CancelToken()
        thread = QThread()
        thread.setObjectName(f"netstudio-{name}")
        worker = _Worker(fn, self.token, doing)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.done.connect(self._on_done)
        pair = (thread, worker)
        _LIVE.add(pair)
        self._pair[0] = pair
        self._thread, self._worker = thread, worker
        thread.start()
        if self.controller is not None:
            self.controller.run_started(self.cancel)
        self.started.emit(name)
        return True

    def cancel(self) -> None:
        if self.token is not None:
            self.token.cancel()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the running job ends (tests, closing); True if none is left running."""
        deadline = time.monotonic() + ms / 1000
        while self.busy and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return not self.busy

    @Slot(object, object, str)
    def _on_done(self, result: Any, error: str | None, trace: str) -> None:
        name = self.name
        pair = self._pair[0]
        if pair is not None:
            pair[0].quit()
            pair[0].wait(5000)  # the job is over: the thread only has to leave its event loop
            _LIVE.discard(pair)
        self._thread = self._worker = None
        self._pair[0] = None
        if self.controller is not None:
            self.controller.run_finished(self.cancel)
        if error and trace:  # the user saw one sentence; the log keeps the whole story
            logging.getLogger(__name__).error("%s failed: %s\n%s", name or "run", error, trace)
        self.finished.emit(name or "", result, error)


def training_job(session, task_kind: str, optimizer: str, lr: float, steps: int, batch: int, seed: int,
                 live_interval: float) -> JobFn:
    """The Runner job that trains ``session``'s network on a synthetic task sized from its input and output.

    Live views (the heatmap) copy the weights when ``weights_changed`` fires, in the worker thread while
    the run holds the lock; it fires at most every ``live_interval`` seconds, so a fast run never floods them.
    """
    def job(progress: Progress, token: CancelToken):
        x = session.input
        if x.dim() != 2:
            raise RunError(f"Training on a synthetic task needs a (batch, features) input, not shape "
                           f"{tuple(x.shape)}; train on a dataset file instead.")
        out = session.run_forward()
        if out.dim() != 2:
            raise RunError(f"Training on a synthetic task needs a (batch, outputs) output, not shape "
                           f"{tuple(out.shape)}.")
        n_in, n_out = x.shape[1], out.shape[1]
        if task_kind == "classification":
            if n_out < 2:
                raise RunError(f"A classification task needs at least 2 outputs (one per class); this "
                               f"network has {n_out}.")
            task = make_classification(n_in, n_out, seed=seed)
        else:
            task = make_regression(n_in, n_out, seed=seed)
        return session.run_training(task, optimizer, lr, steps, batch, progress=live(session, progress, live_interval),
                                    cancel=token)

    return job


def live(session, progress: Progress, live_interval: float) -> Progress:
    """``progress`` for every step, and ``weights_changed`` at most every ``live_interval`` seconds."""
    last = [0.0]

    def step(done: int, loss: float) -> None:
        progress(done, loss)
        now = time.monotonic()
        if now - last[0] >= live_interval:
            last[0] = now
            session.events.weights_changed.emit(None)
    return step


def open_dataset(path: str, loss: str) -> DatasetTask:
    """The dataset file at ``path``, read as ``netstudio train`` reads it (memory-mapped), to be trained on
    with ``loss``, and checked for NaN and infinities; a one-sentence :class:`NetStudioError` otherwise."""
    task = DatasetTask(open_samples(path), loss, quoted_name(Path(path)))
    check_values(task)
    return task


def dataset_training_job(session, path: str, loss: str, optimizer: str, lr: float, steps: int, batch: int,
                         live_interval: float) -> JobFn:
    """The Runner job that trains ``session``'s network on the dataset file at ``path``, in mini-batches
    drawn from it, after checking the network on two of its samples."""
    def job(progress: Progress, token: CancelToken):
        task = open_dataset(path, loss)
        module = session.ensure_built()
        if module is None:
            raise NetStudioError(session.error or "The network cannot be built.")
        sample = check_fit(module, task)
        if session.input is None:
            session.input = sample
        return session.run_training(task, optimizer, lr, steps, batch, progress=live(session, progress, live_interval),
                                    cancel=token)

    return job
