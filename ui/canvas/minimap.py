"""The minimap: the whole definition in a corner of the canvas, with the part in view.

It draws the scene's sketch (cards and lines, no text) once per change of the
model into a pixmap, and on each pan or zoom only that pixmap and the visible
rectangle.  A click or a drag centres the view on that point.  It shows only
when part of the definition is out of view.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QWidget

from . import theme

SIZE = (200, 130)
MARGIN = 12
_PAD = 6.0


class Minimap(QWidget):
    """An overlay on ``view`` (object name ``"minimap"``): a child of the view, not of its
    viewport, which moves its children along when it scrolls."""

    def __init__(self, view):
        super().__init__(view)
        self.setObjectName("minimap")
        self.setToolTip("Overview: click or drag to move the view")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.resize(*SIZE)
        # Opaque: each pan repaints it, and nothing of the canvas under it needs painting too.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.view = view
        self._pixmap: QPixmap | None = None
        self._to_map = QTransform()
        scene = view.scene()
        for signal in (scene.model_changed, scene.check_applied, scene.shown):
            signal.connect(self.refresh)
        view.horizontalScrollBar().valueChanged.connect(self._view_moved)
        view.verticalScrollBar().valueChanged.connect(self._view_moved)
        view.zoom_changed.connect(self._view_moved)
        view.installEventFilter(self)
        self.refresh()

    # -- what is drawn ------------------------------------------------------------------------
    def refresh(self, *_) -> None:
        """The model changed: draw the sketch again (lazily, at the next paint)."""
        self._pixmap = None
        self._view_moved()

    def _view_moved(self, *_) -> None:
        self.setVisible(self._needed())
        self.update()

    def visible_scene_rect(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def _needed(self) -> bool:
        scene = self.view.scene()
        if scene is None:     # the canvas is being torn down
            return False
        bounds = scene.sketch().bounds()
        return not bounds.isEmpty() and not self.visible_scene_rect().contains(bounds)

    def _build(self) -> QPixmap:
        sketch = self.view.scene().sketch()
        bounds = sketch.bounds()
        area = QRectF(self.rect()).adjusted(_PAD, _PAD, -_PAD, -_PAD)
        scale = min(area.width() / max(bounds.width(), 1.0), area.height() / max(bounds.height(), 1.0))
        dx = area.left() + (area.width() - bounds.width() * scale) / 2 - bounds.left() * scale
        dy = area.top() + (area.height() - bounds.height() * scale) / 2 - bounds.top() * scale
        self._to_map = QTransform(scale, 0, 0, scale, dx, dy)
        dpr = self.devicePixelRatioF()
        pixmap = QPixmap(round(self.width() * dpr), round(self.height() * dpr))
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(QColor(theme.NODE_FILL))
        painter = QPainter(pixmap)
        painter.setWorldTransform(self._to_map)
        sketch.paint_shapes(painter)
        painter.end()
        return pixmap

    def to_map(self) -> QTransform:
        """From scene coordinates to the minimap's."""
        if self._pixmap is None:
            self._pixmap = self._build()
        return self._to_map

    def map_to_scene(self, pos: QPointF) -> QPointF:
        inverse, _ = self.to_map().inverted()
        return inverse.map(pos)

    def paintEvent(self, event) -> None:
        to_map = self.to_map()
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        visible = to_map.mapRect(self.visible_scene_rect()).intersected(QRectF(self.rect()))
        painter.setPen(QPen(QColor(theme.SELECTION), 1.5))
        fill = QColor(theme.SELECTION)
        fill.setAlpha(28)
        painter.setBrush(fill)
        painter.drawRect(visible)
        painter.setPen(QPen(QColor(theme.NODE_BORDER), 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))

    # -- moving the view ------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.view.centerOn(self.map_to_scene(event.position()))
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.map_to_scene(event.position()))
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        event.accept()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            size = watched.size()
            self.move(size.width() - self.width() - MARGIN, size.height() - self.height() - MARGIN)
            self._view_moved()
        return False
