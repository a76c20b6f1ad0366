"""What the zoom level asks of every item, done where it shows first and elsewhere a little later.

Zoomed out past ``SKETCH_BELOW`` the items step aside for the sketch (nodes transparent,
edges and labels hidden); under 100 % nodes keep a scaled picture of themselves.  On
10,000 blocks that is some 30,000 calls into Qt, a 55 ms frame at the moment the zoom
crosses the threshold.  The items in view change at once (a few hundred); the others, out
of sight, a chunk per turn of the event loop, so no frame holds more than a chunk's work.
Each step applies the scene's state of the moment, so zooming back meanwhile is safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QTimer

from .edge_item import EdgeItem
from .node_item import NodeItem

if TYPE_CHECKING:
    from .scene import CanvasScene

CHUNK = 500       # items set per turn of the event loop once those in view are done (2-3 ms)


class LevelOfDetail:
    def __init__(self, scene: "CanvasScene"):
        self.scene = scene
        self._pending: list = []
        self._next = 0              # the first of ``_pending`` not set yet
        self._timer = QTimer(scene, singleShot=True, interval=0)
        self._timer.timeout.connect(self._step)

    @property
    def pending(self) -> bool:
        return self._next < len(self._pending)

    def apply(self) -> None:
        """The scene's level changed: the items in view now, the rest soon."""
        scene = self.scene
        in_view = [item for rect in self._view_rects() for item in scene.items(rect)
                   if isinstance(item, (NodeItem, EdgeItem)) and not item.inner]
        for item in in_view:
            self._set(item)
        self._pending, self._next = [*scene.nodes.values(), *scene.edges.values()], 0
        self._timer.start()

    def finish(self) -> None:
        """Every item at the current level now (tests, and before the items go)."""
        while self.pending:
            self._step()

    def cancel(self) -> None:
        """The items are about to go (the scene is built again): nothing left to do on them."""
        self._pending, self._next = [], 0
        self._timer.stop()

    def _step(self) -> None:
        end = self._next + CHUNK
        for item in self._pending[self._next:end]:
            self._set(item)
        self._next = end
        if self.pending:
            self._timer.start()
        else:
            self._pending, self._next = [], 0

    def _view_rects(self) -> list[QRectF]:
        return [view.mapToScene(view.viewport().rect()).boundingRect() for view in self.scene.views()]

    def _set(self, item) -> None:
        scene = self.scene
        if isinstance(item, NodeItem):
            if item.inside is None:
                item.use_cache(scene.node_cache)
            item.set_sketched(scene.sketched)
        else:
            item.show_shape(not scene.sketched)      # hidden items are not even sorted by a repaint
