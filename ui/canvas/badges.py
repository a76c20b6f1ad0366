"""Small round badges pinned to a node's corners: problems (red/amber "!") and ties."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from . import theme


class _Badge(QGraphicsItem):
    def __init__(self, parent: QGraphicsItem, color: QColor, tooltip: str):
        super().__init__(parent)
        self.color = QColor(color)
        self.setToolTip(tooltip)
        self.setAcceptHoverEvents(True)
        # Stays vivid on a greyed-out (disabled) node.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresParentOpacity, True)
        self.setZValue(5)

    def boundingRect(self) -> QRectF:
        r = theme.BADGE_RADIUS + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def _circle(self, painter: QPainter) -> None:
        r = theme.BADGE_RADIUS
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor("#ffffff"), 1.6))
        painter.setBrush(self.color)
        painter.drawEllipse(QPointF(0, 0), r, r)


class DiagnosticBadge(_Badge):
    """A red (error) or amber (warning) circle with "!"; its tooltip lists the messages."""

    def __init__(self, parent: QGraphicsItem, severity: str, messages: list[str]):
        color = QColor(theme.ERROR if severity == "error" else theme.WARNING)
        super().__init__(parent, color, "")
        self.severity = severity
        self.messages: list[str] = []
        self.set_messages(severity, messages)

    def set_messages(self, severity: str, messages: list[str]) -> None:
        self.severity, self.messages = severity, list(messages)
        self.color = QColor(theme.ERROR if severity == "error" else theme.WARNING)
        self.setToolTip("\n".join(f"• {m}" if len(messages) > 1 else m for m in messages))
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        self._circle(painter)
        painter.setPen(QColor("#ffffff"))
        painter.setFont(theme.font("badge"))
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, "!")


class TieBadge(_Badge):
    """A link glyph in the tie group's colour: this node shares a module's parameters."""

    def __init__(self, parent: QGraphicsItem, color: QColor, tooltip: str):
        super().__init__(parent, color, tooltip)

    def set_tie(self, color: QColor, tooltip: str) -> None:
        self.color = QColor(color)
        self.setToolTip(tooltip)
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        self._circle(painter)
        size = 12
        dpr = painter.device().devicePixelRatioF() if painter.device() else 1.0
        pm = theme.icon_pixmap("mdi6.link-variant", "#ffffff", size, max(dpr, 2.0))
        painter.drawPixmap(QRectF(-size / 2, -size / 2, size, size), pm, QRectF(pm.rect()))
