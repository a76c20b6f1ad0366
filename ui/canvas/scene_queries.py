"""What the gestures ask the scene (the block or port under the mouse, the edge into a port, why a
link is refused) and the selection, kept in step with the controller's.

A mixin of ``CanvasScene``.  Cards inside a block expanded in place are never answered as blocks
of their own: a press there picks the block.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from netstudio.graph.links import link_problem

from . import theme
from .edge_item import EdgeItem
from .node_item import NodeItem
from .port_item import PortRef


class SceneQueries:
    def node_at(self, scene_pos: QPointF) -> NodeItem | None:
        for item in self.items(scene_pos):
            while item is not None and (not isinstance(item, NodeItem) or item.inner):
                item = item.parentItem()    # a card inside an expanded block: the block
            if isinstance(item, NodeItem):
                return item
        if self.sketched:   # Qt does not hit transparent items: the sketch knows where they are
            return self.nodes.get(self.sketch().node_at(scene_pos))
        return None

    def port_at(self, scene_pos: QPointF, radius: float = theme.PORT_HIT_RADIUS) -> tuple[NodeItem, PortRef] | None:
        area = QRectF(scene_pos.x() - radius, scene_pos.y() - radius, 2 * radius, 2 * radius)
        best = None
        for item in self.items(area):
            if isinstance(item, NodeItem) and not item.inner:
                ref = item.port_at(scene_pos, radius)
                if ref is not None:
                    d = item.port_pos(ref) - scene_pos
                    dist = d.x() ** 2 + d.y() ** 2
                    if best is None or dist < best[0]:
                        best = (dist, item, ref)
        return (best[1], best[2]) if best else None

    def edge_into(self, ref: PortRef) -> EdgeItem | None:
        for edge in self.nodes[ref.node_id].edges if ref.node_id in self.nodes else ():
            if edge.dst_item.node_id == ref.node_id and edge.dst_port == ref.name:
                return edge
        return None

    def link_problem(self, src: PortRef, dst: PortRef, ignore_edge: str | None = None) -> str | None:
        """Why an edge from output ``src`` to input ``dst`` is refused, or None (the engine's rules)."""
        if not src.is_output or dst.is_output:
            return "Connect an output to an input."
        return link_problem(self.document.project, self.definition, src.node_id, src.name, dst.node_id, dst.name,
                            ignore_edge)

    # -- selection ----------------------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        return [i for i, item in self.nodes.items() if item.isSelected()]

    def selected_edge_ids(self) -> list[str]:
        return [i for i, item in self.edges.items() if item.isSelected()]

    def select_nodes(self, ids) -> None:
        wanted = set(ids)
        self._syncing = True
        try:
            for item in self.selectedItems():
                if not (isinstance(item, NodeItem) and item.node_id in wanted):
                    item.setSelected(False)
            for node_id in wanted:
                if node_id in self.nodes:
                    self.nodes[node_id].setSelected(True)
        finally:
            self._syncing = False
        self._on_selection_changed()

    def _restyle_edge_labels(self) -> None:
        """A selected edge's label has a blue outline (done here rather than in an itemChange
        override on each edge: Qt would call into Python for every change of 10,000 edges)."""
        selected = {item for item in self.selectedItems() if isinstance(item, EdgeItem)}
        for edge in selected ^ self._selected_edges:
            edge.label.update()
        self._selected_edges = selected

    def _on_selection_changed(self) -> None:
        if not self._syncing:
            self.controller.select(self.definition, self.selected_node_ids())

    def _on_selection_from_controller(self, definition: str, ids: list) -> None:
        if definition == self.definition and set(ids) != set(self.selected_node_ids()):
            self.select_nodes(ids)
