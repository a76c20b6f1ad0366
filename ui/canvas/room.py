"""Room for blocks expanded in place: where the other blocks are drawn so none is covered.

An expanded block grows right and down from its top-left corner.  Its neighbours keep
their places in the model (expanding is a way of looking, not an edit); on the canvas,
every block to the right of it moves right by the growth in width, and the blocks below
it in its own column move down by the growth in height.  ``to_model`` is the inverse,
used when a block is dropped or added where the canvas shows it.

Both cost O(number of expanded blocks) per point: the canvas places all its blocks in
O(blocks × expanded), and nothing when no block is expanded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Growth:
    """One expanded block: its model position and how much wider and taller it is drawn."""

    x: float
    y: float
    dw: float
    dh: float


class Room:
    """Offsets of the canvas from the model for a set of expanded blocks."""

    def __init__(self, growths: dict[str, Growth], column: float):
        self.growths = dict(growths)
        self.column = column          # two blocks whose x differ by less share a column

    def __bool__(self) -> bool:
        return bool(self.growths)

    def _dx(self, x: float, skip: frozenset = frozenset()) -> float:
        return sum(g.dw for key, g in self.growths.items() if g.x < x and key not in skip)

    def _below(self, x: float, skip: frozenset) -> list[tuple[float, float]]:
        """(y, dh) of the expanded blocks in whose column ``x`` is: below them, it is pushed down."""
        return sorted((g.y, g.dh) for key, g in self.growths.items()
                      if key not in skip and abs(g.x - x) < self.column)

    def offset(self, x: float, y: float) -> tuple[float, float]:
        """How far the canvas draws a block whose model position is (x, y)."""
        if not self.growths:
            return 0.0, 0.0
        dy = sum(dh for gy, dh in self._below(x, frozenset()) if gy < y)
        return self._dx(x), dy

    def to_model(self, vx: float, vy: float, skip=()) -> tuple[float, float]:
        """The model position that the canvas draws at (vx, vy); ``skip``: expanded blocks being
        moved themselves (they make no room for their own new place)."""
        skip = frozenset(skip)
        growths = [(g.x, g.dw) for key, g in self.growths.items() if key not in skip]
        if not growths:
            return vx, vy
        growths.sort()
        x, shift = vx, 0.0
        for gx, dw in growths:     # f(x) = x + sum(dw for gx < x) is increasing: walk its steps
            if vx - shift <= gx:
                x = vx - shift
                break
            if vx - shift - dw <= gx:   # inside the room made by this block: its column
                x = gx
                shift = vx - gx
                break
            shift += dw
        else:
            x = vx - shift
        column = self._below(x, skip)
        down = 0.0
        for gy, dh in column:
            if vy - down <= gy:
                break
            if vy - down - dh <= gy:
                down = vy - gy
                break
            down += dh
        return x, vy - down
