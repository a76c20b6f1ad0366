"""Axes that tick only whole numbers: indices at the centres of heatmap cells, and histogram counts.

Cell ``i`` covers ``[i, i + 1)`` in the plot, so pyqtgraph's own ticks at whole
numbers fall on the borders between cells; ``CellAxis`` takes pyqtgraph's ticks
for the index range and moves them half a cell.  A count is never 2.5, so
``CountAxis`` leaves out ticks finer than one.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

MIN_GAP_PX = {"horizontal": 10, "vertical": 14}   # between two labels, beside their own width


def nice_step(at_least: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... that is at least ``at_least``."""
    if at_least <= 1:
        return 1
    power = 10 ** math.floor(math.log10(at_least))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= at_least))


class WholeNumberAxis(pg.AxisItem):
    """Ticks at ``n + offset`` for whole ``n`` only, labelled ``n``, never so close that labels touch:
    a 20-column matrix in a 50-pixel-wide axis gets ticks 0 and 10, not 0, 5, 10 and 15 run together."""

    offset = 0.0
    cells: int | None = None    # how many cells the axis spans (set by the heatmap); None: no bound

    def tickValues(self, minVal, maxVal, size):   # noqa: N802 - pyqtgraph's name
        lo, hi = sorted((minVal - self.offset, maxVal - self.offset))   # an inverted axis gives them reversed
        if not size or not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
            return []
        horizontal = self.orientation in ("bottom", "top")
        widest = len(str(int(max(abs(lo), abs(hi))))) + (1 if math.ceil(lo) < 0 else 0)   # "-" too
        label_px = widest * 7 + MIN_GAP_PX["horizontal"] if horizontal else MIN_GAP_PX["vertical"]
        step = max(nice_step(label_px * (hi - lo) / size), nice_step((hi - lo) / 12))   # at most about a dozen
        first = math.ceil(lo / step) * step
        values = [first + k * step + self.offset for k in range(int((hi - first) // step) + 1)]
        if self.cells is not None:      # only the indices that exist
            values = [v for v in values if 0 <= v - self.offset < self.cells]
        return [(step, values)]

    def tickStrings(self, values, scale, spacing):   # noqa: N802 - pyqtgraph's name
        return [str(int(round(v - self.offset))) for v in values]


class CellAxis(WholeNumberAxis):
    offset = 0.5


class CountAxis(WholeNumberAxis):
    offset = 0.0
