"""Colours of the heatmap: a diverging map centred on zero, and the overlay for NaN and infinities.

``ImageItem`` maps values through a lookup table and has no colour for NaN, so
the heatmap draws two images: the values (non-finite ones replaced by 0, i.e.
the neutral middle colour) and above them an RGBA overlay, transparent except
at NaN (magenta), +Inf (yellow) and -Inf (green) pixels.  None of these
colours occurs in the blue-white-red map, so they cannot be mistaken for a value.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

DIVERGING = "CET-D1"  # colorcet's blue-white-red diverging map, perceptually uniform, shipped with pyqtgraph
NAN_RGBA = (255, 0, 255, 255)
POS_INF_RGBA = (255, 221, 0, 255)
NEG_INF_RGBA = (0, 170, 60, 255)
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


def nonfinite_overlay(values: np.ndarray) -> np.ndarray | None:
    """An RGBA (rows, cols, 4) uint8 image marking NaN and +/-Inf; None when every value is finite."""
    finite = np.isfinite(values)
    if finite.all():
        return None
    overlay = np.zeros(values.shape + (4,), np.uint8)
    overlay[np.isnan(values)] = NAN_RGBA
    overlay[np.isposinf(values)] = POS_INF_RGBA
    overlay[np.isneginf(values)] = NEG_INF_RGBA
    return overlay


def swatch(rgba: tuple[int, int, int, int]) -> str:
    """A coloured square for rich-text legends."""
    r, g, b, _ = rgba
    return f"<span style='color:rgb({r},{g},{b})'>&#9632;</span>"
