"""One tensor of a checkpoint (or the change between two) as the heatmap draws it, with its statistics.

The picture and the statistics are the heatmap panel's own pieces
(``HeatmapPlot``, ``StatsPane``) fed by the engine's (``heatmap_view``,
``tensor_stats``); ``picture`` makes what they show off the GUI thread, so
only the drawing happens here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from netstudio.tensors.heatmap_frames import MAX_SHAPE
from netstudio.tensors.heatmap_picture import symmetric_limit
from netstudio.tensors.layout import display_tensor
from netstudio.tensors.stats import TensorStats, tensor_stats
from netstudio.tensors.view2d import HeatmapView, heatmap_view

from ..heatmap.image import HeatmapPlot
from ..heatmap.stats import StatsPane
from ..param_tree_model import shape_text


@dataclass(frozen=True)
class Picture:
    """What a ``TensorView`` shows: a title (rich text), the 2-D view and the statistics."""

    title: str
    view: HeatmapView
    stats: TensorStats


def picture(title: str, tensor: torch.Tensor) -> Picture:
    """The picture of ``tensor`` under ``title``; any thread."""
    shown = display_tensor(tensor)
    dtype = str(tensor.dtype).removeprefix("torch.")
    facts = f"<span style='color:#777'>{shape_text(tuple(tensor.shape))} {dtype}</span>"
    return Picture(f"{title} {facts}", heatmap_view(shown, MAX_SHAPE), tensor_stats(shown))


class TensorView(QWidget):
    """Title above, picture beside histogram and statistics; ``shown`` fires once either is on screen."""

    shown = Signal()

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(name)
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
        self.title.setText(shown.title)
        self.drawing.draw(shown.view, reset_range=True)
        self.drawing.set_levels(symmetric_limit(shown.view.values))
        self.stats_pane.show_stats(shown.stats)
        self.stats_pane.show()
        self.picture.setCurrentWidget(self.drawing.widget)
        self._values = shown.view.values
        self.shown.emit()

    def show_message(self, text: str) -> None:
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
