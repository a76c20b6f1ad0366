"""The insides of a block expanded in place, drawn within its frame on the parent's canvas.

Model Explorer shows a layer's children inside the layer; so does NetStudio.  An expanded
Block or Sequential node becomes a frame holding one read-only card per node of its
definition, the edges between them with the shapes this instance infers, and, when one of
those is itself expanded, its insides too.  The cards keep the places they have when the
block is opened (laid out first when they pile up).  Editing still happens where the
definition is opened (double-click a card to go there).

Every item is a child of the frame: moving the frame moves them; collapsing deletes them.
"""

from __future__ import annotations

from collections import defaultdict

from PySide6.QtCore import QPointF, QRectF

from netstudio.analysis import CheckResult
from netstudio.graph import Definition, Project
from netstudio.graph.layout import layered_positions

from . import theme
from .edge_item import EdgeItem
from .editing import needs_layout
from .looks import chain_index, node_look, node_status, shape_text
from .node_item import NodeItem
from .room import Growth, Room

PAD = 24.0            # between the frame's border and the cards inside
MAX_DEPTH = 8         # expanded blocks inside expanded blocks, at most
MAX_INNER_NODES = 2000  # more cards than this are not drawn inside a frame: open the block instead


def room_for(items: dict[str, NodeItem], positions: dict[str, tuple[float, float]]) -> Room:
    """The room that the expanded items among ``items`` (at model ``positions``) need."""
    growths = {i: Growth(*positions[i], item.rect.width() - theme.NODE_WIDTH,
                         item.rect.height() - item.collapsed_height)
               for i, item in items.items() if item.inside is not None}
    return Room(growths, theme.NODE_WIDTH)


class Inside:
    """The cards and edges of the definition a frame node uses, at instance ``path``."""

    def __init__(self, frame: NodeItem, project: Project, definition: str, path: tuple[str, ...],
                 expanded: set[tuple[str, ...]], result: CheckResult | None, deferred_now: bool, depth: int = 0):
        self.frame = frame
        self.project = project
        self.definition = definition
        self.path = path
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[str, EdgeItem] = {}
        self.too_big = False
        self.size = (0.0, 0.0)
        d = project.definitions[definition]
        # The Input/Output card of each port, by (name, is_output): the frame draws a line to it on every paint.
        self._port_cards = {**{(n.name, False): n.id for n in d.inputs}, **{(n.name, True): n.id for n in d.outputs}}
        if len(d.nodes) > MAX_INNER_NODES:
            self.too_big = True
            self.size = (theme.NODE_WIDTH * 2, theme.HEADER_HEIGHT + 3 * theme.LINE_HEIGHT)
            return
        chain = chain_index(d)
        for node in d.nodes.values():
            item = NodeItem(node.id, node_look(project, d, node, chain), inner=True)
            item.setParentItem(frame)
            self.nodes[node.id] = item
            child_path = path + (node.id,)
            if item.look.expandable and child_path in expanded and depth < MAX_DEPTH:
                child = project.definitions[node.text_param("definition")]
                item.set_inside(Inside(item, project, child.name, child_path, expanded, None, deferred_now,
                                       depth + 1))
        self._place(d)
        for edge in d.edges.values():
            src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
            if src is not None and dst is not None:
                item = EdgeItem(edge.id, src, edge.src_port, dst, edge.dst_port, inner=True)
                item.setParentItem(frame)
                item.label.setParentItem(frame)
                self.edges[edge.id] = item
                src.edges.add(item)
                dst.edges.add(item)
        if result is not None:
            self.apply_result(result, deferred_now)

    def _place(self, d: Definition) -> None:
        """Cards at the definition's own positions (laid out when they pile up), with room for
        the expanded ones, then shifted so the frame's top left corner holds them."""
        positions = layered_positions(d) if needs_layout(d) else {i: n.position for i, n in d.nodes.items()}
        room = room_for(self.nodes, positions)
        placed = {}
        for node_id, item in self.nodes.items():
            x, y = positions[node_id]
            dx, dy = room.offset(x, y)
            placed[node_id] = (x + dx, y + dy)
        bounds = QRectF()
        for node_id, item in self.nodes.items():
            bounds = bounds.united(item.rect.translated(*placed[node_id]))
        frame = self.frame
        left = -theme.NODE_WIDTH / 2 + PAD
        top = -theme.PORT_TOP + theme.HEADER_HEIGHT + PAD
        for node_id, item in self.nodes.items():
            x, y = placed[node_id]
            item.setPos(QPointF(x - bounds.left() + left, y - bounds.top() + top))
        width = max(bounds.width() + 2 * PAD, theme.NODE_WIDTH)
        height = max(bounds.height() + 2 * PAD + theme.HEADER_HEIGHT, frame.collapsed_height)
        self.size = (width, height)

    # -- what the frame asks ---------------------------------------------------------------------
    def port_anchor(self, name: str, is_output: bool) -> QPointF | None:
        """Where, in the frame's coordinates, the Input (or Output) node of port ``name`` is."""
        item = self.nodes.get(self._port_cards.get((name, is_output), ""))
        if item is None:
            return None
        return item.output_pos("") if is_output else item.input_pos("")

    def all_items(self):
        """Every card and edge inside, nested frames' too (for the zoomed-out sketch)."""
        for item in self.nodes.values():
            yield item
            if item.inside is not None:
                yield from item.inside.all_items()

    def all_edges(self):
        yield from self.edges.values()
        for item in self.nodes.values():
            if item.inside is not None:
                yield from item.inside.all_edges()

    def definitions(self) -> set[str]:
        """The definitions drawn in this frame (an edit to one of them redraws it)."""
        names = {self.definition}
        for item in self.nodes.values():
            if item.inside is not None:
                names |= item.inside.definitions()
        return names

    # -- check results -----------------------------------------------------------------------------
    def apply_result(self, result: CheckResult, deferred_now: bool) -> None:
        d = self.project.definitions.get(self.definition)
        if d is None or self.too_big:
            return
        by_node: dict[str, list] = defaultdict(list)
        for diag in result.diagnostics:
            if diag.definition == self.definition and diag.node_id and (not diag.path or diag.path == self.path):
                by_node[diag.node_id].append(diag)
        for node_id, item in self.nodes.items():
            node = d.nodes.get(node_id)
            if node is None:
                continue
            item.set_status(node_status(self.project, d, node, result, self.path, by_node.get(node_id, ()),
                                        deferred_now))
            if item.inside is not None:
                item.inside.apply_result(result, deferred_now)
        for edge in self.edges.values():
            edge.set_label(shape_text(result.output(edge.src_item.node_id, edge.src_port, self.path)))


def clear_inside(frame: NodeItem) -> None:
    """Delete the items of ``frame``'s insides (collapsing it); nested frames go with them."""
    inside = frame.inside
    scene = frame.scene()
    if inside is None or scene is None:
        return
    for item in list(inside.edges.values()):
        scene.removeItem(item.label)
        scene.removeItem(item)
    for item in list(inside.nodes.values()):
        scene.removeItem(item)


__all__ = ["Inside", "clear_inside", "room_for"]
