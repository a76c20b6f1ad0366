"""Axes that tick only whole numbers: indices at the centres of heatmap cells, and histogram counts.

Cell ``i`` covers ``[i, i + 1)`` in the plot, so pyqtgraph's own ticks at whole
numbers fall on the borders between cells; ``CellAxis`` takes pyqtgraph's ticks
for the index range and moves them half a cell.  A count is never 2.5, so
``CountAxis`` leaves out ticks finer than one.
"""

from __future__ import annotations

import pyqtgraph as pg


class WholeNumberAxis(pg.AxisItem):
    """Ticks at ``n + offset`` for whole ``n`` only, labelled ``n``."""

    offset = 0.0

    def tickValues(self, minVal, maxVal, size):   # noqa: N802 - pyqtgraph's name
        levels = super().tickValues(minVal - self.offset, maxVal - self.offset, size)
        return [(spacing, [v + self.offset for v in values if float(v).is_integer()])
                for spacing, values in levels if spacing >= 1]

    def tickStrings(self, values, scale, spacing):   # noqa: N802 - pyqtgraph's name
        return [str(int(round(v - self.offset))) for v in values]


class CellAxis(WholeNumberAxis):
    offset = 0.5


class CountAxis(WholeNumberAxis):
    offset = 0.0
