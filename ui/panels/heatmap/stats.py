"""The heatmap's side pane: a histogram of the finite values and the statistics of the tensor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from netstudio.tensors.heatmap_picture import NAN_RGBA, NEG_INF_RGBA, POS_INF_RGBA
from netstudio.tensors.number_text import number
from netstudio.tensors.stats import TensorStats

from .cell_axis import CountAxis
from .colormaps import swatch

def stats_rows(stats: TensorStats) -> list[tuple[str, str]]:
    """(label, text) pairs in display order."""
    def count(n: int) -> str:
        share = f" ({100 * n / stats.numel:.1f}%)" if stats.numel and n else ""
        return f"{n:,}{share}"
    return [("min", number(stats.min)), ("max", number(stats.max)), ("mean", number(stats.mean)),
            ("std", number(stats.std)), ("zeros", count(stats.zeros)), ("NaN", count(stats.nans)),
            ("Inf", count(stats.infs))]


def stats_text(stats: TensorStats) -> str:
    """Plain text, one ``label: value`` per line (what tests and the clipboard see)."""
    return "\n".join(f"{label}: {text}" for label, text in stats_rows(stats))


class StatsPane(QWidget):
    """Histogram above, statistics below; ``show_stats(None)`` shows a placeholder."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("heatmapStats")
        self.histogram = pg.PlotWidget(self, background="w", axisItems={"left": CountAxis("left")})
        self.histogram.setObjectName("heatmapHistogram")
        plot = self.histogram.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.setTitle("histogram of finite values", color="#444", size="9pt")
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setTextPen("#444")
            axis.setPen("#999")
        plot.setLabel("left", "count", color="#555")
        self.histogram.setMinimumSize(160, 60)
        self.histogram.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.bars = pg.PlotDataItem(stepMode="center", fillLevel=0, pen=pg.mkPen("#3b6fb6", width=1),
                                    brush=pg.mkBrush(59, 111, 182, 110))
        plot.addItem(self.bars)
        self.zero_line = pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine))
        plot.addItem(self.zero_line)
        self.label = QLabel(self)
        self.label.setObjectName("heatmapStatsText")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.label.setToolTip("Statistics of the whole tensor; min, max, mean, std and the histogram cover "
                              "its finite values. On the map, non-finite values have colours of their own.")
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.histogram, 1)
        column.addWidget(self.label)
        self._text = ""
        self.show_stats(None)

    def text(self) -> str:
        return self._text

    def show_pending(self) -> None:
        self._text = "computing…"
        self.label.setText("<i style='color:#777'>computing statistics…</i>")

    def show_stats(self, stats: TensorStats | None) -> None:
        if stats is None:
            self._text = ""
            self.label.setText("")
            self.bars.setData([], [])
            self.zero_line.setVisible(False)
            return
        self._text = stats_text(stats)
        rows = stats_rows(stats)
        left, right = rows[:4], rows[4:]   # min max mean std | zeros NaN Inf: two short columns

        def cells(pair) -> str:
            if pair is None:
                return "<td></td><td></td>"
            label, text = pair
            return (f"<td style='color:#555; padding-right:6px'>{label}</td>"
                    f"<td style='font-family:monospace; padding-right:14px'>{text}</td>")
        body = "".join(f"<tr>{cells(a)}{cells(b)}</tr>"
                       for a, b in zip(left, right + [None] * (len(left) - len(right))))
        self.label.setText(f"<table cellspacing='0' cellpadding='1'>{body}</table>"
                           f"<div style='color:#777'>{stats.numel:,} elements, {stats.dtype} &nbsp; "
                           f"{swatch(NAN_RGBA)} NaN {swatch(POS_INF_RGBA)} +Inf {swatch(NEG_INF_RGBA)} −Inf</div>")
        if stats.hist_counts:
            edges = np.asarray(stats.hist_edges, np.float64)
            counts = np.asarray(stats.hist_counts, np.float64)
            self.bars.setData(edges, counts)
            self.zero_line.setVisible(bool(edges[0] <= 0 <= edges[-1]))
            self.histogram.getPlotItem().enableAutoRange()
        else:
            self.bars.setData([], [])
