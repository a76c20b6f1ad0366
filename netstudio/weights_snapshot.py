"""A consistent copy of the weights for saving, taken between two training steps.

A training run holds the session's lock for all its steps, and an optimizer
step updates parameters one by one, so reading the weights from another thread
during a run gives a mix of two steps: a torn save.  Instead, a save asks for a
snapshot.  If nothing holds the network, it is taken at once; otherwise the run
takes it at the end of its current step (``serve``), and the asking thread
waits for that without blocking its own events (the app keeps painting).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class WeightsSnapshot:
    """What a save writes besides the graph."""

    weights: dict[str, torch.Tensor] | None      # None when the seed reproduces them
    unplaced: dict[str, torch.Tensor] = field(default_factory=dict)


class SnapshotRequests:
    """Requests waiting for the network's lock; ``serve`` answers them all with one snapshot."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: list[Future] = []

    def request(self, lock: threading.RLock, take: Callable[[], WeightsSnapshot]) -> Future:
        future: Future = Future()
        if lock.acquire(blocking=False):
            try:
                future.set_result(take())
            except BaseException as err:   # noqa: BLE001 - handed to whoever waits
                future.set_exception(err)
            finally:
                lock.release()
            return future
        with self._lock:
            self._waiting.append(future)
        return future

    @property
    def pending(self) -> bool:
        return bool(self._waiting)

    def serve(self, take: Callable[[], WeightsSnapshot]) -> None:
        """Called by the thread that holds the network's lock, at a moment the weights are whole."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        try:
            snapshot = take()
        except BaseException as err:   # noqa: BLE001
            for future in waiting:
                future.set_exception(err)
            return
        for future in waiting:
            future.set_result(snapshot)
