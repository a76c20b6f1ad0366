"""A node on the canvas: a rounded card with a tinted header, its key
hyperparameters, its parameter count, typed ports, and problem/tie badges.

The item is a plain view: the scene hands it a ``NodeLook`` (what the model
says) and a status (what the latest check says); it repaints only when one of
them really changes.  Its origin is the node's model position, on the line of
its first ports, so the edges of a chain run straight whatever the heights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from . import theme
from .badges import DiagnosticBadge, TieBadge
from .frame_paint import CHEVRON_W, paint_chevron, paint_frame_body
from .name_tag import NameTag
from .port_item import (CANDIDATE, INPUT, INVALID, LABEL_ALIGN, NORMAL, OUTPUT, VALID, PortRef, paint_port,
                        port_label_rect, port_y)

NODE_Z = 2.0
_MOVED = QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged
_SELECTED = QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged


@dataclass(frozen=True)
class NodeLook:
    """Everything the model says about how one node looks."""

    type_name: str
    title: str
    subtitle: str
    category: str
    icon: str
    params: tuple[tuple[str, str], ...] = ()
    inputs: tuple[str, ...] = ("in",)
    outputs: tuple[str, ...] = ("out",)
    has_stats: bool = False          # reserve a line for the parameter count
    untitled: bool = False           # no name: the title is a placeholder
    disabled: bool = False           # an untrusted code block
    description: str = ""
    expandable: bool = False         # a Block or Sequential whose definition exists: can show its insides


@dataclass
class NodeStatus:
    """What the latest check says about the node."""

    stats: str = ""
    severity: str | None = None
    messages: tuple[str, ...] = field(default_factory=tuple)


class NodeItem(QGraphicsItem):
    Type = QGraphicsItem.UserType + 1
    moving_many = False     # set while thousands of nodes move at once (see ``Expansion.make_room``)

    def __init__(self, node_id: str, look: NodeLook, inner: bool = False):
        super().__init__()
        self.node_id = node_id
        self.look = look
        self.inner = inner               # a card inside an expanded block: read-only, not selectable
        self.inside = None               # expanded in place: the ``Inside`` drawn within this frame
        self._tip_written = False
        self.cache_mode = QGraphicsItem.CacheMode.NoCache
        self.status = NodeStatus()
        self.edges: set = set()          # EdgeItems attached (kept by the scene)
        self.tie_links: set = set()
        self.port_states: dict[tuple[str, str], int] = {}
        self.hovered = False
        self.badge: DiagnosticBadge | None = None
        self.tie_badge: TieBadge | None = None
        self.name_tag: NameTag | None = None
        self.sketched = False            # zoomed out: the view's sketch draws this node, unless picked
        self.awake = False               # zoomed out, under the mouse: an item again, for Qt to hit
        if inner:
            self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)   # a press goes to the frame
        else:
            self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                          | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                          | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(NODE_Z)
        self._layout()

    def type(self) -> int:
        return NodeItem.Type

    # -- geometry ----------------------------------------------------------------------
    def _layout(self) -> None:
        look = self.look
        body_lines = 1 + len(look.params) + (1 if look.has_stats else 0)
        lines = max(body_lines, len(look.inputs), len(look.outputs), 1)
        self.collapsed_height = theme.HEADER_HEIGHT + 2 * theme.BODY_PAD + lines * theme.LINE_HEIGHT
        if self.inside is not None:
            self.width, self.height = self.inside.size
        else:
            self.width, self.height = theme.NODE_WIDTH, self.collapsed_height
        self.top = -theme.PORT_TOP
        self.rect = QRectF(-theme.NODE_WIDTH / 2, self.top, self.width, self.height)   # grows right when expanded
        m = theme.metrics("small")
        self.in_label_w = max((m.horizontalAdvance(p) for p in look.inputs), default=0) if len(look.inputs) > 1 else 0
        self.out_label_w = max((m.horizontalAdvance(p) for p in look.outputs), default=0) if len(look.outputs) > 1 else 0
        self._bounds = self.rect.adjusted(-theme.PORT_RADIUS - 4, -4, theme.PORT_RADIUS + 4, 6)
        self.fill_name = sketch_fill(look.category)
        if self._tip_written:    # else written when first needed: 10,000 blocks need not all have one ready
            self.setToolTip(self._tooltip())
        if self.name_tag is not None:
            self.name_tag.set_text(look.title)
            self.name_tag.setPos(0, self.top)
        self._update_presence()
        self._place_badges()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.rect, theme.CORNER, theme.CORNER)
        return path

    def input_pos(self, port: str) -> QPointF:
        """Scene position of an input port (the node's left middle if the port is gone).
        A node is never scaled nor rotated: its position plus the port's offset, which costs
        far less than ``mapToScene`` (14 µs a call while 10,000 edges are built)."""
        try:
            i = self.look.inputs.index(port)
        except ValueError:
            i = 0
        pos = self.pos()
        return QPointF(pos.x() + self.rect.left(), pos.y() + port_y(i))

    def output_pos(self, port: str) -> QPointF:
        try:
            i = self.look.outputs.index(port)
        except ValueError:
            i = 0
        pos = self.pos()
        return QPointF(pos.x() + self.rect.right(), pos.y() + port_y(i))

    def port_pos(self, ref: PortRef) -> QPointF:
        return self.output_pos(ref.name) if ref.is_output else self.input_pos(ref.name)

    def ports(self) -> list[PortRef]:
        return ([PortRef(self.node_id, INPUT, p) for p in self.look.inputs]
                + [PortRef(self.node_id, OUTPUT, p) for p in self.look.outputs])

    def port_at(self, scene_pos: QPointF, radius: float = theme.PORT_HIT_RADIUS) -> PortRef | None:
        """The port within ``radius`` of ``scene_pos``, nearest first."""
        best, best_d = None, radius * radius
        for ref in self.ports():
            d = self.port_pos(ref) - scene_pos
            dist = d.x() * d.x() + d.y() * d.y()
            if dist <= best_d:
                best, best_d = ref, dist
        return best

    def chevron_rect(self) -> QRectF:
        """The expand/collapse arrow in the header (item coordinates); empty when not expandable."""
        if not self.look.expandable:
            return QRectF()
        return QRectF(self.rect.right() - CHEVRON_W, self.rect.top(), CHEVRON_W, theme.HEADER_HEIGHT)

    def chevron_at(self, scene_pos: QPointF) -> bool:
        return self.chevron_rect().contains(self.mapFromScene(scene_pos))

    def top_center(self) -> QPointF:
        return self.mapToScene(QPointF(0, self.top))

    # -- model updates ---------------------------------------------------------------------
    def set_look(self, look: NodeLook) -> bool:
        if look == self.look:
            return False
        old_ports = (self.look.inputs, self.look.outputs)
        self.prepareGeometryChange()
        self.look = look
        self._layout()
        self.update()
        if (look.inputs, look.outputs) != old_ports:
            for edge in list(self.edges):
                edge.update_path()
        return True

    def set_inside(self, inside) -> None:
        """Show ``inside`` within this node, grown into a frame (None: a card again)."""
        if inside is None and self.inside is None:
            return
        self._drop_inside()
        self.prepareGeometryChange()
        self.inside = inside
        self._layout()
        self.update()
        for edge in list(self.edges):
            edge.update_path()

    def _drop_inside(self) -> None:
        scene, inside = self.scene(), self.inside
        if inside is None or scene is None:
            return
        for edge in inside.edges.values():
            scene.removeItem(edge.label)
            scene.removeItem(edge)
        for item in inside.nodes.values():
            scene.removeItem(item)     # its own insides go with it: they are its children

    def set_status(self, status: NodeStatus) -> bool:
        if status == self.status:
            return False
        old = self.status
        self.status = status
        if status.stats != old.stats:
            self.update()
        if (status.severity, status.messages) != (old.severity, old.messages):
            if status.severity is None:
                if self.badge is not None:
                    self.badge.setParentItem(None)
                    if self.scene() is not None:
                        self.scene().removeItem(self.badge)
                    self.badge = None
            elif self.badge is None:
                self.badge = DiagnosticBadge(self, status.severity, list(status.messages))
            else:
                self.badge.set_messages(status.severity, list(status.messages))
            self._place_badges()
            self._write_tooltip()
        return True

    def set_tie(self, color: QColor | None, tooltip: str = "") -> None:
        if color is None:
            if self.tie_badge is not None:
                self.tie_badge.setParentItem(None)
                if self.scene() is not None:
                    self.scene().removeItem(self.tie_badge)
                self.tie_badge = None
            return
        if self.tie_badge is None:
            self.tie_badge = TieBadge(self, color, tooltip)
        else:
            self.tie_badge.set_tie(color, tooltip)
        self._place_badges()

    def set_port_state(self, ref: PortRef, state: int) -> None:
        key = (ref.kind, ref.name)
        if self.port_states.get(key, NORMAL) != state:
            if state == NORMAL:
                self.port_states.pop(key, None)
            else:
                self.port_states[key] = state
            self.update()

    def use_cache(self, mode: QGraphicsItem.CacheMode) -> None:
        """Qt's picture cache for this node (a call into Qt only when it changes)."""
        if mode != self.cache_mode:
            self.cache_mode = mode
            self.setCacheMode(mode)

    def set_sketched(self, sketched: bool) -> None:
        if sketched != self.sketched:
            self.sketched = sketched
            self._update_presence()

    def set_awake(self, awake: bool) -> None:
        if awake != self.awake:
            self.awake = awake
            self._update_presence()

    def _update_presence(self) -> None:
        """Zoomed out, drawn by the sketch (the item transparent) unless selected, hovered or
        woken by the mouse; such a picked node shows its name in a tag of readable size."""
        picked = self.isSelected() or self.hovered or self.awake
        shown = not self.sketched or picked
        self.setOpacity((0.5 if self.look.disabled else 1.0) if shown else 0.0)
        if self.sketched and picked:
            if self.name_tag is None:
                self.name_tag = NameTag(self, self.look.title)
                self.name_tag.setPos(0, self.top)
            self.name_tag.show()
        elif self.name_tag is not None:
            self.name_tag.hide()

    def _place_badges(self) -> None:
        if self.badge is not None:
            self.badge.setPos(self.rect.right() - 3, self.rect.top() + 3)
        if self.tie_badge is not None:
            self.tie_badge.setPos(self.rect.left() + 3, self.rect.top() + 3)

    def _tooltip(self) -> str:
        look = self.look
        lines = [f"<b>{_html(look.title) or '(unnamed)'}</b> — {_html(look.subtitle)}"]
        if look.description:
            lines.append(f"<span style='color:{theme.TEXT_MUTED}'>{_html(look.description)}</span>")
        for m in self.status.messages if self.status.severity else ():
            color = theme.ERROR if self.status.severity == "error" else theme.WARNING
            lines.append(f"<span style='color:{color}'>{_html(m)}</span>")
        return "<br>".join(lines)

    # -- Qt ----------------------------------------------------------------------------------
    def itemChange(self, change, value):
        # Called for every change of every item (flags, tooltip, scene...): compare cheaply.
        if change == _MOVED:
            if NodeItem.moving_many:
                return value          # the mover updates the edges once each afterwards
            if self.sketched and self.scene() is not None:
                self.scene().invalidate_sketch()
            for edge in self.edges:
                edge.update_path()
            for link in self.tie_links:
                link.update_path()
        elif change == _SELECTED:
            self.setZValue(NODE_Z + (0.5 if value else 0.0))
            self._update_presence()
            for edge in self.edges:
                edge.update()
        return value   # what QGraphicsItem.itemChange returns, without a call into Qt

    def _write_tooltip(self) -> None:
        self._tip_written = True
        self.setToolTip(self._tooltip())

    def hoverEnterEvent(self, event) -> None:
        self._write_tooltip()
        self.hovered = True
        self._update_presence()
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self._update_presence()
        self.update()
        super().hoverLeaveEvent(event)

    def hoverMoveEvent(self, event) -> None:
        ref = self.port_at(event.scenePos(), theme.PORT_RADIUS + 4)
        if ref is not None:
            scene = self.scene()
            shape = scene.port_shape_text(ref) if hasattr(scene, "port_shape_text") else ""
            self.setToolTip(f"{'output' if ref.is_output else 'input'} <b>{_html(ref.name)}</b>"
                            + (f": {shape}" if shape else ""))
        else:
            self.setToolTip(self._tooltip())
        super().hoverMoveEvent(event)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        look, rect = self.look, self.rect
        color = theme.category_color(look.category)
        selected = self.isSelected()
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if lod < 0.3:  # far away: a coloured card is all one can see
            painter.setPen(QPen(QColor(theme.SELECTION), 3 / max(lod, 0.01)) if selected else Qt.PenStyle.NoPen)
            painter.setBrush(theme.tint(color, 0.35))
            painter.drawRoundedRect(rect, theme.CORNER, theme.CORNER)
            if self.status.severity:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(theme.ERROR if self.status.severity == "error" else theme.WARNING))
                painter.drawRect(QRectF(rect.left(), rect.top(), rect.width(), theme.HEADER_HEIGHT))
            return

        # Shadow, card, header.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.SHADOW)
        painter.drawRoundedRect(rect.translated(0, 2.0).adjusted(-0.5, 0, 0.5, 0.5), theme.CORNER + 1, theme.CORNER + 1)
        card = QPainterPath()
        card.addRoundedRect(rect, theme.CORNER, theme.CORNER)
        painter.fillPath(card, QColor(theme.NODE_FILL))
        header = QRectF(rect.left(), rect.top(), rect.width(), theme.HEADER_HEIGHT)
        painter.save()
        painter.setClipPath(card)
        painter.fillRect(header, theme.tint(color, 0.13))
        painter.fillRect(QRectF(rect.left(), rect.top(), rect.width(), 3.0), color)
        painter.fillRect(QRectF(rect.left(), header.bottom() - 1, rect.width(), 1.0), theme.tint(color, 0.22))
        painter.restore()
        if selected:
            painter.setPen(QPen(QColor(theme.SELECTION), 2.0))
        elif self.hovered:
            painter.setPen(QPen(QColor(theme.NODE_BORDER_HOVER), 1.2))
        else:
            painter.setPen(QPen(QColor(theme.NODE_BORDER), 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, theme.CORNER, theme.CORNER)
        if selected:
            glow = QColor(theme.SELECTION)
            glow.setAlpha(45)
            painter.setPen(QPen(glow, 3.0))
            painter.drawRoundedRect(rect.adjusted(-2.5, -2.5, 2.5, 2.5), theme.CORNER + 2, theme.CORNER + 2)

        # Icon and title.
        pad = 10.0
        icon_size = 16
        dpr = max(painter.device().devicePixelRatioF() if painter.device() else 1.0, 1.0)
        pm = theme.icon_pixmap(look.icon, color.name(), icon_size, dpr * max(lod, 1.0))
        icon_rect = QRectF(rect.left() + pad, header.center().y() - icon_size / 2 + 1, icon_size, icon_size)
        painter.drawPixmap(icon_rect, pm, QRectF(pm.rect()))
        title_x = icon_rect.right() + 6
        title_w = rect.right() - pad - title_x - (10 if self.badge is not None else 0) \
            - (CHEVRON_W - 4 if look.expandable else 0)
        painter.setFont(theme.font("title"))
        painter.setPen(QColor(theme.TEXT_FAINT if look.untitled else theme.TEXT))
        painter.drawText(QRectF(title_x, header.top() + 2, title_w, header.height() - 2),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         theme.elide(look.title, "title", title_w))

        if look.expandable:
            paint_chevron(painter, self.chevron_rect(), expanded=self.inside is not None)
        if self.inside is not None:
            paint_frame_body(self, painter, header, title_x + theme.metrics("title").horizontalAdvance(
                theme.elide(look.title, "title", title_w)) + 8)
            self._paint_ports(painter, color)
            return

        # Body lines: subtitle, key hyperparameters, parameter count.
        left = rect.left() + pad + (self.in_label_w + 8 if self.in_label_w else 0)
        right = rect.right() - pad - (self.out_label_w + 8 if self.out_label_w else 0)
        width = max(right - left, 10.0)
        y = header.bottom() + theme.BODY_PAD
        lh = theme.LINE_HEIGHT
        vcenter = Qt.AlignmentFlag.AlignVCenter
        painter.setFont(theme.font("body"))
        painter.setPen(QColor(theme.TEXT_MUTED))
        painter.drawText(QRectF(left, y, width, lh), Qt.AlignmentFlag.AlignLeft | vcenter,
                         theme.elide(look.subtitle, "body", width))
        y += lh
        for key, value in look.params:
            key_w = min(theme.metrics("body").horizontalAdvance(key), width * 0.6)
            painter.setPen(QColor(theme.TEXT_MUTED))
            painter.drawText(QRectF(left, y, key_w, lh), Qt.AlignmentFlag.AlignLeft | vcenter,
                             theme.elide(key, "body", key_w))
            painter.setPen(QColor(theme.TEXT))
            value_w = width - key_w - 6
            painter.drawText(QRectF(right - value_w, y, value_w, lh), Qt.AlignmentFlag.AlignRight | vcenter,
                             theme.elide(value, "body", value_w))
            y += lh
        if look.has_stats:
            painter.setFont(theme.font("small"))
            painter.setPen(QColor(theme.TEXT_FAINT))
            painter.drawText(QRectF(left, y, width, lh), Qt.AlignmentFlag.AlignLeft | vcenter,
                             theme.elide(self.status.stats or "…", "small", width))

        self._paint_ports(painter, color)

    def _paint_ports(self, painter: QPainter, color: QColor) -> None:
        """Ports, with their names when there are several."""
        look, rect = self.look, self.rect
        connected_in = {e.dst_port for e in self.edges if e.dst_item is self}
        connected_out = {e.src_port for e in self.edges if e.src_item is self}
        painter.setFont(theme.font("small"))
        for kind, names, x, connected, label_w in ((INPUT, look.inputs, rect.left(), connected_in, self.in_label_w),
                                                   (OUTPUT, look.outputs, rect.right(), connected_out,
                                                    self.out_label_w)):
            for i, name in enumerate(names):
                center = QPointF(x, port_y(i))
                state = self.port_states.get((kind, name), NORMAL)
                if label_w:
                    painter.setPen(QColor(theme.TEXT_MUTED))
                    painter.drawText(port_label_rect(center, label_w, kind == OUTPUT), LABEL_ALIGN[kind == OUTPUT],
                                     name)
                paint_port(painter, center, color, name in connected, state)


@lru_cache(maxsize=None)
def sketch_fill(category: str) -> str:
    """The card's colour zoomed out (the sketch): its category's, light enough for black text."""
    return theme.tint(theme.category_color(category), 0.35).name()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["CANDIDATE", "INVALID", "NODE_Z", "NodeItem", "NodeLook", "NodeStatus", "VALID"]
