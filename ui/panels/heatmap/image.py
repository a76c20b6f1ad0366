"""The heatmap's drawing: a plot that shows one ``HeatmapView`` in tensor coordinates.

``HeatmapPlot`` holds the pyqtgraph items (values, the NaN/Inf overlay above
them, lines between conv kernels on top, and the colour bar) and draws a view
with them; what to draw comes from the engine
(:mod:`netstudio.tensors.heatmap_picture`).  The screen usually has fewer
pixels than the view, so ``MaxAbsImageItem`` shrinks it once more by block
max-abs when it draws: pyqtgraph's own downsampling averages, which would hide
the outlier the engine kept.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QWidget

from netstudio.tensors.heatmap_picture import block_reduce, extent, kernel_grid, level_rounding, split_nonfinite
from netstudio.tensors.view2d import HeatmapView

from .cell_axis import CellAxis
from .colormaps import GRID_RGBA, diverging_colormap

AXIS_PEN, AXIS_TEXT = "#999", "#333"


class MaxAbsImageItem(pg.ImageItem):
    """An ``ImageItem`` that, when the screen has fewer pixels than the image, shrinks it with
    :func:`block_reduce` before drawing.  pyqtgraph's own automatic downsampling takes block means,
    and plain scaling skips pixels; either would hide a lone outlier (or NaN mark) on screen."""

    def __init__(self):
        super().__init__(axisOrder="row-major")
        self.setAutoDownsample(True)   # makes pyqtgraph re-render when zooming changes the factors
        self.screen_factors = (1, 1)   # (rows, cols) image pixels per screen pixel at the last render

    def _computeDownsampleFactors(self) -> tuple[int, int]:
        """(x, y) image pixels per screen pixel, rounded *up* (pyqtgraph rounds down, which leaves
        more image pixels than screen pixels, so scaling still skips some)."""
        o = self.mapToDevice(QPointF(0, 0))
        x = self.mapToDevice(QPointF(1, 0))
        y = self.mapToDevice(QPointF(0, 1))
        if o is None or x is None or y is None:
            return 1, 1
        w, h = np.hypot(*(x - o).toTuple()), np.hypot(*(y - o).toTuple())
        if w == 0 or h == 0:
            return 1, 1
        return max(1, int(np.ceil(1.0 / w - 1e-6))), max(1, int(np.ceil(1.0 / h - 1e-6)))

    def render(self) -> None:
        image = self.image
        factors = (1, 1)
        if image is not None and image.size:
            xds, yds = self._computeDownsampleFactors()
            factors = (yds, xds)
            self._lastDownsample = (xds, yds)
        self.screen_factors = factors
        self.autoDownsample = False
        try:
            if factors != (1, 1):
                self.image = block_reduce(image, *factors)
            super().render()
        finally:
            self.image = image
            self.autoDownsample = True


class HeatmapPlot:
    """The plot widget (``widget``, objectName ``heatmapPlot``) and its items: ``image_item``,
    ``overlay_item``, ``grid_item`` and the colour bar ``bar``."""

    def __init__(self, parent: QWidget):
        self.widget = pg.PlotWidget(parent, background="w",
                                    axisItems={"left": CellAxis("left"), "bottom": CellAxis("bottom")})
        self.widget.setObjectName("heatmapPlot")
        self.fill = False   # stretch the picture to the view instead of keeping square cells
        self.plot = self.widget.getPlotItem()
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(AXIS_TEXT)
            axis.setPen(AXIS_PEN)
        self.plot.setLabel("left", "row", color="#555")
        self.plot.setLabel("bottom", "column", color="#555")
        self.image_item = MaxAbsImageItem()
        self.plot.addItem(self.image_item)
        self.overlay_item = MaxAbsImageItem()
        self.overlay_item.setZValue(5)
        self.plot.addItem(self.overlay_item)
        self.grid_item = pg.PlotCurveItem(pen=pg.mkPen(GRID_RGBA, width=1, cosmetic=True), connect="pairs")
        self.grid_item.setZValue(10)
        self.plot.addItem(self.grid_item)
        self.bar = self.plot.addColorBar(self.image_item, colorMap=diverging_colormap(), values=(-1, 1),
                                         rounding=1e-3, interactive=True, pen=AXIS_TEXT, hoverPen="#d93025",
                                         colorMapMenu=False)
        self.bar.axis.setTextPen(AXIS_TEXT)
        self.bar.axis.setPen(AXIS_PEN)

    def draw(self, view: HeatmapView, reset_range: bool) -> None:
        """Show ``view``: its finite values, its NaN/Inf marks, kernel lines; ``reset_range`` zooms to fit."""
        base, overlay = split_nonfinite(view.values)
        rect = QRectF(0, 0, *extent(view))
        self._show(self.image_item, base if base.size else None, rect, autoLevels=False)
        self._show(self.overlay_item, overlay, rect, autoLevels=False, levels=(0, 255))
        self.grid_item.setData(*kernel_grid(view))
        rows, cols = view.values.shape
        height, width = rows * view.block[0], cols * view.block[1]
        self.plot.getAxis("left").setTicks([[(0.5, "0")]] if height == 1 else None)
        self.plot.getAxis("left").cells = height      # no index ticks beside the matrix (row -20 of 8)
        self.plot.getAxis("bottom").cells = width
        if reset_range:
            ratio = width / max(height, 1)
            self.plot.setAspectLocked(not self.fill and 1 / 8 <= ratio <= 8)
            self.plot.getViewBox().setRange(xRange=(0, width), yRange=(0, height), padding=0.02)

    @staticmethod
    def _show(item: MaxAbsImageItem, image: np.ndarray | None, rect: QRectF, **options) -> None:
        if image is None:
            item.hide()
            return
        item.setImage(image, **options)
        item.setRect(rect)
        item.show()

    def clear(self) -> None:
        self.image_item.hide()
        self.overlay_item.hide()
        self.grid_item.setData([], [])

    def set_levels(self, limit: float) -> None:
        """Colour range ±``limit``, the bar's handles rounded to suit its size."""
        self.bar.rounding = level_rounding(limit)
        self.bar.setLevels((-limit, limit))

    def levels(self) -> tuple[float, float]:
        return tuple(float(v) for v in self.bar.levels())

    def overlay(self) -> np.ndarray | None:
        """The RGBA overlay marking NaN / +Inf / -Inf pixels, or None when everything is finite."""
        return self.overlay_item.image if self.overlay_item.isVisible() else None

    def image_point(self, scene_pos: QPointF) -> tuple[float, float] | None:
        """``scene_pos`` in displayed pixels (x: column, y: row); None while no picture is shown."""
        if not self.image_item.isVisible():
            return None
        point = self.image_item.mapFromScene(scene_pos)
        return point.x(), point.y()

    def scene_pos_of_pixel(self, row: int, col: int) -> QPointF:
        """The scene position of the centre of displayed pixel ``(row, col)``."""
        return self.image_item.mapToScene(QPointF(col + 0.5, row + 0.5))
