"""Which blocks of the canvas are expanded in place, and the room the others make for them.

The scene owns one ``Expansion``.  It remembers the expanded blocks by instance path (so
they stay expanded when the user opens another block and comes back), builds each
frame's ``Inside``, places every block at its model position plus the room (``room``),
and draws a frame again when a definition it shows is edited.  None of it edits the
document: expanding is a way of looking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsItem

from netstudio.gc_pause import gc_paused

from . import theme
from .inside import Inside, room_for
from .node_item import NodeItem
from .room import Room

if TYPE_CHECKING:
    from .scene import CanvasScene


class Expansion:
    def __init__(self, scene: "CanvasScene"):
        self.scene = scene
        self.expanded: set[tuple[str, ...]] = set()   # instance paths of the blocks shown expanded
        self.room = Room({}, theme.NODE_WIDTH)
        self.dirty: set[str] = set()    # definitions (or frame node ids) edited since: frames to draw again
        self.dirty_room = False

    # -- positions --------------------------------------------------------------------------------
    def place(self, position: tuple[float, float]) -> QPointF:
        """Where the canvas draws a block whose model position is ``position``."""
        dx, dy = self.room.offset(*position)
        return QPointF(position[0] + dx, position[1] + dy)

    def model_position(self, scene_pos: QPointF, moving=()) -> tuple[float, float]:
        """The model position drawn at ``scene_pos``; ``moving``: the expanded blocks being dragged."""
        return self.room.to_model(scene_pos.x(), scene_pos.y(), moving)

    def make_room(self) -> None:
        """Place every block again for the expanded ones (O(blocks × expanded))."""
        scene = self.scene
        d = scene.model
        positions = {i: d.nodes[i].position for i in scene.nodes if i in d.nodes}
        old, self.room = self.room, room_for(scene.nodes, positions)
        if not old and not self.room:
            return
        moved = []
        NodeItem.moving_many = True
        try:
            for node_id, item in scene.nodes.items():
                x, y = positions[node_id]
                dx, dy = self.room.offset(x, y)
                pos = QPointF(x + dx, y + dy)
                if item.pos() != pos:
                    item.setPos(pos)
                    moved.append(item)
                if item.inside is None:
                    item.use_cache(scene.node_cache)
        finally:
            NodeItem.moving_many = False
        scene.reroute(moved)
        if bool(old) != bool(self.room):   # routed edges are drawn as plain curves while a block is expanded
            for edge in scene.edges.values():
                if edge.bends:
                    edge.update_path()
        scene.invalidate_sketch()
        scene.update_rect()

    def forget_room(self) -> None:
        """Before every item is built again (their frames come back with ``rebuilt``)."""
        self.room = Room({}, theme.NODE_WIDTH)

    # -- expanding ----------------------------------------------------------------------------------
    def set_expanded(self, node_ids, expanded: bool) -> bool:
        """Expand (or collapse) the container nodes ``node_ids``; whether any changed."""
        scene = self.scene
        changed = []
        for node_id in node_ids:
            item = scene.nodes.get(node_id)
            if item is None or not item.look.expandable or (item.inside is not None) == expanded:
                continue
            key = scene.path + (node_id,)
            if expanded:
                self.expanded.add(key)
            else:
                self._forget(key)
                item.set_inside(None)
            changed.append(node_id)
        if not changed:
            return False
        if expanded:
            with gc_paused():
                self._build(changed)
        self.make_room()
        return True

    def _forget(self, key: tuple[str, ...]) -> None:
        """A collapsed (or deleted) block forgets what was expanded inside it too."""
        self.expanded = {p for p in self.expanded if p[:len(key)] != key}

    def _build(self, node_ids) -> None:
        scene = self.scene
        project, d = scene.document.project, scene.model
        for node_id in node_ids:
            item, node = scene.nodes.get(node_id), d.nodes.get(node_id)
            if item is None or node is None or not item.look.expandable:
                self.expanded.discard(scene.path + (node_id,))
                continue
            item.use_cache(QGraphicsItem.CacheMode.NoCache)   # a frame can be larger than any cache
            item.set_inside(Inside(item, project, node.text_param("definition"), scene.path + (node_id,),
                                   self.expanded, scene.result, scene.controller.session.deferred_now))

    def rebuilt(self) -> None:
        """The scene made its items again: the blocks expanded at this path get their frames back."""
        scene = self.scene
        self._build([i for i in scene.nodes if scene.path + (i,) in self.expanded])
        self.make_room()

    # -- following the document ---------------------------------------------------------------------
    def definitions_shown(self) -> set[str]:
        shown: set[str] = set()
        for item in self.scene.nodes.values():
            if item.inside is not None:
                shown |= item.inside.definitions()
        return shown

    def edited_elsewhere(self, *definitions: str) -> None:
        if self.room:
            self.dirty.update(definitions)

    def removed(self, node_id: str) -> None:
        self._forget(self.scene.path + (node_id,))
        self.dirty_room = True

    def after_edit(self) -> None:
        """After a complete edit: frames showing an edited definition are drawn again, then placed."""
        dirty, self.dirty = self.dirty, set()
        scene = self.scene
        if dirty:
            stale = [i for i, item in scene.nodes.items() if item.inside is not None
                     and (i in dirty or item.inside.definitions() & dirty)]
            for node_id in stale:
                scene.nodes[node_id].set_inside(None)
            self._build(stale)
            self.dirty_room = True
        if self.dirty_room:
            self.dirty_room = False
            self.make_room()

    def apply_result(self, result) -> None:
        for item in self.scene.nodes.values():
            if item.inside is not None:
                item.inside.apply_result(result, self.scene.controller.session.deferred_now)

    # -- queries ------------------------------------------------------------------------------------
    def inner_at(self, scene_pos: QPointF) -> tuple[tuple[str, ...], str, str] | None:
        """(instance path, definition, node id) of the innermost card inside an expanded block
        under ``scene_pos``, or None."""
        for item in self.scene.items(scene_pos):
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            if isinstance(item, NodeItem) and item.inner:
                frame = item.parentItem()
                return frame.inside.path, frame.inside.definition, item.node_id
        return None
