"""Mouse gestures as small state objects (the Orange canvas way): the view starts
one on a press, feeds it the moves, and lets it finish on the release.

* ``NewLinkGesture``: drag from a port to a port of the other kind to connect
  them; from a connected input, the existing edge is picked up to re-route it.
* ``MoveGesture``: a drag of the selected nodes, pushed as one undo step on
  release, snapped to the grid.
* ``PanGesture``: middle button, or Space + left button.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from ui.document.commands import Connect, Disconnect, MoveNodes

from . import theme
from .edge_item import link_path
from .node_item import NodeItem
from .port_item import CANDIDATE, INVALID, NORMAL, VALID, PortRef


def flow_closure(d, start: str, downstream: bool, ignore: str | None = None) -> set[str]:
    """``start`` and every node downstream (or upstream) of it."""
    nxt: dict[str, list[str]] = {}
    for e in d.edges.values():
        if e.id != ignore:
            a, b = (e.src, e.dst) if downstream else (e.dst, e.src)
            nxt.setdefault(a, []).append(b)
    seen, stack = set(), [start]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(nxt.get(n, ()))
    return seen


def link_candidates(scene, anchor: PortRef, ignore: str | None = None) -> list[tuple[NodeItem, PortRef]]:
    """The free ports of the other kind ``anchor`` may connect to without closing a cycle
    (the mouse's drag and the keyboard's connect mode offer the same ones)."""
    d = scene.model
    occupied = {(e.dst, e.dst_port) for e in d.edges.values() if e.id != ignore}
    # Nodes that would close a cycle: upstream of a fixed output, downstream of a fixed input.
    forbidden = flow_closure(d, anchor.node_id, downstream=not anchor.is_output, ignore=ignore)
    found = []
    for item in scene.nodes.values():
        if item.node_id in forbidden:
            continue
        for ref in item.ports():
            if ref.is_output == anchor.is_output:
                continue
            dst = anchor if not anchor.is_output else ref
            if (dst.node_id, dst.name) not in occupied:
                found.append((item, ref))
    return found


def link_preview() -> QGraphicsPathItem:
    """The dashed line of a link being made, over the edges."""
    item = QGraphicsPathItem()
    pen = QPen(QColor(theme.SELECTION), 2.0, Qt.PenStyle.DashLine)
    pen.setDashPattern([5.0, 3.0])
    item.setPen(pen)
    item.setZValue(10)
    return item


def snap(value: float, step: float = theme.GRID) -> float:
    return round(value / step) * step


class Gesture:
    """Base: a gesture receives the view's mouse events until it says it is done."""

    def __init__(self, view):
        self.view = view
        self.scene = view.scene()

    def move(self, event) -> None:
        pass

    def release(self, event) -> None:
        pass

    def cancel(self) -> None:
        pass


class PanGesture(Gesture):
    def __init__(self, view, event):
        super().__init__(view)
        self.last = event.position()
        view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, event) -> None:
        delta = event.position() - self.last
        self.last = event.position()
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() - round(delta.x()))
        v.setValue(v.value() - round(delta.y()))

    def release(self, event) -> None:
        self.cancel()

    def cancel(self) -> None:
        if self.view.space_held:
            self.view.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.view.viewport().unsetCursor()


class MoveGesture(Gesture):
    """Remembers where the selected nodes were; on release, one ``MoveNodes`` step."""

    def __init__(self, view):
        super().__init__(view)
        self.start = {node_id: QPointF(item.pos()) for node_id, item in self.scene.nodes.items()
                      if item.isSelected()}

    def release(self, event=None) -> None:
        scene, doc = self.scene, self.scene.document
        d = scene.model
        moves = {}
        frames = [i for i in self.start if scene.is_expanded(i)]   # they make no room for their own new place
        for node_id, start in self.start.items():
            item, node = scene.nodes.get(node_id), d.nodes.get(node_id)
            if item is None or node is None or item.pos() == start:
                continue
            x, y = scene.model_position(item.pos(), frames)
            new = (snap(x), snap(y))
            if new != node.position:
                moves[node_id] = (node.position, new)
        if moves:
            scene.controller.push(MoveNodes(doc, scene.definition, moves))
        # Whatever was not pushed (a tiny drag that snapped back) returns to the model's place.
        for node_id in self.start:
            item, node = scene.nodes.get(node_id), d.nodes.get(node_id)
            if item is not None and node is not None and item.pos() != scene.place(node.position):
                item.setPos(scene.place(node.position))

    def cancel(self) -> None:
        for node_id, start in self.start.items():
            if node_id in self.scene.nodes:
                self.scene.nodes[node_id].setPos(start)


class NewLinkGesture(Gesture):
    """Drag a new edge; valid targets light up green, refused ones red."""

    def __init__(self, view, item: NodeItem, ref: PortRef):
        super().__init__(view)
        scene = self.scene
        self.detached = None            # the EdgeItem picked up from a connected input
        if not ref.is_output and scene.edge_into(ref) is not None:
            self.detached = scene.edge_into(ref)
            self.detached.setVisible(False)
            self.detached.label.setVisible(False)
            self.anchor = PortRef(self.detached.src_item.node_id, "output", self.detached.src_port)
        else:
            self.anchor = ref
        self.anchor_item = scene.nodes[self.anchor.node_id]
        self.ignore = self.detached.edge_id if self.detached else None
        self.target: tuple[NodeItem, PortRef] | None = None
        self.problem: str | None = None
        self.temp = link_preview()
        scene.addItem(self.temp)
        self.anchor_item.set_port_state(self.anchor, VALID)
        self._candidates: list[tuple[NodeItem, PortRef]] = []
        self._candidate_refs: set[PortRef] = set()
        self._mark_candidates()
        self._draw(self.anchor_item.port_pos(self.anchor))

    # which end is which
    def _ends(self, other: PortRef) -> tuple[PortRef, PortRef]:
        return (self.anchor, other) if self.anchor.is_output else (other, self.anchor)

    def _mark_candidates(self) -> None:
        """Light up every port the anchor may connect to (computed once per drag)."""
        for item, ref in link_candidates(self.scene, self.anchor, self.ignore):
            item.set_port_state(ref, CANDIDATE)
            self._candidates.append((item, ref))
            self._candidate_refs.add(ref)

    def _draw(self, end: QPointF) -> None:
        start = self.anchor_item.port_pos(self.anchor)
        path: QPainterPath = link_path(start, end) if self.anchor.is_output else link_path(end, start)
        self.temp.setPath(path)

    def move(self, event) -> None:
        pos = self.view.mapToScene(event.position().toPoint())
        hit = self.scene.port_at(pos)
        if hit is not None and hit[1] == self.anchor:
            hit = None
        if self.target is not None and (hit is None or hit[1] != self.target[1]):
            item, ref = self.target
            item.set_port_state(ref, CANDIDATE if ref in self._candidate_refs else NORMAL)
            self.target, self.problem = None, None
        if hit is not None and self.target is None:
            item, ref = hit
            self.problem = self.scene.link_problem(*self._ends(ref), ignore_edge=self.ignore) \
                if ref.is_output != self.anchor.is_output else "Connect an output to an input."
            item.set_port_state(ref, INVALID if self.problem else VALID)
            self.target = hit
            self.view.show_hint(self.problem or "")
        elif hit is None:
            self.view.show_hint("")
        self._draw(self.target[0].port_pos(self.target[1]) if self.target and not self.problem else pos)

    def release(self, event) -> None:
        self.move(event)
        scene, doc = self.scene, self.scene.document
        target, problem, detached = self.target, self.problem, self.detached
        self._finish()
        if target is not None and problem is None:
            src, dst = self._ends(target[1])
            connect = Connect(doc, scene.definition, src.node_id, src.name, dst.node_id, dst.name)
            if detached is not None:
                if (detached.dst_item.node_id, detached.dst_port) == (dst.node_id, dst.name):
                    return self._restore(detached)
                scene.controller.undo_stack.beginMacro("Reconnect")
                scene.controller.push(Disconnect(doc, scene.definition, detached.edge_id))
                scene.controller.push(connect)
                scene.controller.undo_stack.endMacro()
            else:
                scene.controller.push(connect)
        elif detached is not None:
            if target is None:  # dropped on empty canvas: the edge is removed
                scene.controller.push(Disconnect(doc, scene.definition, detached.edge_id))
            else:
                self._restore(detached)
        if problem:
            self.view.show_hint(problem, error=True)

    def _restore(self, edge) -> None:
        edge.setVisible(edge.shown)
        edge.label.setVisible(edge.shown)

    def cancel(self) -> None:
        detached = self.detached
        self._finish()
        if detached is not None:
            self._restore(detached)

    def _finish(self) -> None:
        for item, ref in self._candidates:
            item.set_port_state(ref, NORMAL)
        if self.target is not None:
            self.target[0].set_port_state(self.target[1], NORMAL)
        self.anchor_item.set_port_state(self.anchor, NORMAL)
        if self.temp.scene() is not None:
            self.scene.removeItem(self.temp)
        self.view.show_hint("")
