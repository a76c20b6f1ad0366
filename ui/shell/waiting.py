"""Waiting for work on another thread without freezing the window.

A save during training waits for the running step to end (the weights are only
whole between steps).  The GUI thread must keep painting and answering
meanwhile, so it runs a local event loop until the future is done, with a busy
cursor and a message in the status bar.
"""

from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow


class _Done(QObject):
    done = Signal()


def wait_for(future: Future, window: QMainWindow | None = None, message: str = "", timeout_ms: int | None = None):
    """``future.result()``, processing events until it is ready (its exception is raised here);
    after ``timeout_ms`` a ``TimeoutError`` is raised instead."""
    if not future.done():
        loop = QEventLoop()
        relay = _Done()
        relay.done.connect(loop.quit, Qt.ConnectionType.QueuedConnection)
        future.add_done_callback(lambda _: relay.done.emit())
        if timeout_ms is not None:
            QTimer.singleShot(timeout_ms, loop.quit)
        if message and window is not None and window.statusBar() is not None:
            window.statusBar().showMessage(message)
        QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        try:
            if not future.done():
                loop.exec()
        finally:
            QApplication.restoreOverrideCursor()
            if message and window is not None and window.statusBar() is not None:
                window.statusBar().clearMessage()
    if not future.done():
        raise TimeoutError("gave up waiting")
    return future.result()
