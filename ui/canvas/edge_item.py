"""Edges (cubic Bézier curves from an output port to an input port, or routes through the
bend points the layered layout gave them) with their inferred-shape label, and the dashed
links that join tied nodes."""

from __future__ import annotations

from functools import lru_cache

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from . import theme

_AA = QPainter.RenderHint.Antialiasing
_NO_BRUSH = Qt.BrushStyle.NoBrush

EDGE_Z = 0.0
TIE_Z = 1.0
LABEL_Z = 1.5   # over edges and tie links, under nodes: never hides a node's text


def link_path(p0: QPointF, p1: QPointF) -> QPainterPath:
    """The curve from an output at ``p0`` to an input at ``p1``; loops out when going back."""
    dx = p1.x() - p0.x()
    reach = max(abs(dx) * 0.5, 40.0) if dx >= 0 else max(80.0, min(-dx * 0.5, 250.0))
    path = QPainterPath(p0)
    path.cubicTo(QPointF(p0.x() + reach, p0.y()), QPointF(p1.x() - reach, p1.y()), p1)
    return path


CORNER = 8.0    # radius of the rounded corners of a route


def route_path(points: list[QPointF]) -> QPainterPath:
    """A route through ``points`` (ports and bends): straight where it runs along an axis, with
    rounded corners where two such runs meet, and an S-curve with level ends where it crosses
    diagonally (the gap between two columns), so it joins the runs before and after it smoothly."""
    path = QPainterPath(points[0])
    n = len(points)
    straight = [_level(points[i], points[i + 1]) for i in range(n - 1)]
    start = points[0]
    for i in range(n - 1):
        a, b = points[i], points[i + 1]
        after = None
        if straight[i] and i + 2 < n and straight[i + 1]:
            c = points[i + 2]
            ab, bc = _length(a, b), _length(b, c)
            turn = (b.x() - a.x()) * (c.y() - b.y()) - (b.y() - a.y()) * (c.x() - b.x())
            if ab > 0 and bc > 0 and turn != 0:
                r = min(CORNER, ab / 2, bc / 2)
                end = QPointF(b.x() - (b.x() - a.x()) * r / ab, b.y() - (b.y() - a.y()) * r / ab)
                after = QPointF(b.x() + (c.x() - b.x()) * r / bc, b.y() + (c.y() - b.y()) * r / bc)
        if straight[i]:
            path.lineTo(end if after is not None else b)
        elif b.x() > start.x():
            reach = (b.x() - start.x()) / 2
            path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(b.x() - reach, b.y()), b)
        else:
            path.connectPath(link_path(start, b))
        if after is not None:
            path.quadTo(b, after)
            start = after
        else:
            start = b
    return path


def _level(a: QPointF, b: QPointF) -> bool:
    return a.x() == b.x() or a.y() == b.y()


def _length(a: QPointF, b: QPointF) -> float:
    return math.hypot(b.x() - a.x(), b.y() - a.y())


def _midpoint(p0: QPointF, p1: QPointF) -> QPointF:
    # The curve is symmetric, so t = 0.5 is its middle: (p0 + 3 c1 + 3 c2 + p1) / 8 = (p0 + p1) / 2.
    return QPointF((p0.x() + p1.x()) / 2, (p0.y() + p1.y()) / 2)


@lru_cache(maxsize=4096)
def _label_width(text: str) -> float:
    """Most labels repeat ("(2, 20)" on a thousand edges): measured once each."""
    return theme.metrics("label").horizontalAdvance(text)


class EdgeLabelItem(QGraphicsItem):
    """The shape pill at an edge's middle."""

    def __init__(self, edge: "EdgeItem"):
        super().__init__()
        self.edge = edge
        self.text = "?"
        self.setZValue(LABEL_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self._rect = QRectF()
        self._measure()

    def _measure(self) -> None:
        w = _label_width(self.text) + 12
        self._rect = QRectF(-w / 2, -8.5, w, 17)

    def set_text(self, text: str) -> bool:
        if text == self.text:
            return False
        self.prepareGeometryChange()
        self.text = text
        self._measure()
        self.update()
        return True

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        selected = self.edge.isSelected()
        painter.setPen(QPen(QColor(theme.EDGE_SELECTED if selected else theme.EDGE_LABEL_BORDER), 1.0))
        painter.setBrush(QColor(theme.EDGE_LABEL_FILL))
        painter.drawRoundedRect(self._rect, 8.5, 8.5)
        painter.setFont(theme.font("label"))
        painter.setPen(QColor(theme.EDGE_LABEL_UNKNOWN if self.text == "?" else theme.EDGE_LABEL_TEXT))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class EdgeItem(QGraphicsItem):
    """One edge of the model; selectable (Del removes it), re-routed when its nodes move."""

    Type = QGraphicsItem.UserType + 2

    def __init__(self, edge_id: str, src_item, src_port: str, dst_item, dst_port: str, inner: bool = False):
        super().__init__()
        self.edge_id = edge_id
        self.src_item, self.src_port = src_item, src_port
        self.dst_item, self.dst_port = dst_item, dst_port
        self.hovered = False
        self.inner = inner      # inside an expanded block: shown, not edited
        self.shown = True       # zoomed out, the sketch draws it instead
        if inner:
            self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        else:
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setZValue(EDGE_Z)
        # No cache: one path is quicker drawn than a pixmap redrawn at each zoom step (zoomed
        # out, the sketch draws all edges at once instead).
        self.label = EdgeLabelItem(self)
        self._path = QPainterPath()
        self._shape = QPainterPath()
        self._bounds = QRectF()
        self.bends: list[QPointF] = []      # the model's bend points (canvas = model coordinates)
        self._ends: tuple[QPointF, QPointF] | None = None   # where the ports were when they were set
        self.points: list[QPointF] = []     # the route as drawn: ports and the bends it passes
        self.update_path()

    def type(self) -> int:
        return EdgeItem.Type

    def set_bends(self, bends) -> None:
        """Route the edge through ``bends`` (model points; empty: the plain curve), which fit the
        ports where they are now (so call it once the item is in its scene)."""
        self.bends = [QPointF(x, y) for x, y in bends]
        self._ends = (self.src_item.output_pos(self.src_port), self.dst_item.input_pos(self.dst_port)) \
            if self.bends else None
        self.update_path()

    def _bent(self, p0: QPointF, p1: QPointF) -> bool:
        """Whether the route through the bends is drawn: its ports are where the bends were made for
        (a block being dragged makes a plain curve until the drop drops the bends), and no block is
        expanded in place (the room it makes moves blocks, not the model's bend points)."""
        if not self.bends or self._ends != (p0, p1):
            return False
        scene = self.scene()
        expansion = getattr(scene, "expansion", None)
        return expansion is None or not expansion.room

    @property
    def label_text(self) -> str:
        return self.label.text

    def show_shape(self, shown: bool) -> None:
        """The edge and its label as items (or hidden, the sketch drawing them): Qt called only on a change."""
        if shown != self.shown:
            self.shown = shown
            self.setVisible(shown)
            self.label.setVisible(shown)

    def set_label(self, text: str) -> bool:
        return self.label.set_text(text)

    def _tooltip(self) -> None:
        """Written when the mouse comes over the edge: 10,000 edges need not all have one ready."""
        src, dst = self.src_item.look.title, self.dst_item.look.title
        self.setToolTip(f"{src}.{self.src_port} → {dst}.{self.dst_port}: {self.label.text}")

    def update_path(self) -> None:
        p0 = self.src_item.output_pos(self.src_port)
        p1 = self.dst_item.input_pos(self.dst_port)
        self.prepareGeometryChange()
        if self._bent(p0, p1):
            self.points = [p0, *self.bends, p1]
            self._path = route_path(self.points)
            self.label.setPos(self._path.pointAtPercent(0.5))
        else:
            self.points = [p0, p1]
            self._path = link_path(p0, p1)
            self.label.setPos(_midpoint(p0, p1))
        self._bounds = self._path.controlPointRect().adjusted(-4, -4, 4, 4)
        self._shape = QPainterPath()
        scene = self.scene()
        if scene is not None and hasattr(scene, "invalidate_sketch"):
            scene.invalidate_sketch()    # the zoomed-out drawing of all edges is stale now

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape.isEmpty():
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self._path)
        return self._shape

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self._tooltip()
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(_AA, lod >= 0.3)
        if lod < 0.3:
            pen = _PENS["far"]
        elif self.isSelected():
            pen = _PENS["selected"]
        elif self.hovered:
            pen = _PENS["hovered"]
        elif self.src_item.isSelected() or self.dst_item.isSelected():
            pen = _PENS["related"]       # the edges of the selected blocks stand out
        else:
            pen = _PENS["normal"]
        painter.setPen(pen)
        painter.setBrush(_NO_BRUSH)
        painter.drawPath(self._path)


def _make_pens() -> dict[str, QPen]:
    far = QPen(QColor(theme.EDGE), 1.0)
    far.setCosmetic(True)
    return {"normal": QPen(QColor(theme.EDGE), 1.8), "selected": QPen(QColor(theme.EDGE_SELECTED), 2.6),
            "hovered": QPen(QColor(theme.NODE_BORDER_HOVER).darker(115), 2.2), "far": far,
            "related": QPen(theme.tint(theme.SELECTION, 0.55), 2.0)}


_PENS = _make_pens()


class TieLinkItem(QGraphicsItem):
    """A dashed arc over two tied nodes, in their tie group's colour."""

    def __init__(self, node_item, target_item, color: QColor):
        super().__init__()
        self.node_item, self.target_item, self.color = node_item, target_item, QColor(color)
        self.setZValue(TIE_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._path = QPainterPath()
        self._bounds = QRectF()
        self.update_path()

    def update_path(self) -> None:
        a, b = self.target_item.top_center(), self.node_item.top_center()
        lift = 40.0 + min(abs(b.x() - a.x()), 1200.0) * 0.12
        top = min(a.y(), b.y()) - lift
        self.prepareGeometryChange()
        self._path = QPainterPath(a)
        self._path.cubicTo(QPointF(a.x(), top), QPointF(b.x(), top), b)
        self._bounds = self._path.controlPointRect().adjusted(-3, -3, 3, 3)

    def path(self) -> QPainterPath:
        return self._path

    def boundingRect(self) -> QRectF:
        return self._bounds

    def pen(self) -> QPen:
        pen = QPen(self.color, 1.8, Qt.PenStyle.DashLine)
        pen.setDashPattern([4.0, 3.0])
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        return pen

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self.pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        painter.setBrush(self.color)
        painter.setPen(Qt.PenStyle.NoPen)
        for p in (self._path.elementAt(0), self._path.elementAt(self._path.elementCount() - 1)):
            painter.drawEllipse(QPointF(p.x, p.y), 2.6, 2.6)
