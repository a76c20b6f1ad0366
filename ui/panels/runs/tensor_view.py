"""One tensor of a checkpoint (or the change between two) as the heatmap draws it, with its statistics.

The picture and the statistics are the heatmap panel's own pieces
(``HeatmapPlot``, ``StatsPane``) fed by the engine's (``heatmap_view``,
``tensor_stats``); ``picture`` makes what they show off the GUI thread, so
only the drawing happens here.  A tensor of over ``LARGE_NUMEL`` elements
shows its picture first: its statistics (several passes over it) follow in
a job of their own once the picture has painted, so a new checkpoint's
heatmap appears as soon as it is reduced (``benchmarks/bench_live_checkpoint.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from netstudio.tensors.frame_capture import LARGE_NUMEL
from netstudio.tensors.heatmap_frames import MAX_SHAPE
from netstudio.tensors.heatmap_picture import symmetric_limit
from netstudio.tensors.layout import display_tensor
from netstudio.tensors.stats import TensorStats, tensor_stats
from netstudio.tensors.view2d import HeatmapView, heatmap_view

from ..heatmap.image import HeatmapPlot
from ..heatmap.stats import StatsPane
from ..param_tree_model import shape_text
from .jobs import Jobs

FOLLOW_MS = 30   # statistics wait for the picture to paint: on a machine with few cores they would slow it


@dataclass(frozen=True, eq=False)
class Picture:
    """What a ``TensorView`` shows: a title (rich text), the 2-D view and the statistics, or (``stats``
    None) the tensor they are still to be computed from."""

    title: str
    view: HeatmapView
    stats: TensorStats | None
    pending: torch.Tensor | None = None


def picture(title: str, tensor: torch.Tensor) -> Picture:
    """The picture of ``tensor`` under ``title``; any thread.  A large tensor's statistics are left to
    the view (``pending``)."""
    shown = display_tensor(tensor)
    dtype = str(tensor.dtype).removeprefix("torch.")
    facts = f"<span style='color:#777'>{shape_text(tuple(tensor.shape))} {dtype}</span>"
    view = heatmap_view(shown, MAX_SHAPE)
    if shown.numel() > LARGE_NUMEL:
        return Picture(f"{title} {facts}", view, None, shown)
    return Picture(f"{title} {facts}", view, tensor_stats(shown))


class TensorView(QWidget):
    """Title above, picture beside histogram and statistics; ``shown`` fires once either is on screen,
    ``stats_shown`` when statistics that came after their picture are (``jobs`` computes them)."""

    shown = Signal()
    stats_shown = Signal()

    def __init__(self, name: str, parent: QWidget | None = None, jobs: Jobs | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.jobs = jobs
        self._generation = 0   # pictures and sentences shown: late statistics of an earlier picture are dropped
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.drawing = HeatmapPlot(self)
        self.drawing.widget.setObjectName(f"{name}Plot")
        self.message_label = QLabel(self)
        self.message_label.setObjectName(f"{name}Message")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setStyleSheet("color: #666;")
        self.picture = QStackedWidget(self)
        self.picture.addWidget(self.message_label)
        self.picture.addWidget(self.drawing.widget)
        self.stats_pane = StatsPane(self)
        self.stats_pane.setObjectName(f"{name}Stats")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.picture)
        splitter.addWidget(self.stats_pane)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([420, 220])
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.title)
        column.addWidget(splitter, 1)
        self._values: np.ndarray | None = None
        self.show_message("")

    def show_picture(self, shown: Picture) -> None:
        self._generation += 1
        self.title.setText(shown.title)
        self.drawing.draw(shown.view, reset_range=True)
        self.drawing.set_levels(symmetric_limit(shown.view.values))
        if shown.stats is None and shown.pending is not None:
            self.stats_pane.show_pending()
            QTimer.singleShot(FOLLOW_MS, self, partial(self._start_stats, self._generation, shown.pending))
        else:
            self.stats_pane.show_stats(shown.stats)
        self.stats_pane.show()
        self.picture.setCurrentWidget(self.drawing.widget)
        self._values = shown.view.values
        self.shown.emit()

    def _start_stats(self, generation: int, tensor: torch.Tensor) -> None:
        if generation != self._generation:
            return
        if self.jobs is None:
            self._show_stats(generation, tensor_stats(tensor), "")
            return
        self.jobs.start(f"{self.objectName()}Stats", lambda: tensor_stats(tensor),
                        lambda stats, error: self._show_stats(generation, stats, error))

    def _show_stats(self, generation: int, stats: TensorStats | None, error: str) -> None:
        if generation != self._generation:
            return
        self.stats_pane.show_stats(stats)   # a tensor they cannot describe: the picture alone
        self.stats_shown.emit()

    def show_message(self, text: str) -> None:
        self._generation += 1
        self.drawing.clear()
        self.message_label.setText(text)
        self.picture.setCurrentWidget(self.message_label)
        self.stats_pane.show_stats(None)
        self.stats_pane.hide()
        self._values = None
        self.shown.emit()

    # -- what tests read --------------------------------------------------------------------
    def displayed(self) -> np.ndarray | None:
        """The 2-D values on show, or None while a sentence is shown instead."""
        return self._values

    def stats_text(self) -> str:
        return self.stats_pane.text()

    def message(self) -> str:
        return self.message_label.text() if self.picture.currentWidget() is self.message_label else ""
