"""Picking blocks that the sketch draws.

Zoomed out, node items are transparent and Qt neither hits nor hovers
transparent items.  So the view asks the sketch which card is under the
mouse and wakes that one item (it is drawn and hit again: Qt's hover, click,
selection and drag then work as usual), and a rubber band also selects the
cards it touches.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF

from .node_item import NodeItem


class SketchPicking:
    def __init__(self, view):
        self.view = view
        self.awake: NodeItem | None = None
        self.band: QRectF | None = None
        view.rubberBandChanged.connect(self._on_band)

    def wake_at(self, view_pos) -> None:
        """Wake the sketched node under ``view_pos`` (viewport pixels); the last one sleeps."""
        scene = self.view.scene()
        node = scene.node_at(self.view.mapToScene(view_pos)) if scene.sketched else None
        if node is not self.awake:
            if self.awake is not None and self.awake.scene() is scene:
                self.awake.set_awake(False)
            self.awake = node
            if node is not None:
                node.set_awake(True)

    def press(self, view_pos) -> None:
        """A left press: the card under it becomes an item Qt can select and drag."""
        self.band = None
        self.wake_at(view_pos)

    def forget(self) -> None:
        """The items are about to go (the scene is rebuilt)."""
        self.awake = self.band = None

    def _on_band(self, rect, from_scene, to_scene) -> None:
        if not rect.isNull():
            self.band = QRectF(from_scene, to_scene).normalized()

    def finish_band(self) -> None:
        """After a rubber band: the sketched cards in it join what Qt selected."""
        band, self.band = self.band, None
        scene = self.view.scene()
        if band is not None and scene.sketched:
            scene.select_nodes(set(scene.selected_node_ids()) | set(scene.sketch().nodes_in(band)))
