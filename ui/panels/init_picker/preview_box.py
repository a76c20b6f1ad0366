"""The picker's "Preview" group: the histogram of what the scheme would draw for one target,
over the target's current values in grey, and a line of numbers about it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QLabel, QVBoxLayout
from torch.nn.parameter import UninitializedParameter

from netstudio.errors import NetStudioError
from netstudio.init import ResolvedParam
from netstudio.init.preview import describe, histogram, preview_values, shape_text

from ..form_pieces import fill_combo, labelled
from ..small_plot import small_plot

PREVIEW_LIMIT = 2**24  # elements; larger targets are not previewed
PREVIEW_COLOR = "#2f6fed"
CURRENT_COLOR = "#9aa3b2"


class PreviewBox(QGroupBox):
    """Which target (``target_combo``), the two histograms, and ``preview_label``; ``tensor``, ``edges``
    and ``counts`` are what the last preview drew (None when it drew nothing)."""

    def __init__(self):
        super().__init__("Preview (nothing changes until Apply)")
        self.tensor: torch.Tensor | None = None
        self.edges: np.ndarray | None = None
        self.counts: np.ndarray | None = None
        layout = QVBoxLayout(self)
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("previewTarget")
        layout.addWidget(labelled("Shape of", self.target_combo))
        self.plot = small_plot("previewPlot", 80, 140)
        self.plot.getPlotItem().setMouseEnabled(x=False, y=False)
        self.plot.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
        layout.addWidget(QLabel(f"<span style='color:{PREVIEW_COLOR}'>■</span> after Apply &nbsp; "
                                f"<span style='color:{CURRENT_COLOR}'>■</span> now"))
        self.current_curve = self.plot.plot([0, 1], [0], stepMode="center", fillLevel=0, name="now",
                                            pen=pg.mkPen(CURRENT_COLOR), brush=pg.mkBrush(154, 163, 178, 90))
        self.preview_curve = self.plot.plot([0, 1], [0], stepMode="center", fillLevel=0, name="after Apply",
                                            pen=pg.mkPen(PREVIEW_COLOR, width=1.5), brush=pg.mkBrush(47, 111, 237, 110))
        layout.addWidget(self.plot)
        self.preview_label = QLabel()
        self.preview_label.setObjectName("previewStats")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.preview_label)

    def set_targets(self, matches: list[ResolvedParam]) -> None:
        """The tensors a scope matches, keeping the one shown when it still matches (no signal)."""
        fill_combo(self.target_combo, [(f"{m.name}  {shape_text(m.tensor)}", m.name) for m in matches])

    def show_preview(self, target: ResolvedParam | None, scheme_name: str, args: dict) -> None:
        """Draw what ``scheme_name`` with ``args`` would give ``target``, or say why there is nothing to draw."""
        self.tensor = self.edges = self.counts = None
        if target is None:
            self._show(None, None, "Choose what to initialize to see a preview.")
        elif isinstance(target.tensor, UninitializedParameter):
            self._show(None, None, f"'{target.name}' is not created yet (deferred initialization): its shape is "
                                   "known after the first forward pass, and Apply initializes it then.")
        elif target.tensor.numel() > PREVIEW_LIMIT:
            self._show(None, None, f"'{target.name}' has {target.tensor.numel():,} values, too many to preview.")
        else:
            try:
                values = preview_values(scheme_name, args, target)
            except NetStudioError as err:
                self._show(None, target.tensor, str(err))
                return
            self.tensor = values
            self._show(values, target.tensor,
                       f"Would draw for {target.name} {shape_text(target.tensor)}: {describe(values)}")

    def _show(self, values: torch.Tensor | None, current: torch.Tensor | None, text: str) -> None:
        """Histograms of ``values`` (blue) over ``current`` (grey), either may be None, and ``text``."""
        pairs = [(self.preview_curve, values), (self.current_curve, current)]
        drawn = [(curve, t) for curve, t in pairs if t is not None and not isinstance(t, UninitializedParameter)]
        edges, counts = histogram(*(t for _, t in drawn)) if drawn else (None, [])
        if values is not None:
            self.edges, self.counts = edges, counts[0]
        for curve, _ in pairs:
            if all(curve is not shown for shown, _ in drawn):
                curve.setData([0, 1], [0])
        for (curve, _), count in zip(drawn, counts):
            curve.setData(edges, count)
        self.preview_label.setText(text)
