"""The run panel's "Train on a synthetic task" group: task, optimizer, learning rate, steps, batch size.

Regression: y = Xw + b + noise, mean squared error.  Classification: one
Gaussian blob per output, cross-entropy.  Both are sized from the input's
features and the network's outputs; Train always trains in train mode.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox

from ..arg_form import FloatSpin
from ..form_pieces import FormGroup, button_row, error_label, keyed_combo, named_button

TASKS = (("regression", "Regression"), ("classification", "Classification"))
OPTIMIZERS = (("sgd", "SGD"), ("adam", "Adam"))


def spin(name: str, lowest: int, highest: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(lowest, highest)
    box.setValue(value)
    return box


class TrainBox(FormGroup):
    """The training settings, the Train button and its error line."""

    def __init__(self):
        super().__init__("Train on a synthetic task")
        self.task_combo = keyed_combo("taskCombo", TASKS)
        self.task_combo.setToolTip("Regression: y = Xw + b + noise, mean squared error. Classification: one "
                                   "Gaussian blob per output, cross-entropy. Sized from the input's features "
                                   "and the network's outputs.")
        self.form.addRow("Task", self.task_combo)
        self.optimizer_combo = keyed_combo("optimizerCombo", OPTIMIZERS)
        self.form.addRow("Optimizer", self.optimizer_combo)
        self.lr_spin = FloatSpin()
        self.lr_spin.setObjectName("lrSpin")
        self.lr_spin.setRange(1e-8, 100.0)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setValue(0.01)
        self.form.addRow("Learning rate", self.lr_spin)
        self.steps_spin = spin("stepsSpin", 1, 10_000_000, 30)
        self.form.addRow("Steps", self.steps_spin)
        self.batch_spin = spin("batchSpin", 1, 1_000_000, 32)
        self.form.addRow("Batch size", self.batch_spin)
        self.train_button = named_button("mdi6.school-outline", "Train", "trainButton")
        self.form.addRow(button_row(self.train_button))
        self.train_error = error_label("trainError")
        self.form.addRow(self.train_error)
