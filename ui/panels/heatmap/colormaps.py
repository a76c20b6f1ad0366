"""Colours of the heatmap: a diverging map centred on zero, the kernel grid, and legend swatches.

The NaN and infinity marks have colours of their own, drawn in an overlay
(:mod:`netstudio.tensors.heatmap_picture`); none of them occurs in the
blue-white-red map, so they cannot be mistaken for a value.
"""

from __future__ import annotations

import pyqtgraph as pg

DIVERGING = "CET-D1"  # colorcet's blue-white-red diverging map, perceptually uniform, shipped with pyqtgraph
GRID_RGBA = (60, 60, 60, 140)


def diverging_colormap() -> pg.ColorMap:
    """Blue (negative) - white (zero) - red (positive)."""
    try:
        cmap = pg.colormap.get(DIVERGING)
    except Exception:  # a pyqtgraph without colorcet's tables
        cmap = None
    if cmap is None:
        cmap = pg.ColorMap([0.0, 0.5, 1.0], [(33, 102, 172), (247, 247, 247), (178, 24, 43)])
    return cmap


def swatch(rgba: tuple[int, int, int, int]) -> str:
    """A coloured square for rich-text legends."""
    r, g, b, _ = rgba
    return f"<span style='color:rgb({r},{g},{b})'>&#9632;</span>"
