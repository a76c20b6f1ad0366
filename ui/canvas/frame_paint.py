"""How a block expanded in place is painted: the arrow in its header and the well under its cards.

The arrow is drawn on every Block or Sequential (▸ to expand, ▾ to collapse); the well, its
subtitle and the dotted lines from the frame's ports to its Input/Output cards only when expanded.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from . import theme
from .port_item import port_y

CHEVRON_W = 22.0     # the expand/collapse arrow's width at a container's header right


def paint_chevron(painter: QPainter, box: QRectF, expanded: bool) -> None:
    """▸ collapsed, ▾ expanded, in ``box``: click it to show the block's insides here."""
    c = box.center()
    r = 4.5
    if not expanded:
        points = [QPointF(c.x() - r * 0.6, c.y() - r), QPointF(c.x() + r * 0.8, c.y()),
                  QPointF(c.x() - r * 0.6, c.y() + r)]
    else:
        points = [QPointF(c.x() - r, c.y() - r * 0.6), QPointF(c.x() + r, c.y() - r * 0.6),
                  QPointF(c.x(), c.y() + r * 0.8)]
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.TEXT_MUTED))
    painter.drawPolygon(points)

def paint_frame_body(item, painter: QPainter, header: QRectF, subtitle_x: float) -> None:
    """Expanded: the definition's name and parameter count in the header, a light well
    under the cards, and faint lines from the frame's ports to the Input/Output cards."""
    look, rect = item.look, item.rect
    right = rect.right() - CHEVRON_W - 4
    painter.setFont(theme.font("body"))
    painter.setPen(QColor(theme.TEXT_MUTED))
    text = " · ".join(t for t in (look.subtitle, item.status.stats) if t)
    if right - subtitle_x > 30:
        painter.drawText(QRectF(subtitle_x, header.top() + 2, right - subtitle_x, header.height() - 2),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         theme.elide(text, "body", right - subtitle_x))
    well = QRectF(rect.left() + 6, header.bottom() + 6, rect.width() - 12, rect.bottom() - header.bottom() - 12)
    painter.setPen(QPen(QColor(theme.NODE_BORDER), 1.0, Qt.PenStyle.DashLine))
    painter.setBrush(QColor(theme.BACKGROUND))
    painter.drawRoundedRect(well, theme.CORNER, theme.CORNER)
    if item.inside.too_big:
        painter.setPen(QColor(theme.TEXT_MUTED))
        painter.drawText(well, Qt.AlignmentFlag.AlignCenter, "Too many blocks to show here: double-click to open")
        return
    painter.setPen(QPen(QColor(theme.EDGE), 1.2, Qt.PenStyle.DotLine))
    for names, x, is_output in ((look.inputs, rect.left(), False), (look.outputs, rect.right(), True)):
        for i, name in enumerate(names):
            anchor = item.inside.port_anchor(name, is_output)
            if anchor is not None:
                painter.drawLine(QPointF(x, port_y(i)), anchor)
