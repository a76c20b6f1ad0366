"""Session events as Qt signals in the GUI thread.

A network session emits psygnal events from whichever thread changed it, and
training runs in a worker; views must only touch Qt from the GUI thread.
"""

from __future__ import annotations

import threading
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject, Signal


class _Signals(QObject):
    rebuilt = Signal()
    weights_changed = Signal(object)
    device_changed = Signal(str)
    ran = Signal(str)


class SessionRelay:
    """Re-emits a session's psygnal events as Qt signals of ``signals``, delivered in the GUI thread
    whichever thread emitted them (training runs emit from a worker).

    ``direct`` callbacks are called in the emitting thread, for work that must happen
    while that thread holds ``session.lock`` (copying live tensors during training).
    The relay stops following the session when ``owner`` is destroyed.
    """

    NAMES = ("rebuilt", "weights_changed", "device_changed", "ran")

    def __init__(self, session, owner: QObject):
        self.session = session
        self.signals = _Signals(owner)
        self.direct: list[Callable[[str, tuple], None]] = []
        self._lock = threading.Lock()
        self._handlers = {name: self._handler(name) for name in self.NAMES}
        for name, handler in self._handlers.items():
            getattr(session.events, name).connect(handler)
        owner.destroyed.connect(self.detach)

    def _handler(self, name: str):
        def handle(*args) -> None:
            for callback in list(self.direct):
                callback(name, args)
            signals = self.signals
            if shiboken6.isValid(signals):
                getattr(signals, name).emit(*args)
        return handle

    def detach(self, *_) -> None:
        with self._lock:
            handlers, self._handlers = self._handlers, {}
        for name, handler in handlers.items():
            getattr(self.session.events, name).disconnect(handler, missing_ok=True)
        self.direct.clear()
