"""The canvas view: zoom (wheel, under the mouse), pan (middle button or Space +
drag), a subtle grid, palette drops, and the gestures that edit the graph."""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmapCache
from PySide6.QtWidgets import QFrame, QGraphicsView, QLabel

from ui.document.commands import MoveNodes
from ui.document.mime import BLOCK_MIME

from . import keyboard, theme
from .edge_item import EdgeItem
from .gestures import Gesture, MoveGesture, NewLinkGesture, PanGesture
from .node_item import NodeItem
from .sketch_picking import SketchPicking


PIXMAP_CACHE_KB = 96 * 1024
_NUDGE = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}


class CanvasView(QGraphicsView):
    """The node editor's view (object name ``"canvas"``)."""

    zoom_changed = Signal(float)           # the view's scale, 1.0 = 100 %
    node_activated = Signal(str)                      # double-click on a node
    inner_activated = Signal(tuple, str, str)         # double-click on a card inside an expanded block
    context_menu_requested = Signal(QPoint, object)   # global position, node id or None
    block_dropped = Signal(str, QPointF)              # block type name, scene position

    MIN_ZOOM, MAX_ZOOM = 0.05, 4.0
    STEP = 1.25

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setObjectName("canvas")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.space_held = False
        self.keyboard_block: str | None = None   # the block Tab went to: it has the focus ring
        self._gesture: Gesture | None = None
        self._hint = QLabel(self.viewport())
        self._hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._hint.hide()
        self._hint_timer = QTimer(self, singleShot=True, interval=2500)
        self._hint_timer.timeout.connect(self._hint.hide)
        self.picking = SketchPicking(self)
        # Under 100 % each node keeps its picture (ItemCoordinateCache, ~70 kB): Qt's default
        # 10 MB of pixmap cache would hold only a screenful of them.
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        self.zoom_changed.connect(scene.set_zoom_level)
        scene.rebuilding.connect(self.cancel_gesture)
        scene.rebuilding.connect(self.picking.forget)
        scene.selectionChanged.connect(self._repaint_focus_ring)

    # -- zoom -------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, value: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``value`` keeping the scene point under ``anchor`` (view coords) in place."""
        value = min(max(value, min(self.MIN_ZOOM, self.zoom())), self.MAX_ZOOM)
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        before = self.mapToScene(anchor.toPoint())
        factor = value / self.zoom()
        if abs(factor - 1.0) < 1e-9:
            return
        self.scale(factor, factor)
        after = self.mapFromScene(before)
        delta = after - anchor.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + delta.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + delta.y())
        self.zoom_changed.emit(self.zoom())

    def pan_by(self, delta: QPointF) -> None:
        """Scroll the view by ``delta`` viewport pixels (keys, the minimap, benchmarks)."""
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(delta.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(delta.y()))

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * factor, anchor)

    def zoom_in(self) -> None:
        self.zoom_by(self.STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / self.STEP)

    def fit_rect(self, rect: QRectF, max_zoom: float = 1.0) -> None:
        """Show ``rect`` whole, at no more than ``max_zoom``."""
        if rect.isEmpty():
            return
        vp = self.viewport().rect()
        margin = min(40, vp.width() // 8, vp.height() // 8)
        width, height = max(vp.width() - 2 * margin, 10), max(vp.height() - 2 * margin, 10)
        z = min(width / rect.width(), height / rect.height(), max_zoom)
        self.resetTransform()
        self.scale(z, z)
        self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(math.pow(1.0015, delta), event.position())
        event.accept()

    # -- background grid ----------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor(theme.BACKGROUND))
        zoom = self.zoom()
        if not zoom > 0:
            return
        step = float(theme.GRID_DRAWN)
        while step * zoom < 12:
            step *= 5
        major = step * 5
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for spacing, color in ((step, theme.GRID_LINE), (major, theme.GRID_LINE_MAJOR)):
            if spacing * zoom < 12:
                continue
            left = math.floor(rect.left() / spacing) * spacing
            top = math.floor(rect.top() / spacing) * spacing
            lines = []
            x = left
            while x <= rect.right():
                lines.append(QLineF(x, rect.top(), x, rect.bottom()))
                x += spacing
            y = top
            while y <= rect.bottom():
                lines.append(QLineF(rect.left(), y, rect.right(), y))
                y += spacing
            pen = QPen(QColor(color), 0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawLines(lines)
        scene = self.scene()
        if scene.sketched:   # zoomed out: every node and edge in a few calls, under the picked items
            scene.sketch().paint(painter, rect)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        keyboard.paint_focus_ring(self, painter)

    def _repaint_focus_ring(self) -> None:
        if self.keyboard_block is not None:
            self.viewport().update()

    # -- hints -------------------------------------------------------------------------------------
    def show_hint(self, text: str, error: bool = False) -> None:
        """A small message at the bottom of the canvas (why a link is refused, say)."""
        if not text:
            if not self._hint_timer.isActive():
                self._hint.hide()
            return
        color = theme.ERROR if error else theme.TEXT
        self._hint.setStyleSheet(f"QLabel {{ background: rgba(255,255,255,235); color: {color};"
                                 f" border: 1px solid {theme.NODE_BORDER}; border-radius: 10px;"
                                 " padding: 4px 12px; }")
        self._hint.setText(text)
        self._hint.adjustSize()
        vp = self.viewport().rect()
        self._hint.move(vp.center().x() - self._hint.width() // 2, vp.bottom() - self._hint.height() - 14)
        self._hint.show()
        self._hint.raise_()
        if error:
            self._hint_timer.start()
        else:
            self._hint_timer.stop()

    @property
    def hint_text(self) -> str:
        return self._hint.text() if self._hint.isVisible() else ""

    # -- mouse: gestures ---------------------------------------------------------------------------
    @property
    def gesture(self) -> Gesture | None:
        return self._gesture

    def mousePressEvent(self, event) -> None:
        if self._gesture is not None:
            event.accept()
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self.keyboard_block is not None:   # the mouse took over: no focus ring
            self.keyboard_block = None
            self.viewport().update()
        button = event.button()
        scene = self.scene()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self.space_held):
            self._gesture = PanGesture(self, event)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton:
            self.picking.press(event.position().toPoint())
            pos = self.mapToScene(event.position().toPoint())
            # Zoomed out to a sketch a press picks a block: its ports are smaller than a pixel.
            hit = None if scene.sketched else scene.port_at(
                pos, max(theme.PORT_HIT_RADIUS, 8 / max(self.zoom(), 0.01)) if self.zoom() < 1 else theme.PORT_HIT_RADIUS)
            if hit is not None:
                self._gesture = NewLinkGesture(self, *hit)
                event.accept()
                return
            mods = event.modifiers()
            toggle = mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
            node = scene.node_at(pos)
            if node is not None and not toggle and not scene.sketched and node.chevron_at(pos):
                scene.toggle_expanded(node.node_id)
                event.accept()
                return
            if toggle and node is not None:
                node.setSelected(not node.isSelected())
                event.accept()
                return
            super().mousePressEvent(event)
            if node is not None and node.isSelected():
                self._gesture = MoveGesture(self)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        gesture = self._gesture
        if gesture is not None and not isinstance(gesture, MoveGesture):
            gesture.move(event)
            event.accept()
            return
        if gesture is None and not event.buttons():
            self.picking.wake_at(event.position().toPoint())
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        gesture = self._gesture
        if gesture is None:
            super().mouseReleaseEvent(event)
            self.picking.finish_band()
            return
        if isinstance(gesture, MoveGesture):
            super().mouseReleaseEvent(event)
        if isinstance(gesture, PanGesture) and event.button() not in (Qt.MouseButton.MiddleButton,
                                                                       Qt.MouseButton.LeftButton):
            return
        self._gesture = None
        gesture.release(event)
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        scene, pos = self.scene(), self.mapToScene(event.position().toPoint())
        node = scene.node_at(pos)
        if node is not None and event.button() == Qt.MouseButton.LeftButton and not scene.sketched:
            if node.chevron_at(pos):             # a quick second click on the arrow
                scene.toggle_expanded(node.node_id)
                event.accept()
                return
            inner = scene.inner_at(pos)
            if inner is not None:
                self.inner_activated.emit(*inner)
                event.accept()
                return
        if node is not None and event.button() == Qt.MouseButton.LeftButton:
            self.node_activated.emit(node.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def cancel_gesture(self) -> None:
        if self._gesture is not None:
            gesture, self._gesture = self._gesture, None
            gesture.cancel()

    def contextMenuEvent(self, event) -> None:
        scene = self.scene()
        pos = self.mapToScene(event.pos())
        node = scene.node_at(pos)
        if node is not None:
            if not node.isSelected():
                scene.select_nodes([node.node_id])
            self.context_menu_requested.emit(event.globalPos(), node.node_id)
        else:
            edge = next((i for i in scene.items(pos) if isinstance(i, EdgeItem)), None)
            if edge is not None and not edge.isSelected():
                scene.clearSelection()
                edge.setSelected(True)
            self.context_menu_requested.emit(event.globalPos(), None)
        event.accept()

    # -- keys --------------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.space_held = True
            if self._gesture is None:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            if self._gesture is not None:
                self.cancel_gesture()
            else:
                self.scene().clearSelection()
            event.accept()
            return
        if event.key() in _NUDGE and self._gesture is None:
            big = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if self.nudge(*_NUDGE[event.key()], big=big):
                event.accept()
                return
        super().keyPressEvent(event)

    def nudge(self, dx: int, dy: int, big: bool = False) -> bool:
        """Move the selected nodes one grid step (five with Shift) as one undo step; False if none."""
        scene = self.scene()
        ids = scene.selected_node_ids()
        if not ids:
            return False
        step = theme.GRID * (5 if big else 1)
        d = scene.model
        moves = {i: (d.nodes[i].position, (d.nodes[i].position[0] + dx * step, d.nodes[i].position[1] + dy * step))
                 for i in ids if i in d.nodes}
        scene.controller.push(MoveNodes(scene.controller.document, scene.definition, moves))
        return True

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.space_held = False
            if not isinstance(self._gesture, PanGesture):
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self._repaint_focus_ring()

    def focusOutEvent(self, event) -> None:
        self.space_held = False
        super().focusOutEvent(event)
        self._repaint_focus_ring()

    # -- drops from the palette ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        data = event.mimeData()
        if not data.hasFormat(BLOCK_MIME):
            event.ignore()
            return
        type_name = bytes(data.data(BLOCK_MIME)).decode("utf-8").strip()
        event.acceptProposedAction()
        self.block_dropped.emit(type_name, self.mapToScene(event.position().toPoint()))

    def node_item(self, node_id: str) -> NodeItem | None:
        return self.scene().nodes.get(node_id)
