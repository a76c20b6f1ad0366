"""The name over a selected or hovered block when zoomed out, at a readable size.

A child of its node that ignores the view's scale, so it stays the same number
of pixels high at any zoom; the node shows it only while the canvas is drawn
as a sketch (its own text is then too small to read).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from . import theme

_PAD_X, _HEIGHT = 7.0, 20.0


class NameTag(QGraphicsItem):
    """A white pill with the block's name, centred on its parent's top edge."""

    def __init__(self, parent: QGraphicsItem, text: str):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresParentOpacity, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(6)
        self.text = ""
        self._rect = QRectF()
        self.set_text(text)

    def set_text(self, text: str) -> None:
        if text == self.text:
            return
        self.prepareGeometryChange()
        self.text = text
        w = theme.metrics("title").horizontalAdvance(text) + 2 * _PAD_X
        self._rect = QRectF(-w / 2, -_HEIGHT - 3, w, _HEIGHT)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(theme.SELECTION), 1.5))
        painter.setBrush(QColor(theme.NODE_FILL))
        painter.drawRoundedRect(self._rect, _HEIGHT / 2, _HEIGHT / 2)
        painter.setFont(theme.font("title"))
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)
