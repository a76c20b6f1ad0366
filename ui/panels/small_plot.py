"""The small pyqtgraph plots panels draw curves and histograms in (the loss curve, the
initializer preview): white, no context menu, no auto-range button, a bounded height."""

from __future__ import annotations

import pyqtgraph as pg


def small_plot(name: str, min_height: int, max_height: int) -> pg.PlotWidget:
    """A plot named ``name``, between ``min_height`` and ``max_height`` pixels high."""
    plot = pg.PlotWidget(background="w")
    plot.setObjectName(name)
    plot.setMinimumHeight(min_height)
    plot.setMaximumHeight(max_height)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    return plot
