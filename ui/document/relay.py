"""The one way Qt code hears the engine: ``listen(owner, signal, slot)``.

The engine emits psygnal events from whichever thread changed it: the GUI
thread for edits, a worker for training runs and checks.  Qt widgets may only
be touched from the GUI thread, and a widget that is gone must never be
called.  So every view follows engine events through this module:

* the slot runs on ``owner``'s thread: at once when the event comes from that
  thread (an edit updates its views before the edit returns), through a queued
  Qt signal otherwise;
* with ``coalesce_ms``, a burst of events (a training run) becomes one call at
  most that often; when the burst carried different arguments the call gets
  ``None`` for each, meaning "anything may have changed";
* with ``direct=True`` the slot runs on the emitting thread instead, for work
  that must happen while that thread holds ``session.lock`` (copying live
  tensors during training);
* the connection ends when ``owner`` is destroyed, or when ``disconnect`` is
  called on the returned :class:`Connection`.

:func:`to_gui` gives the same delivery for a plain callback that a worker
thread calls (the checker's results).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal


class _Relay(QObject):
    """Lives in the owner's thread; ``post`` may be called from any thread."""

    fired = Signal(tuple)

    def __init__(self, owner: QObject, slot: Callable[..., Any], coalesce_ms: int | None):
        super().__init__(owner)
        self.slot = slot
        self.pending: tuple | None = None
        self.timer: QTimer | None = None
        if coalesce_ms is not None:
            self.timer = QTimer(self, singleShot=True, interval=coalesce_ms)
            self.timer.timeout.connect(self._flush)
        self.fired.connect(self._on_fired)

    def post(self, *args: Any) -> None:
        if shiboken6.isValid(self):
            self.fired.emit(args)

    def _on_fired(self, args: tuple) -> None:
        if self.timer is None:
            self.slot(*args)
            return
        self.pending = args if self.pending is None or self.pending == args else (None,) * len(args)
        if not self.timer.isActive():
            self.timer.start()

    def _flush(self) -> None:
        args, self.pending = self.pending, None
        if args is not None:
            self.slot(*args)


class Connection:
    """One engine signal followed by one slot; ``disconnect`` ends it (safe to call twice)."""

    def __init__(self, signal, forward: Callable[..., None]):
        self._signal, self._forward = signal, forward

    def disconnect(self, *_: Any) -> None:
        signal, self._signal = self._signal, None
        if signal is not None:
            with contextlib.suppress(Exception):
                signal.disconnect(self._forward)


def listen(owner: QObject, signal, slot: Callable[..., Any], *, coalesce_ms: int | None = None,
           direct: bool = False) -> Connection:
    """Call ``slot(*args)`` whenever the psygnal ``signal`` fires, as the module docstring says."""
    alive = _Alive(owner)
    home = threading.get_ident()   # the owner's thread: views are made on the thread that shows them
    relay = None if direct else _Relay(owner, slot, coalesce_ms)

    def forward(*args: Any) -> None:   # a plain function: psygnal holds it (and the relay) strongly
        if not alive:
            return
        if relay is None or (coalesce_ms is None and threading.get_ident() == home):
            slot(*args)                # same thread: at once, and an exception reaches the emitter
        else:
            relay.post(*args)
    signal.connect(forward, check_nargs=False)
    connection = Connection(signal, forward)
    owner.destroyed.connect(lambda *_: connection.disconnect())   # a lambda: Qt keeps it (and the connection)
    return connection


def to_gui(owner: QObject, slot: Callable[..., Any]) -> Callable[..., None]:
    """A callable any thread may call; ``slot`` then runs on ``owner``'s thread (never once it is gone)."""
    return _Relay(owner, slot, None).post


class _Alive:
    """Truthy while the Qt object exists."""

    def __init__(self, owner: QObject):
        self._alive = True

        def gone(*_: Any) -> None:   # a function, not a bound method, so Qt holds it strongly
            self._alive = False
        owner.destroyed.connect(gone)

    def __bool__(self) -> bool:
        return self._alive
