"""The loss and learning-rate curves of a run, side by side, and the sentence about skipped lines."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..small_plot import small_plot
from .metrics_tail import MetricsTail


def _curve_plot(name: str, label: str, colour: str) -> tuple[pg.PlotWidget, pg.PlotDataItem]:
    plot = small_plot(name, 120, 16_777_215)
    item = plot.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setLabel("bottom", "step")
    item.setLabel("left", label)
    item.getAxis("left").enableAutoSIPrefix(False)   # "loss (x0.001)" reads worse than 0.0005
    curve = plot.plot([], [], pen=pg.mkPen(colour, width=2))
    curve.setDownsampling(auto=True, method="peak")   # a million steps draw as fast as a thousand
    curve.setClipToView(True)
    return plot, curve


class Curves(QWidget):
    """``loss_plot`` and ``lr_plot`` draw a ``MetricsTail``; ``note`` says what was skipped."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss_plot, self.loss_curve = _curve_plot("runsLossPlot", "loss", "#2f6fed")
        self.lr_plot, self.lr_curve = _curve_plot("runsLrPlot", "learning rate", "#c2571a")
        self.note = QLabel(self)
        self.note.setObjectName("runsMetricsNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #8a5a00;")
        self.note.hide()
        row = QHBoxLayout()
        row.addWidget(self.loss_plot, 3)
        row.addWidget(self.lr_plot, 2)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row, 1)
        column.addWidget(self.note)

    def draw(self, tail: MetricsTail | None) -> None:
        steps = np.asarray(tail.steps if tail else [], np.float64)
        self.loss_curve.setData(steps, np.asarray(tail.losses if tail else [], np.float64))
        lrs = np.asarray(tail.lrs if tail else [], np.float64)
        self.lr_curve.setData(steps, lrs, connect="finite")
        top = np.nanmax(lrs) if np.isfinite(lrs).any() else 0.0
        if top > 0:   # from zero: a constant rate is a flat line at its height, not noise around it
            self.lr_plot.setYRange(0, top * 1.1, padding=0)
        sentence = tail.skipped_sentence() if tail else ""
        self.note.setText(sentence)
        self.note.setVisible(bool(sentence))
