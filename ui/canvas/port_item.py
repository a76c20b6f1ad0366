"""Ports: where edges attach to a node, and how a node finds the port under the mouse.

Ports are painted by their node (one cached pixmap per node keeps a 1,000-block
graph fast); this module holds their geometry and their look.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from . import theme

INPUT, OUTPUT = "input", "output"

# Highlight states while a new link is dragged.
NORMAL, CANDIDATE, VALID, INVALID = 0, 1, 2, 3


@dataclass(frozen=True)
class PortRef:
    """One port of one node: ``kind`` is ``"input"`` or ``"output"``."""

    node_id: str
    kind: str
    name: str

    @property
    def is_output(self) -> bool:
        return self.kind == OUTPUT


def port_y(index: int) -> float:
    """Ports sit on the body's text lines; the first one on the node's origin line."""
    return index * theme.PORT_SPACING


def paint_port(painter: QPainter, center: QPointF, color: QColor, connected: bool, state: int) -> None:
    r = theme.PORT_RADIUS
    if state == VALID:
        painter.setPen(QPen(QColor(theme.VALID), 2.0))
        painter.setBrush(QColor(theme.VALID))
        r += 2.0
    elif state == INVALID:
        painter.setPen(QPen(QColor(theme.ERROR), 2.0))
        painter.setBrush(QColor(theme.ERROR).lighter(170))
        r += 1.0
    elif state == CANDIDATE:
        painter.setPen(QPen(QColor(theme.VALID), 1.8))
        painter.setBrush(QColor("#ffffff"))
        r += 1.0
    else:
        painter.setPen(QPen(color, 1.6))
        painter.setBrush(color if connected else QColor("#ffffff"))
    painter.drawEllipse(center, r, r)


def port_label_rect(center: QPointF, text_width: float, is_output: bool) -> QRectF:
    """Where a port's name is written: inside the node, next to the port."""
    h = theme.LINE_HEIGHT
    if is_output:
        return QRectF(center.x() - 9 - text_width, center.y() - h / 2, text_width, h)
    return QRectF(center.x() + 9, center.y() - h / 2, text_width, h)


LABEL_ALIGN = {True: Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
               False: Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter}
