"""The zoomed-out drawing of a whole definition, in a few batched calls.

Below ``SKETCH_BELOW`` zoom a block's own text is too small to read and one
Python ``paint`` per item is what makes a 10,000-block canvas slow.  There the
node and edge items step aside (transparent or hidden; see ``sketch_picking``
for how the mouse still reaches them) and the view draws this sketch instead: every card as a filled rectangle, grouped by colour
(one ``drawRects`` per colour), every edge as a straight line, or a routed one as its polyline (one
``drawLines``), and, like the labels of a map, each visible block's name or
type at a fixed on-screen size, written only where it fits.  The minimap draws
the same sketch without labels.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QTransform

from . import theme

SKETCH_BELOW = 0.5          # zoom under which the view draws the sketch: a block's own text is then under 6 px
LABEL_PX = 11               # the labels' on-screen size (pixels), whatever the zoom
SMALL_LABEL_PX = 9          # ... or this, for a name that does not fit at that size
LABEL_MIN_CARD_PX = 30.0    # no label on a card narrower than this on screen
TYPE_MIN_CARD_PX = 34.0     # the type goes under the name when the card is this tall on screen
_PROBLEM_BAND = theme.HEADER_HEIGHT * 0.6


class Sketch:
    """Cards, problem bands and lines of one definition's items, built once per change."""

    def __init__(self, nodes: dict, edges: dict):
        self._fills: dict[str, list[QRectF]] = defaultdict(list)
        self._bands: dict[str, list[QRectF]] = defaultdict(list)
        self.frames: list[QRectF] = []      # blocks expanded in place: a well under their cards
        boxes, self.ids = [], []
        self._labels: list[tuple[float, float, float, float]] = []
        self.titles, self.types = [], []
        self.lines = []
        for e in edges.values():
            route = e.points
            if len(route) > 2:      # routed through bends: its polyline
                self.lines.extend(QLineF(a, b) for a, b in zip(route, route[1:]))
            else:
                self.lines.append(QLineF(e.src_item.output_pos(e.src_port), e.dst_item.input_pos(e.dst_port)))
        for item in nodes.values():
            card = item.rect.translated(item.pos())
            self._card(item, card)
            boxes.append((card.left(), card.top(), card.right(), card.bottom()))
            self.ids.append(item.node_id)
            if item.inside is not None:
                self._inside(item)
        self.fills = [(QColor(color), rects) for color, rects in self._fills.items()]
        self.bands = [(QColor(color), rects) for color, rects in self._bands.items()]
        self.boxes = np.array(boxes, dtype=float).reshape(-1, 4)
        self.label_boxes = np.array(self._labels, dtype=float).reshape(-1, 4)
        self._image: QImage | None = None
        self._image_scale = (0.0, 1.0)
        self._image_origin = QPointF()

    def _card(self, item, card: QRectF) -> None:
        """A card (or, expanded, its header over a well) with its problem band and its label."""
        if item.inside is not None:
            self.frames.append(card)
            label = QRectF(card.left(), card.top(), card.width(), theme.HEADER_HEIGHT)
            self._fills[item.fill_name].append(label)
        else:
            label = card
            self._fills[item.fill_name].append(card)
        severity = item.status.severity
        if severity:
            self._bands[theme.ERROR if severity == "error" else theme.WARNING].append(
                QRectF(card.left(), card.top(), card.width(), _PROBLEM_BAND))
        self._labels.append((label.left(), label.top(), label.right(), label.bottom()))
        self.titles.append(item.look.title)
        self.types.append(item.look.type_name)

    def _inside(self, frame) -> None:
        """The cards and edges within an expanded block, in scene coordinates (not picked: a press
        there picks the block)."""
        for item in frame.inside.all_items():
            self._card(item, item.rect.translated(item.scenePos()))
        for edge in frame.inside.all_edges():
            parent = edge.parentItem()
            self.lines.append(QLineF(parent.mapToScene(edge.src_item.output_pos(edge.src_port)),
                                     parent.mapToScene(edge.dst_item.input_pos(edge.dst_port))))

    def bounds(self) -> QRectF:
        if not len(self.boxes):
            return QRectF()
        x0, y0 = float(self.boxes[:, 0].min()), float(self.boxes[:, 1].min())
        return QRectF(x0, y0, float(self.boxes[:, 2].max()) - x0, float(self.boxes[:, 3].max()) - y0)

    def node_at(self, point: QPointF) -> str | None:
        """The id of the card under ``point`` (the last drawn, so the topmost), or None."""
        b, x, y = self.boxes, point.x(), point.y()
        hits = np.nonzero((b[:, 0] <= x) & (x <= b[:, 2]) & (b[:, 1] <= y) & (y <= b[:, 3]))[0]
        return self.ids[int(hits[-1])] if len(hits) else None

    def nodes_in(self, rect: QRectF) -> list[str]:
        """Ids of the cards that ``rect`` (scene coordinates) touches."""
        b = self.boxes
        hits = np.nonzero((b[:, 2] >= rect.left()) & (b[:, 0] <= rect.right())
                          & (b[:, 3] >= rect.top()) & (b[:, 1] <= rect.bottom()))[0]
        return [self.ids[i] for i in hits.tolist()]

    def paint(self, painter: QPainter, exposed: QRectF) -> None:
        """Lines under cards under labels; ``exposed`` is in scene coordinates.  The lines and
        cards come from an image of the whole definition at this zoom, drawn once: a pan or a
        repaint then costs one blit however many blocks there are."""
        t = painter.worldTransform()
        device = painter.device()
        image = self._image_at(t.m11(), device.devicePixelRatioF(), 2 * device.width() * device.height())
        if image is None:
            self.paint_shapes(painter)
        else:
            painter.save()
            painter.setWorldTransform(QTransform())
            origin = t.map(self._image_origin)
            painter.drawImage(QPointF(round(origin.x()), round(origin.y())), image)
            painter.restore()
        self._paint_labels(painter, exposed)

    def _image_at(self, scale: float, dpr: float, max_pixels: int) -> QImage | None:
        """The lines and cards at ``scale`` (``dpr`` device pixels a pixel), or None when larger
        than ``max_pixels`` (zoomed in on a big graph, when most of it would be out of view)."""
        if self._image is not None and self._image_scale == (scale, dpr):
            return self._image
        bounds = self.bounds().adjusted(-2, -2, 2, 2)
        width, height = math.ceil(bounds.width() * scale), math.ceil(bounds.height() * scale)
        if bounds.isEmpty() or width * height > max_pixels:
            return None
        image = QImage(math.ceil(width * dpr), math.ceil(height * dpr), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(dpr)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setWorldTransform(QTransform.fromScale(scale, scale).translate(-bounds.left(), -bounds.top()))
        self.paint_shapes(painter)
        painter.end()
        self._image, self._image_scale, self._image_origin = image, (scale, dpr), bounds.topLeft()
        return image

    def paint_shapes(self, painter: QPainter) -> None:
        """Lines and cards only (the minimap)."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if self.frames:
            painter.setPen(_EDGE_PEN)
            painter.setBrush(_FRAME_FILL)
            painter.drawRects(self.frames)
        painter.setPen(_EDGE_PEN)
        painter.drawLines(self.lines)
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in self.fills:
            painter.setBrush(color)
            painter.drawRects(rects)
        for color, rects in self.bands:
            painter.setBrush(color)
            painter.drawRects(rects)

    def _paint_labels(self, painter: QPainter, exposed: QRectF) -> None:
        t = painter.worldTransform()
        scale = t.m11()
        if theme.NODE_WIDTH * scale < LABEL_MIN_CARD_PX or not len(self.label_boxes):
            return
        b = self.label_boxes
        shown = np.nonzero((b[:, 2] >= exposed.left()) & (b[:, 0] <= exposed.right())
                           & (b[:, 3] >= exposed.top()) & (b[:, 1] <= exposed.bottom()))[0]
        if not len(shown):
            return
        device = b[shown] * scale + (t.dx(), t.dy(), t.dx(), t.dy())
        painter.save()
        painter.setWorldTransform(QTransform())
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        text, muted = QColor(theme.TEXT), QColor(theme.TEXT_MUTED)
        center = Qt.AlignmentFlag.AlignCenter
        for i, (x0, y0, x1, y1) in zip(shown.tolist(), device.tolist()):
            width, height = x1 - x0 - 6, y1 - y0
            title, kind, size = fitted_label(self.titles[i], self.types[i], int(width))
            if not title:
                continue
            title_font, type_font = _fonts(size)
            two_lines = kind and height >= TYPE_MIN_CARD_PX
            middle = (y0 + y1) / 2 - (size * 0.6 if two_lines else 0)
            painter.setFont(title_font)
            painter.setPen(text)
            painter.drawText(QRectF(x0 + 3, middle - size, width, 2 * size), center, title)
            if two_lines:
                painter.setFont(type_font)
                painter.setPen(muted)
                painter.drawText(QRectF(x0 + 3, middle + 2, width, 2 * size), center, kind)
        painter.restore()


@lru_cache(maxsize=None)
def _fonts(size: int = LABEL_PX) -> tuple[QFont, QFont]:
    """The label's font and the type line's, ``size`` pixels high on screen."""
    title = QFont(theme.font("title"))
    title.setPixelSize(size)
    kind = QFont(theme.font("small"))
    kind.setPixelSize(size - 1)
    return title, kind


@lru_cache(maxsize=65536)
def fitted_label(title: str, type_name: str, width: int) -> tuple[str, str, int]:
    """(label, second line, pixel size) for a card ``width`` pixels wide: the name if it fits,
    else the type, first at the full size then a little smaller; else the name shortened (when
    at least three letters are left); else nothing."""
    for size in (LABEL_PX, SMALL_LABEL_PX):
        title_font, type_font = _fonts(size)
        m = QFontMetricsF(title_font)
        if m.horizontalAdvance(title) <= width:
            fits = type_name != title and QFontMetricsF(type_font).horizontalAdvance(type_name) <= width
            return title, type_name if fits else "", size
        if m.horizontalAdvance(type_name) <= width:
            return type_name, "", size
    short = QFontMetricsF(_fonts()[0]).elidedText(title, Qt.TextElideMode.ElideRight, width)
    return (short, "", LABEL_PX) if len(short) >= 4 else ("", "", LABEL_PX)


_FRAME_FILL = QColor(theme.BACKGROUND).darker(104)
_EDGE_PEN = QPen(QColor(theme.EDGE), 1.0)
_EDGE_PEN.setCosmetic(True)
