"""Train…: what to train the saved project on, and where the run goes.

Asked through the module function ``ask_train_request`` so tests replace it
and never wait on a dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QSpinBox, QWidget)

from .train_process import TrainRequest


def _path_row(parent: QWidget, edit: QLineEdit, pick) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    button = QPushButton("Browse…", parent)
    button.clicked.connect(lambda: (lambda path: path and edit.setText(path))(pick()))
    row.addWidget(button)
    return row


class TrainDialog(QDialog):
    def __init__(self, parent: QWidget | None, project: Path):
        super().__init__(parent)
        self.setObjectName("trainDialog")
        self.setWindowTitle(f"Train {project.name}")
        self.project = project
        self.data = QLineEdit(self)
        self.data.setPlaceholderText("a .safetensors file holding x and y")
        self.run_dir = QLineEdit(str(project.parent / "runs" / project.stem), self)
        self.steps, self.batch, self.save_every = QSpinBox(self), QSpinBox(self), QSpinBox(self)
        for spin, value in ((self.steps, 500), (self.batch, 32), (self.save_every, 100)):
            spin.setRange(1, 100_000_000)
            spin.setValue(value)
        self.lr = QDoubleSpinBox(self)
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 10.0)
        self.lr.setValue(0.01)
        form = QFormLayout(self)
        form.addRow("Data", _path_row(self, self.data, lambda: QFileDialog.getOpenFileName(
            self, "Training Data", "", "Tensors (*.safetensors *.pt);;All files (*)")[0]))
        form.addRow("Run folder", _path_row(self, self.run_dir, lambda: QFileDialog.getExistingDirectory(
            self, "Run Folder")))
        form.addRow("Steps", self.steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Checkpoint every", self.save_every)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> TrainRequest:
        return TrainRequest(self.project, Path(self.data.text()), Path(self.run_dir.text()), self.steps.value(),
                            self.batch.value(), self.lr.value(), self.save_every.value())


def ask_train_request(parent: QWidget | None, project: Path) -> TrainRequest | None:
    dialog = TrainDialog(parent, project)
    try:
        return dialog.request() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()
