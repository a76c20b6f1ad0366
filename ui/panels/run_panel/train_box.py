"""The run panel's "Train" group: what to train on, the loss, optimizer, learning rate, steps, batch size.

The data is a synthetic task or a dataset file.  Regression: y = Xw + b +
noise, mean squared error.  Classification: one Gaussian blob per output,
cross-entropy.  Both are sized from the input's features and the network's
outputs.  "Shapes (bundled)" is the small image dataset that ships with the
app (``resources/datasets``, drawn by ``make_shapes.py``); "Dataset file…" is
any ``.safetensors`` or ``.pt`` file holding ``x`` and ``y``, samples along
dim 0, of any rank, trained on with the loss chosen under it.  The last
file chosen is remembered while the app runs, for every Run panel.  Train
always trains in train mode.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QWidget

from netstudio.run.shapes_dataset import BUNDLED_SHAPES

from ..arg_form import FloatSpin
from ..form_pieces import FormGroup, button_row, error_label, keyed_combo, named_button, path_row

# Short enough for the combo of a 1366-pixel Train perspective; the tooltip says they are synthetic.
TASKS = (("regression", "Regression"), ("classification", "Classification"),
         ("shapes", "Shapes (bundled)"), ("file", "Dataset file…"))
SYNTHETIC = ("regression", "classification")
LOSSES = (("cross_entropy", "Cross-entropy"), ("mse", "MSE"))
OPTIMIZERS = (("sgd", "SGD"), ("adam", "Adam"))
DATA_TIP = ("Regression (synthetic): y = Xw + b + noise, mean squared error. Classification (synthetic): one "
            "Gaussian blob per output, "
            "cross-entropy. Both are sized from the input's features and the network's outputs. Shapes: "
            f"{BUNDLED_SHAPES.name}, 28×28 images of squares, circles, triangles and crosses (x: N×1×28×28, "
            "y: class 0–3). A dataset file: a .safetensors or .pt file holding 'x' and 'y', samples along dim 0.")
remembered = {"path": ""}   # the last dataset file chosen, for every Run panel, while the app runs


def spin(name: str, lowest: int, highest: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(lowest, highest)
    box.setValue(value)
    return box


def pair(first: QWidget, label: QLabel | str, second: QWidget) -> QWidget:
    """Two fields in one form row, the second after its own ``label``: a shorter group."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(first, 1)
    row.addWidget(label if isinstance(label, QLabel) else QLabel(label))
    row.addWidget(second, 1)
    return box


class TrainBox(FormGroup):
    """The training settings, the Train button and its error line; ``data_note`` says what the chosen
    dataset holds, or in one red sentence why it cannot be trained on."""

    def __init__(self, browse):
        super().__init__("Train")
        self.task_combo = keyed_combo("taskCombo", TASKS)
        self.task_combo.setToolTip(DATA_TIP)
        self.loss_combo = keyed_combo("lossCombo", LOSSES)
        self.loss_combo.setToolTip("The loss for a dataset: cross-entropy for class indices (or probabilities) "
                                   "in 'y', mean squared error for values shaped like the output.")
        self.form.addRow("Data", self.task_combo)
        self.data_file_row, self.data_path = path_row("dataPath", "a .safetensors or .pt file with x and y",
                                                      lambda: browse(self.data_path, "Dataset"))
        self.data_path.setText(remembered["path"])
        self.form.addRow(self.data_file_row)
        self.loss_label = QLabel("Loss")
        self.form.addRow(self.loss_label, self.loss_combo)
        self.data_note = error_label("dataNote")
        self.form.addRow(self.data_note)
        self.optimizer_combo = keyed_combo("optimizerCombo", OPTIMIZERS)
        self.optimizer_combo.setMinimumWidth(64)
        self.lr_spin = FloatSpin()
        self.lr_spin.setObjectName("lrSpin")
        self.lr_spin.setRange(1e-8, 100.0)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setValue(0.01)
        self.lr_spin.setMinimumWidth(64)
        self.lr_spin.setToolTip("Learning rate")
        self.form.addRow("Optimizer", pair(self.optimizer_combo, "lr", self.lr_spin))
        self.steps_spin = spin("stepsSpin", 1, 10_000_000, 30)
        self.batch_spin = spin("batchSpin", 1, 1_000_000, 32)
        self.batch_spin.setToolTip("Batch size: samples per step")
        for box in (self.steps_spin, self.batch_spin):
            box.setMinimumWidth(56)   # narrower than the widest number they take, so two share a row
        self.form.addRow("Steps", pair(self.steps_spin, "batch", self.batch_spin))
        self.train_button = named_button("mdi6.school-outline", "Train", "trainButton")
        self.form.addRow(button_row(self.train_button))
        self.train_error = error_label("trainError")
        self.form.addRow(self.train_error)
        self.task_combo.currentIndexChanged.connect(self._show_data_rows)
        self._show_data_rows()

    @property
    def source(self) -> str:
        """The data chosen: "regression", "classification", "shapes" or "file"."""
        return self.task_combo.currentData()

    @property
    def loss(self) -> str:
        return self.loss_combo.currentData()

    def dataset_path(self) -> str | None:
        """The dataset file the choice names (None for a synthetic task, or no file yet)."""
        if self.source == "shapes":
            return str(BUNDLED_SHAPES)
        if self.source == "file":
            return self.data_path.text().strip() or None
        return None

    def _show_data_rows(self, *_) -> None:
        dataset = self.source not in SYNTHETIC
        self.loss_label.setVisible(dataset)
        self.loss_combo.setVisible(dataset)
        self.data_file_row.setVisible(self.source == "file")
        if not dataset:
            self.show_note("")

    def show_note(self, message: str, error: bool = False) -> None:
        """What the dataset holds (grey), or why it cannot be trained on (red); hidden when empty."""
        self.data_note.setStyleSheet("color: #d93025;" if error else "color: #555;")
        self.data_note.setText(message)
        self.data_note.setVisible(bool(message))
