"""One parameter at one checkpoint: a slider over the saved steps, a combo of the checkpoint's tensors,
and the chosen tensor's heatmap and statistics.

The file's header is read and the one tensor loaded (``Entry.load``: safetensors'
``safe_open`` of that tensor only) in the background; the name chosen stays
chosen as the slider moves, as long as the checkpoint has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from netstudio.files.checkpoint import open_checkpoint

from .jobs import Jobs
from .run_files import Saved
from .tensor_view import Picture, TensorView, picture

PRIORITY = 1   # the picture on show goes before waiting diffs and statistics


@dataclass(frozen=True)
class _Shown:
    names: list[str]
    name: str
    picture: Picture | None


def _read(saved: Saved, wanted: str) -> _Shown:
    """The tensor names of ``saved`` and the picture of ``wanted`` (of the first tensor if it has none)."""
    checkpoint = open_checkpoint(saved.path)
    names = [e.name for e in checkpoint.tensors()]
    name = wanted if wanted in names else (names[0] if names else "")
    shown = picture(f"<b>{name}</b> <span style='color:#777'>· {saved.label}</span>",
                    checkpoint[name].load()) if name else None
    return _Shown(names, name, shown)


class CheckpointPage(QWidget):
    """``slider`` (one position per checkpoint), ``step_label``, ``tensor_combo`` and ``view``."""

    def __init__(self, jobs: Jobs, parent: QWidget | None = None):
        super().__init__(parent)
        self.jobs = jobs
        self.saved: list[Saved] = []
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("runsStepSlider")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setToolTip("The checkpoint to look at, in the order the run saved them")
        self.slider.valueChanged.connect(lambda _: self.show_current())
        self.step_label = QLabel(self)
        self.step_label.setObjectName("runsStepLabel")
        self.step_label.setMinimumWidth(self.step_label.fontMetrics().horizontalAdvance("step 0000000"))
        self.tensor_combo = QComboBox(self)
        self.tensor_combo.setObjectName("runsTensorCombo")
        self.tensor_combo.setToolTip("The parameter to show, by its name in the checkpoint")
        self.tensor_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.tensor_combo.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.tensor_combo.currentTextChanged.connect(lambda _: self.show_current())
        self.view = TensorView("runsCheckpointView", self, jobs)
        top = QHBoxLayout()
        top.addWidget(QLabel("Checkpoint", self))
        top.addWidget(self.slider, 1)
        top.addWidget(self.step_label)
        top.addWidget(self.tensor_combo)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.addLayout(top)
        column.addWidget(self.view, 1)
        self.show_current()

    def set_saved(self, saved: list[Saved]) -> None:
        """The run's checkpoints so far; a slider at the newest follows new ones as they come."""
        if saved == self.saved:
            return
        at_end = self.slider.value() >= len(self.saved) - 1
        current = self.saved[self.slider.value()] if self.saved else None
        self.saved = list(saved)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(saved) - 1, 0))
        index = len(saved) - 1 if at_end or current not in saved else saved.index(current)
        self.slider.setValue(max(index, 0))
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(saved) > 1)
        self.show_current()

    def show_current(self) -> None:
        if not self.saved:
            self.step_label.setText("")
            self.view.show_message("No checkpoint saved yet.")
            return
        saved = self.saved[self.slider.value()]
        self.step_label.setText(saved.label)
        wanted = self.tensor_combo.currentText()
        self.jobs.start("checkpoint", lambda: _read(saved, wanted), self._show, priority=PRIORITY)

    def _show(self, shown: _Shown | None, error: str) -> None:
        if shown is None:
            self.view.show_message(error)
            return
        if [self.tensor_combo.itemText(i) for i in range(self.tensor_combo.count())] != shown.names:
            self.tensor_combo.blockSignals(True)
            self.tensor_combo.clear()
            self.tensor_combo.addItems(shown.names)
            self.tensor_combo.blockSignals(False)
        self.tensor_combo.blockSignals(True)
        self.tensor_combo.setCurrentText(shown.name)
        self.tensor_combo.blockSignals(False)
        if shown.picture is None:
            self.view.show_message("This checkpoint holds no tensors.")
        else:
            self.view.show_picture(shown.picture)
