"""The last line of defence: an unexpected exception anywhere in the UI (a slot,
an event handler, a worker thread) is logged with its traceback and shown in a
non-blocking dialog, and the app carries on with the document intact.

PySide6 reports exceptions raised in Python slots through ``sys.excepthook``;
worker threads report through ``threading.excepthook``.  The dialog is shown
from the GUI thread (a queued signal), whichever thread failed.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from .settings import app_data_dir

LOG_NAME = "netstudio.log"
OBJECT_NAME = "exceptionDialog"
log = logging.getLogger("netstudio.ui")


class ExceptionHook(QObject):
    """Install with ``install()``; ``uninstall()`` puts the previous hooks back."""

    _report = Signal(str, str)  # one-line summary, traceback

    def __init__(self, log_path: Path | None = None):
        super().__init__()
        self.log_path = log_path or app_data_dir() / LOG_NAME
        self.dialog: QMessageBox | None = None
        self._handler: logging.Handler | None = None
        self._previous = None
        self._report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> "ExceptionHook":
        self._handler = RotatingFileHandler(self.log_path, maxBytes=1 << 20, backupCount=2, encoding="utf-8",
                                            delay=True)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("netstudio").addHandler(self._handler)
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._on_exception
        threading.excepthook = self._on_thread_exception
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None
        if self._handler is not None:
            logging.getLogger("netstudio").removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    def _on_exception(self, etype, value, tb) -> None:
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        self._record(etype, value, tb, "")

    def _on_thread_exception(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        where = f" in thread {args.thread.name}" if args.thread is not None else ""
        self._record(args.exc_type, args.exc_value, args.exc_traceback, where)

    def _record(self, etype, value, tb, where: str) -> None:
        text = "".join(traceback.format_exception(etype, value, tb))
        summary = f"{etype.__name__}: {value}" if str(value) else etype.__name__
        log.error("Unexpected error%s: %s\n%s", where, summary, text.rstrip())
        self._report.emit(summary, text)

    def _show(self, summary: str, details: str) -> None:
        """One dialog at a time: later errors while it is open are added to its details."""
        if self.dialog is not None:
            self.dialog.setDetailedText(self.dialog.detailedText() + "\n" + details)
            return
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                          f"Something went wrong: {summary}", QMessageBox.StandardButton.Ok,
                          QApplication.activeWindow())
        box.setObjectName(OBJECT_NAME)
        box.setInformativeText("Your project is still open. Saving it now under a new name is a good idea. "
                               f"The details are in {self.log_path}.")
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._on_dialog_closed)
        self.dialog = box
        box.show()

    def _on_dialog_closed(self) -> None:
        self.dialog = None
