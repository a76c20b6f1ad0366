"""The run panel's results column: progress and Cancel, the status line, the loss curve, and what
the last run gave (the output, or the gradients' norms), with the mode it ran in said in words."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QVBoxLayout

from netstudio.run.smoothing import smoothed
from netstudio.tensors.number_text import output_summary, tensor_text

from ..form_pieces import beside, named_button

NO_OUTPUT = "No output yet: press Forward."
MODE_WORDS = {
    "eval": "Ran in eval mode: Dropout off, BatchNorm uses its running statistics (nothing in the network "
            "changes, so two runs agree).",
    "train": "Ran in train mode: Dropout zeroes random values, BatchNorm normalises with this batch's "
             "statistics and updates its running ones.",
}


LOSS_PLOT_HEIGHTS = (130, 240)   # pixels: the loss curve's least and greatest height
OUTPUT_HEIGHT = 48               # pixels: the least height of the output's text


class LossPlot(pg.PlotWidget):
    """The loss curve's plot: it asks for its least height only, so the panel's page (sized by what its
    column prefers) needs no scrolling in a short dock; a taller dock gives the spare height to the text."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class OutputText(QPlainTextEdit):
    """The output's text, asking for its least height only (see ``LossPlot``)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class RunResults:
    """The widgets of the column, laid out in ``column``; ``losses`` is the curve's data."""

    def __init__(self, column: QVBoxLayout, font_size: float):
        self.losses: list[float] = []
        self.progress = QProgressBar()
        self.progress.setObjectName("runProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m steps")
        self.progress.setTextVisible(False)
        self.cancel_button = named_button("mdi6.stop", "Cancel", "cancelButton")
        self.cancel_button.setEnabled(False)
        column.addLayout(beside(self.progress, self.cancel_button))
        self.status = QLabel()
        self.status.setObjectName("runStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.status)
        column.addWidget(self._loss_plot())
        column.addLayout(self._loss_options())
        self.output_label = QLabel(NO_OUTPUT)
        self.output_label.setObjectName("outputShape")
        self.output_label.setWordWrap(True)   # a narrow column wraps it instead of widening the panel
        self.show_output_button = named_button("mdi6.grid", "Inspect", "showOutput", tooltip="Show the output in "
                                               "the tensor views (heatmap, statistics).")
        self.show_output_button.setEnabled(False)
        column.addLayout(beside(self.output_label, self.show_output_button))
        self.mode_label = QLabel()
        self.mode_label.setObjectName("runModeLabel")
        self.mode_label.setWordWrap(True)
        self.mode_label.setStyleSheet("color: #555;")
        column.addWidget(self.mode_label)
        self.output_text = OutputText()
        self.output_text.setObjectName("outputText")
        self.output_text.setReadOnly(True)
        self.output_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font_size - 1, 8))
        self.output_text.setFont(font)
        self.output_text.setMinimumHeight(OUTPUT_HEIGHT)
        column.addWidget(self.output_text, 1)

    def _loss_plot(self) -> pg.PlotWidget:
        self.loss_plot = LossPlot(background="w")   # as small_plot makes them, with the smaller size hint
        self.loss_plot.setObjectName("lossPlot")
        self.loss_plot.setMinimumHeight(LOSS_PLOT_HEIGHTS[0])
        self.loss_plot.setMaximumHeight(LOSS_PLOT_HEIGHTS[1])
        self.loss_plot.setMenuEnabled(False)
        self.loss_plot.hideButtons()
        item = self.loss_plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "step")
        item.setLabel("left", "loss")
        self.loss_raw = self.loss_plot.plot([], [], pen=pg.mkPen("#2f6fed", width=1, alpha=0.3))
        self.loss_raw.setAlpha(0.3, False)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#2f6fed", width=2))
        return self.loss_plot

    def _loss_options(self) -> QHBoxLayout:
        """Log scale and smoothing: a loss falling over decades, or a noisy one, becomes readable."""
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setObjectName("lossLogScale")
        self.smooth = QCheckBox("Smooth")
        self.smooth.setObjectName("lossSmooth")
        self.smooth.setToolTip("A moving average of the loss (the raw values stay, faint, behind it).")
        for box in (self.log_scale, self.smooth):
            box.toggled.connect(self.draw_losses)
        row = QHBoxLayout()
        row.addWidget(self.log_scale)
        row.addWidget(self.smooth)
        row.addStretch(1)
        return row

    def draw_losses(self) -> None:
        if not self.losses:
            self.loss_curve.setData([], [])
            self.loss_raw.setData([], [])
            return
        steps, values = np.arange(1, len(self.losses) + 1), np.asarray(self.losses, dtype=float)
        positive = bool(np.all(values[np.isfinite(values)] > 0))
        log = self.log_scale.isChecked() and positive
        self.log_scale.setToolTip("" if positive else "The loss has values at or below 0, which a log scale "
                                                      "cannot show.")
        self.loss_plot.getPlotItem().setLogMode(y=log)
        if self.smooth.isChecked():
            self.loss_raw.setData(steps, values)
            self.loss_curve.setData(steps, np.asarray(smoothed(self.losses)))
        else:
            self.loss_raw.setData([], [])
            self.loss_curve.setData(steps, values)

    def clear(self) -> None:
        """Nothing run yet: no curve, no output, an empty bar."""
        self.losses.clear()
        self.draw_losses()
        self.output_label.setText(NO_OUTPUT)
        self.output_text.clear()
        self.show_output_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.mode_label.clear()

    def show_mode(self, mode: str | None) -> None:
        self.mode_label.setText(MODE_WORDS.get(mode, ""))

    def show_output(self, output: torch.Tensor) -> None:
        self.output_label.setText(output_summary(output))
        self.output_text.setPlainText(tensor_text(output))
        self.show_output_button.setEnabled(True)

    def show_gradients(self, label: str, gradients: dict[str, torch.Tensor], output: torch.Tensor | None) -> None:
        """The norm of each gradient of the objective written ``label`` (and the output's shape, if any)."""
        if output is not None:
            self.output_label.setText(output_summary(output))
            self.show_output_button.setEnabled(True)
        lines = [f"Gradients of {label} ({len(gradients)} tensors):", ""]
        width = max((len(n) for n in gradients), default=4)
        for name, grad in gradients.items():
            lines.append(f"{name:<{width}}  shape {tuple(grad.shape)!s:<12}  ‖grad‖ = {grad.norm().item():.6g}")
        self.output_text.setPlainText("\n".join(lines))
