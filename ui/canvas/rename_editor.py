"""The F2 editor: a line edit over a node's title on the canvas.

It knows nothing of the canvas: it says what the user typed (``committed``)
or that they gave up (``cancelled``), and the canvas decides what that means.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtWidgets import QLineEdit, QWidget

from . import theme


class InlineNameEditor(QLineEdit):
    """The F2 editor over a node's title: Enter applies, Esc cancels, leaving applies."""

    committed = Signal(str, str)   # node id, the text typed
    cancelled = Signal(str)        # node id

    def __init__(self, parent: QWidget, node_id: str, name: str, placeholder: str, geometry: QRect):
        super().__init__(parent)
        self.node_id = node_id
        self._done = False
        self.setText(name)
        self.setPlaceholderText(placeholder)
        self.setGeometry(geometry)
        self.setStyleSheet(f"QLineEdit {{ border: 1.5px solid {theme.SELECTION}; border-radius: 4px;"
                           f" padding: 0 4px; background: white; color: {theme.TEXT}; }}")
        self.selectAll()
        self.returnPressed.connect(self.commit)
        self.show()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        if not self._done:
            self.commit()

    def commit(self) -> None:
        if not self._done:
            self._done = True
            self.hide()
            self.committed.emit(self.node_id, self.text())
            self.deleteLater()

    def cancel(self) -> None:
        if not self._done:
            self._done = True
            self.hide()
            self.cancelled.emit(self.node_id)
            self.deleteLater()
