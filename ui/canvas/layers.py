"""Three empty parent items, one each for the nodes, the edges and the edges' labels.

Zoomed out, the view draws the sketch and the items step aside.  Done item by item
that was 20,000 calls into Qt at the moment the zoom crossed the threshold (a frame
of 50-75 ms on 10,000 blocks); through their layer it is three: the node layer goes
transparent (a picked node ignores its parent's opacity and stays), the edge and label
layers hidden.  A layer sits at the origin, unscaled: its children's positions are
scene positions.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem

from .edge_item import EDGE_Z, LABEL_Z
from .node_item import NODE_Z


class Layer(QGraphicsItem):
    """Paints nothing, takes no events: only holds its children."""

    def __init__(self, z: float):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.setZValue(z)

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter, option, widget=None) -> None:
        pass


class Layers:
    def __init__(self, scene):
        self.nodes, self.edges, self.labels = Layer(NODE_Z), Layer(EDGE_Z), Layer(LABEL_Z)
        for layer in (self.nodes, self.edges, self.labels):
            scene.addItem(layer)

    def set_sketched(self, sketched: bool) -> None:
        self.nodes.setOpacity(0.0 if sketched else 1.0)
        self.edges.setVisible(not sketched)
        self.labels.setVisible(not sketched)
