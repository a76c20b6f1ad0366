"""Tab through the blocks: the keyboard's way to reach every block without the mouse.

Blocks are visited in reading order (left to right by column, as the auto layout
puts the layers, then top to bottom).  The focused block becomes the single
selection, is scrolled into view, and gets a focus ring (wider than the selection's
outline, drawn by the view while it has the keyboard, gone at the next click) so one
sees where the keyboard is.  Past the last block (or before the first) the selection
is cleared and the keyboard focus leaves the canvas, so Tab never traps the user in it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPen

from . import theme
from .find_bar import JUMP_ZOOM
from .sketch import SKETCH_BELOW

VISIBLE_MARGIN = 60     # view pixels kept around a focused block
RING_GAP = theme.PORT_RADIUS + 6   # scene units between a block and its focus ring, clear of the ports


def reading_order(scene) -> list[str]:
    """The shown blocks' ids, by column (x) then row (y)."""
    def key(node_id: str):
        pos = scene.nodes[node_id].pos()
        return pos.x(), pos.y(), node_id
    return sorted(scene.nodes, key=key)


def step_from(order: list[str], current: str | None, step: int) -> str | None:
    """The block ``step`` (+1 or -1) after ``current`` in ``order``; None past either end."""
    if current not in order:
        index = 0 if step > 0 else len(order) - 1
    else:
        index = order.index(current) + step
    return order[index] if 0 <= index < len(order) else None


def focus_block(view, step: int) -> str | None:
    """Select the block after (``step`` 1) or before (-1) the single selected one and show it;
    past the end, clear the selection and pass the keyboard focus on (returns None)."""
    scene = view.scene()
    selected = scene.selected_node_ids()
    current = selected[0] if len(selected) == 1 else None
    node_id = step_from(reading_order(scene), current, step)
    if node_id is None:
        scene.clearSelection()
        view.keyboard_block = None
        view.focusNextPrevChild(step > 0)
        return None
    scene.select_nodes([node_id])
    view.keyboard_block = node_id
    view.viewport().update()
    if view.zoom() < SKETCH_BELOW:
        view.set_zoom(JUMP_ZOOM)   # as a find does: a sketched block cannot be read
    view.ensureVisible(scene.nodes[node_id], VISIBLE_MARGIN, VISIBLE_MARGIN)
    if not view.hasFocus():
        view.setFocus(Qt.FocusReason.TabFocusReason)
    return node_id


def paint_focus_ring(view, painter: QPainter) -> None:
    """The ring around the block Tab went to, while it is selected and the view has the keyboard."""
    item = view.scene().nodes.get(view.keyboard_block) if view.keyboard_block else None
    if item is None or not item.isSelected() or not view.hasFocus():
        return
    rect = item.mapRectToScene(item.rect).adjusted(-RING_GAP, -RING_GAP, RING_GAP, RING_GAP)
    radius = theme.CORNER + RING_GAP
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for color, width in (("#ffffff", 6.0), (theme.SELECTION, 3.0)):   # a white halo keeps it clear of edges
        pen = QPen(QColor(color), width)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, radius, radius)
