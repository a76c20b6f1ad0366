"""The F2 editor: a line edit over a node's title on the canvas."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from . import editing, theme

if TYPE_CHECKING:
    from .canvas_widget import CanvasWidget


class InlineNameEditor(QLineEdit):
    """The F2 editor over a node's title: Enter applies, Esc cancels, leaving applies."""

    def __init__(self, canvas: "CanvasWidget", node_id: str):
        super().__init__(canvas.view.viewport())
        self.canvas, self.node_id = canvas, node_id
        self._done = False
        item = canvas.scene.nodes[node_id]
        node = canvas.scene.model.nodes[node_id]
        self.setText(node.name)
        self.setPlaceholderText(item.look.title if not node.name else "")
        view = canvas.view
        rect = item.mapRectToScene(item.rect.adjusted(30, 3, -8, 0))
        rect.setHeight(theme.HEADER_HEIGHT - 5)
        top_left = view.mapFromScene(rect.topLeft())
        bottom_right = view.mapFromScene(rect.bottomRight())
        self.setGeometry(top_left.x(), top_left.y(), max(bottom_right.x() - top_left.x(), 90),
                         max(bottom_right.y() - top_left.y(), 22))
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
        if self._done:
            return
        self._done = True
        canvas = self.canvas
        if self.node_id in canvas.scene.model.nodes:
            error = editing.rename(canvas.controller, canvas.current_definition, self.node_id, self.text())
            if error:
                canvas._hint(error, error=True)
        self._close()

    def cancel(self) -> None:
        self._done = True
        self._close()

    def _close(self) -> None:
        self.hide()
        self.canvas.view.setFocus()
        self.canvas._rename_editor = None
        self.deleteLater()
