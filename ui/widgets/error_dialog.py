"""Errors shown to the user: one clear sentence, the details one click away.

The dialog is window-modal but opened with ``open()``, not ``exec()``: nothing
waits on it, so an error during an action (or during a test) never blocks the
event loop, and the caller simply carries on with the document it had.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

OBJECT_NAME = "errorDialog"


def show_error(parent: QWidget | None, message: str, details: str = "", title: str = "NetStudio") -> QMessageBox:
    """Show ``message`` (one sentence) with optional ``details``; returns the open dialog."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(OBJECT_NAME)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    box.open()
    return box


def file_error_details(err: BaseException) -> str:
    """The validation problems of a bad project file, one per line, for "Show Details"."""
    problems = getattr(err, "problems", None) or []
    return "\n".join(f"{path}: {message}" for path, message in problems)
