"""The canvas scene: one definition of the document, drawn as node and edge items.

The scene follows the model.  It listens to ``document.events`` (one item per
node and edge, updated in place) and to ``controller.checked`` (badges, counts
and shape labels, updated only where they changed); it never edits the model
itself.  ``detach()`` disconnects it from the document, so a closed canvas
leaves no callbacks behind.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from netstudio.analysis import CheckResult
from netstudio.graph import Definition, Edge, Node
from netstudio.gc_pause import gc_paused

from ..document.relay import Connection, listen
from . import theme
from .edge_item import EdgeItem, TieLinkItem
from .looks import CONTAINER_TYPES, chain_index, node_look, shape_text
from .node_item import NodeItem
from .feedback import FeedbackTracker
from .tie_links import draw_tie_links
from .level_of_detail import LevelOfDetail
from .check_display import CheckDisplay
from .expansion import Expansion
from .scene_queries import SceneQueries
from .sketch import SKETCH_BELOW, Sketch


def bsp_depth(n_items: int) -> int:
    """Half Qt's own choice (log2 of the items): with 10,000 blocks a fit-all repaint visits
    256 leaves instead of 32,768, and a query zoomed in still looks at few items."""
    return max(3, round(math.log2(max(n_items, 1)) / 2) + 1)


class CanvasScene(CheckDisplay, SceneQueries, QGraphicsScene):
    """Items for the definition at ``path``; rebuilt on navigation and on ``reset``."""

    shown = Signal(str, tuple)        # definition, path: after (re)building
    check_applied = Signal()          # a CheckResult has been applied to the items
    model_changed = Signal()          # after each complete edit of the document
    reset_done = Signal()             # rebuilt after the whole project was replaced
    rebuilding = Signal()             # every item is about to go (gestures must let go of theirs)
    expansion_changed = Signal()      # a block was expanded in place or collapsed

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.document = controller.document
        self.path: tuple[str, ...] = ()
        self.definition: str = self.document.project.root
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[str, EdgeItem] = {}
        self.tie_links: dict[str, TieLinkItem] = {}
        self.result: CheckResult | None = controller.result
        self.lod = LevelOfDetail(self)
        self.sketched = False          # zoomed out: the view draws the sketch, the items step aside
        self.node_cache = QGraphicsItem.CacheMode.DeviceCoordinateCache
        self._sketch: Sketch | None = None
        self._syncing = False
        self._attached = False
        self._dirty_names = False
        self._dirty_rect = False
        self._dirty_ties = False
        self._dirty_containers: set[str] = set()
        self.expansion = Expansion(self)
        self._moved: set[NodeItem] = set()    # moved by the model during the edit under way
        self._chain: dict[str, int] | None = None   # a Sequential's chain index, until nodes or edges change
        self._bounds = QRectF()
        self._feedback = FeedbackTracker()
        self.setBackgroundBrush(QColor(theme.BACKGROUND))
        self._links: list[Connection] = []
        self._selected_edges: set[EdgeItem] = set()
        self.selectionChanged.connect(self._on_selection_changed)
        self.selectionChanged.connect(self._restyle_edge_labels)
        controller.checked.connect(self._on_checked)
        controller.selection_changed.connect(self._on_selection_from_controller)
        # Lazy layers stop being "deferred" once the live network has run (events may come from a worker).
        for signal in (controller.session.events.ran, controller.session.events.rebuilt):
            listen(self, signal, self._on_session_changed)
        self.attach()
        self.show_path(())

    # -- connection to the document --------------------------------------------------------
    def _connections(self):
        ev = self.document.events
        return ((ev.node_added, self._on_node_added), (ev.node_removed, self._on_node_removed),
                (ev.node_changed, self._on_node_changed), (ev.edge_added, self._on_edge_added),
                (ev.edge_removed, self._on_edge_removed), (ev.edge_changed, self._on_edge_changed),
                (ev.definition_removed, self._on_definition_removed),
                (ev.definition_changed, self._on_definition_changed), (ev.code_changed, self._on_code_changed),
                (ev.settings_changed, self._on_settings_changed), (ev.reset, self._on_reset),
                (ev.changed, self._on_changed))

    def attach(self) -> None:
        if not self._attached:
            self._links = [listen(self, signal, slot) for signal, slot in self._connections()]
            self._attached = True

    def detach(self) -> None:
        """Stop following the document (on close; destroying the scene ends it too)."""
        links, self._links = self._links, []
        for link in links:
            link.disconnect()
        self._attached = False

    @property
    def attached(self) -> bool:
        return self._attached

    # -- navigation ---------------------------------------------------------------------------
    @property
    def model(self) -> Definition:
        return self.document.project.definitions[self.definition]

    def show_path(self, path: tuple[str, ...]) -> None:
        name = self.document.project.definition_at(tuple(path))
        if name is None:
            raise ValueError(f"No nested block at {path!r}.")
        self.path, self.definition = tuple(path), name
        self.rebuild()

    def rebuild(self) -> None:
        with gc_paused():
            self._rebuild()

    def _rebuild(self) -> None:
        self.rebuilding.emit()
        self.lod.cancel()
        self._syncing = True
        try:
            # Forget the items before Qt deletes them: clear() emits selectionChanged.
            self.nodes.clear()
            self._moved.clear()
            self.edges.clear()
            self.tie_links.clear()
            self._selected_edges.clear()
            self._sketch = None
            self.clear()
            d = self.model
            self._chain = None
            chain = self._chain_now()
            self.expansion.forget_room()
            for node in d.nodes.values():
                self._add_node_item(node, chain, with_status=False)   # apply_result below does them all
            self.expansion.rebuilt()
            for edge in d.edges.values():
                self._add_edge_item(edge)
            self.setBspTreeDepth(bsp_depth(len(self.nodes) + 2 * len(self.edges)))
            self._refresh_ties()
            self._feedback.forget()
            if self.result is not None:
                self.apply_result(self.result, emit=False)
            self._bounds = QRectF()
            self.update_rect()
            sel_def, sel_ids = self.controller.selection
            if sel_def == self.definition:
                for node_id in sel_ids:
                    if node_id in self.nodes:
                        self.nodes[node_id].setSelected(True)
        finally:
            self._syncing = False
        self._on_selection_changed()
        self.shown.emit(self.definition, self.path)

    # -- items ---------------------------------------------------------------------------------
    def _add_node_item(self, node: Node, chain: dict[str, int] | None = None, with_status: bool = True) -> NodeItem:
        d = self.model
        if chain is None:
            chain = self._chain_now()
        item = NodeItem(node.id, node_look(self.document.project, d, node, chain))
        item.setPos(self.place(node.position))
        item.set_sketched(self.sketched)
        item.use_cache(self.node_cache)
        self.addItem(item)
        self.nodes[node.id] = item
        if with_status and self.result is not None:
            item.set_status(self._status(node, self.result, self._diagnostics(self.result).get(node.id, ())))
        return item

    def _add_edge_item(self, edge: Edge) -> EdgeItem | None:
        src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
        if src is None or dst is None:
            return None
        item = EdgeItem(edge.id, src, edge.src_port, dst, edge.dst_port)
        item.show_shape(not self.sketched)
        self.addItem(item)
        self.addItem(item.label)
        if edge.bends:
            item.set_bends(edge.bends)
        self.invalidate_sketch()
        self.edges[edge.id] = item
        src.edges.add(item)
        dst.edges.add(item)
        src.update()
        dst.update()
        if self.result is not None:
            item.set_label(shape_text(self.result.output(edge.src, edge.src_port, self.path)))
        return item

    def _remove_edge_item(self, edge_id: str) -> None:
        item = self.edges.pop(edge_id, None)
        if item is None:
            return
        self.invalidate_sketch()
        self._feedback.edited(item.dst_item.node_id)   # its input is gone
        for end in (item.src_item, item.dst_item):
            end.edges.discard(item)
            end.update()
        self.removeItem(item.label)
        self.removeItem(item)

    def _chain_now(self) -> dict[str, int]:
        """The shown definition's chain index (unnamed children of a Sequential show their place), kept
        until a node or an edge comes or goes: a value edit does not walk 10,000 blocks for it."""
        if self._chain is None:
            self._chain = chain_index(self.model)
        return self._chain

    def _refresh_look(self, node_id: str, chain: dict[str, int] | None = None) -> None:
        item = self.nodes.get(node_id)
        node = self.model.nodes.get(node_id)
        if item is not None and node is not None:
            sketched = (item.look.title, item.fill_name, item.rect)    # what the sketch shows of it
            look = node_look(self.document.project, self.model, node, chain if chain is not None
                             else self._chain_now())
            if item.set_look(look) and (look.title, item.fill_name, item.rect) != sketched:
                self.invalidate_sketch()

    def _refresh_ties(self) -> None:
        draw_tie_links(self)

    # -- model events --------------------------------------------------------------------------
    def _elsewhere(self, definition: str) -> None:
        """An edit outside the shown definition: its containers are looked at after every
        check; shown inside another block, any node's shapes may follow from it; an expanded
        block showing it is drawn again."""
        if self.path:
            self._feedback.forget()
        self.expansion.edited_elsewhere(definition)

    def _on_node_added(self, definition: str, node_id: str) -> None:
        if definition == self.definition:
            self._chain = None
            node = self.model.nodes[node_id]
            self._add_node_item(node)
            self._feedback.edited(node_id)
            self.invalidate_sketch()
            self._dirty_names = self._dirty_rect = True
        else:
            self._elsewhere(definition)
            self._dirty_containers.add(definition)

    def _on_node_removed(self, definition: str, node_id: str) -> None:
        if definition != self.definition:
            self._elsewhere(definition)
            self._dirty_containers.add(definition)
            return
        self._chain = None
        item = self.nodes.pop(node_id, None)
        if item is None:
            return
        if item.inside is not None:
            self.expansion.removed(node_id)
        for edge in list(item.edges):
            self._remove_edge_item(edge.edge_id)
        if item.tie_links or item.tie_badge is not None:
            self._dirty_ties = True
        for link in list(item.tie_links):
            self.tie_links.pop(link.node_item.node_id, None)
            link.node_item.tie_links.discard(link)
            link.target_item.tie_links.discard(link)
            self.removeItem(link)
        self.removeItem(item)
        self.invalidate_sketch()
        self._dirty_names = True

    def _on_node_changed(self, definition: str, node_id: str, field: str) -> None:
        if definition != self.definition:
            self._elsewhere(definition)
            if field == "name":
                self._dirty_containers.add(definition)
            return
        item = self.nodes.get(node_id)
        node = self.model.nodes.get(node_id)
        if item is None or node is None:
            return
        if field != "position":
            self._feedback.edited(node_id)
        if field == "position":
            if item.inside is not None:
                self.expansion.dirty_room = True      # the room it makes moves with it
            pos = self.place(node.position)
            if item.pos() != pos:
                NodeItem.moving_many = True     # its edges follow once the whole edit is in (auto layout
                try:                            # moves 10,000 blocks: each edge once, not once per end)
                    item.setPos(pos)
                finally:
                    NodeItem.moving_many = False
                self._moved.add(item)
            self._dirty_rect = True
            self.invalidate_sketch()
        elif field in ("name", "params"):
            self._refresh_look(node_id)
            if item.inside is not None and field == "params":
                self.expansion.dirty.add(node_id)   # maybe another definition, or other arguments
            if field == "name":
                self._dirty_ties = True
        elif field == "tie":
            self._dirty_ties = True

    def _on_edge_added(self, definition: str, edge_id: str) -> None:
        if definition == self.definition:
            self._chain = None
            edge = self.model.edges[edge_id]
            self._add_edge_item(edge)
            self._feedback.edited(edge.dst)
            self._dirty_names = self.model.kind == "sequential"
        else:
            self._elsewhere(definition)

    def _on_edge_changed(self, definition: str, edge_id: str) -> None:
        """Its bend points: a way of drawing only (an expanded block showing it draws none)."""
        if definition == self.definition:
            item, edge = self.edges.get(edge_id), self.model.edges.get(edge_id)
            if item is not None and edge is not None:
                item.set_bends(edge.bends)

    def _on_edge_removed(self, definition: str, edge_id: str) -> None:
        if definition == self.definition:
            self._chain = None
            self._remove_edge_item(edge_id)
            self._dirty_names = self.model.kind == "sequential"
        else:
            self._elsewhere(definition)

    def _on_definition_removed(self, name: str) -> None:
        if self.document.project.definition_at(self.path) is None:
            self.show_path(())

    def _on_definition_changed(self, name: str) -> None:
        if name == self.definition:
            self._chain = None
            self._dirty_names = True
            self._feedback.forget()     # its arguments: any node may use them
        else:
            self._elsewhere(name)
        self._dirty_containers.add(name)

    def _on_code_changed(self, class_name: str) -> None:
        self._feedback.forget()
        self.expansion.edited_elsewhere(*self.expansion.definitions_shown())
        for node in self.model.nodes.values():
            if node.type == "Code" and node.params.get("class_name") == class_name:
                self._refresh_look(node.id)

    def _on_settings_changed(self, key: str) -> None:
        self._feedback.forget()
        if key == "trusted":
            for node in self.model.nodes.values():
                if node.type == "Code":
                    self._refresh_look(node.id)

    def _on_reset(self) -> None:
        # The last result is another project's (or another state's): applying it, then comparing the next
        # result with it, would leave labels of nodes no edit reached at its values; the next check fills all.
        self.result = None
        path = self.path if self.document.project.definition_at(self.path) is not None else ()
        self._dirty_containers.clear()
        self._dirty_names = self._dirty_ties = False
        self.show_path(path)
        self.reset_done.emit()

    def _on_changed(self) -> None:
        """After each complete edit: refresh what depends on several nodes at once."""
        if self.definition not in self.document.project.definitions:
            self.show_path(())
            return
        d = self.model
        if self._moved:
            moved, self._moved = self._moved, set()
            self.reroute(moved)
        if self._dirty_names:
            self._dirty_names = False
            chain = self._chain_now()
            for node_id in self.nodes:
                self._refresh_look(node_id, chain)
            self._dirty_ties = True
        if self._dirty_containers:
            dirty, self._dirty_containers = self._dirty_containers, set()
            for node in d.nodes.values():
                if node.type in CONTAINER_TYPES and node.params.get("definition") in dirty:
                    self._refresh_look(node.id)
        self.expansion.after_edit()
        if self._dirty_ties:
            self._dirty_ties = False
            self._refresh_ties()
        if self._dirty_rect:
            self._dirty_rect = False
            self.update_rect()
        self.model_changed.emit()

    def reroute(self, moved) -> None:
        """The edges and tie links of the ``moved`` node items, each drawn again once."""
        for edge in {edge for item in moved for edge in item.edges}:
            edge.update_path()
        for link in {link for item in moved for link in item.tie_links}:
            link.update_path()

    def update_rect(self) -> None:
        """Room to pan around the graph; grows as nodes move, never jumps while editing."""
        bounds = QRectF()
        for item in self.nodes.values():
            bounds = bounds.united(item.sceneBoundingRect())
        if bounds.isEmpty():
            bounds = QRectF(-400, -300, 800, 600)
        wanted = bounds.adjusted(-3000, -2000, 3000, 2000)
        self._bounds = wanted if self._bounds.isEmpty() else self._bounds.united(wanted)
        self.setSceneRect(self._bounds)

    def set_zoom_level(self, zoom: float) -> None:
        """Level of detail: shape labels go when too small to read; zoomed out the view draws
        the sketch (nodes, edges, readable names) in a few calls instead of one item each."""
        # Under 100 % a node's picture is drawn once and scaled (a zoom step repaints no node);
        # at 100 % and more it is drawn at the screen's resolution, to stay sharp.
        cache = QGraphicsItem.CacheMode.ItemCoordinateCache if zoom < 1.0 \
            else QGraphicsItem.CacheMode.DeviceCoordinateCache
        sketched = zoom < SKETCH_BELOW
        if cache == self.node_cache and sketched == self.sketched:
            return
        self.node_cache, self.sketched = cache, sketched
        self.lod.apply()        # the items in view at once, the others a chunk per turn of the event loop

    def sketch(self) -> Sketch:
        """The zoomed-out drawing of the items (built again after something changed)."""
        if self._sketch is None:
            self._sketch = Sketch(self.nodes, self.edges)
        return self._sketch

    def invalidate_sketch(self) -> None:
        if self._sketch is not None:
            self._sketch = None
            if self.sketched:
                self.update()    # the sketch is drawn as the background: no item repaints it

    def items_bounds(self) -> QRectF:
        bounds = QRectF()
        for item in self.nodes.values():
            bounds = bounds.united(item.sceneBoundingRect())
        for link in self.tie_links.values():
            bounds = bounds.united(link.sceneBoundingRect())
        return bounds

    # -- blocks expanded in place (see ``expansion``) -------------------------------------------
    def place(self, position: tuple[float, float]) -> QPointF:
        return self.expansion.place(position)

    def model_position(self, scene_pos: QPointF, moving=()) -> tuple[float, float]:
        return self.expansion.model_position(scene_pos, moving)

    def is_expanded(self, node_id: str) -> bool:
        item = self.nodes.get(node_id)
        return item is not None and item.inside is not None

    def set_expanded(self, node_ids, expanded: bool = True) -> None:
        if self.expansion.set_expanded(node_ids, expanded):
            self.expansion_changed.emit()

    def toggle_expanded(self, node_id: str) -> None:
        self.set_expanded([node_id], not self.is_expanded(node_id))

    def inner_at(self, scene_pos: QPointF) -> tuple[tuple[str, ...], str, str] | None:
        return self.expansion.inner_at(scene_pos)
