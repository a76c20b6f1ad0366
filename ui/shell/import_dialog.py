"""File → Import PyTorch Model…: which model, and the shape of its input.

Three sources: a Python file and a name in it (listed from the file's syntax,
without running it), a torchvision model (when torchvision is installed), or
an ONNX file, read as data, whose input shapes come from the file unless given.
The dialog only collects the choice; the import itself runs in
``FileActions.import_model``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QTabWidget, QVBoxLayout, QWidget)

from netstudio.catalog import DTYPES
from netstudio.errors import NetStudioError
from netstudio.importer.candidates import model_names
from netstudio.run.typed_text import parse_shape

# Listed without importing torchvision (its import is slow, and may fail beside a CPU-only torch).
TORCHVISION_MODELS = ("alexnet", "vgg11", "vgg16", "resnet18", "resnet34", "resnet50", "googlenet", "densenet121",
                      "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "squeezenet1_0", "shufflenet_v2_x1_0",
                      "regnet_y_400mf", "convnext_tiny", "vit_b_16", "swin_t")


DEFAULT_SHAPE = "1,3,224,224"


@dataclass(frozen=True)
class ImportChoice:
    source: str                       # what ``netstudio.importer.import_source`` reads
    shapes: tuple[tuple[int, ...], ...]   # empty for an ONNX file's own shapes
    dtype: str


class ImportModelDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, folder: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Import PyTorch Model")
        self.setObjectName("importModelDialog")
        self.choice: ImportChoice | None = None
        self.tabs = QTabWidget()
        self.py_path, self.py_name = QLineEdit(), QComboBox()
        self.py_name.setEditable(True)
        self.py_path.setPlaceholderText("path/to/model.py")
        self.py_path.editingFinished.connect(self._list_names)
        self.tabs.addTab(self._file_tab(self.py_path, "Python files (*.py)", folder, [("Model", self.py_name)]),
                         "Python file")
        self.vision = QComboBox()
        self.vision.addItems(TORCHVISION_MODELS)
        self.vision.setEditable(True)
        vision_tab = QWidget()
        form = QFormLayout(vision_tab)
        form.addRow("Model", self.vision)
        form.addRow(QLabel("Built with random weights (weights=None)."))
        index = self.tabs.addTab(vision_tab, "torchvision")
        self.tabs.setTabEnabled(index, importlib.util.find_spec("torchvision") is not None)
        self.onnx_path = QLineEdit()
        self.onnx_path.setPlaceholderText("path/to/model.onnx")
        self.onnx_tab = self.tabs.addTab(self._file_tab(self.onnx_path, "ONNX files (*.onnx)", folder, [
            ("", QLabel("Read as data: nothing in the file runs. The input shape comes from the file;\n"
                        "give it below only where the file leaves a dimension open."))]), "ONNX file")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.shapes = QLineEdit(DEFAULT_SHAPE)
        self.shapes.setObjectName("importShapes")
        self.shapes.setToolTip("One shape per input, batch first; several inputs separated by ';'")
        self.dtype = QComboBox()
        self.dtype.addItems(list(DTYPES))
        self.error = QLabel()
        self.error.setObjectName("importError")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        inputs = QFormLayout()
        inputs.addRow("Input shape", self.shapes)
        inputs.addRow("Input dtype", self.dtype)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addLayout(inputs)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def _file_tab(self, path: QLineEdit, filter_: str, folder: str, rows) -> QWidget:
        tab = QWidget()
        form = QFormLayout(tab)
        row = QHBoxLayout()
        row.addWidget(path)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(path, filter_, folder))
        row.addWidget(browse)
        form.addRow("File", row)
        for label, widget in rows:
            form.addRow(label, widget)
        return tab

    def _browse(self, path: QLineEdit, filter_: str, folder: str) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose a model file", path.text() or folder, filter_)
        if chosen:
            path.setText(chosen)
            if path is self.py_path:
                self._list_names()

    def _tab_changed(self, index: int) -> None:
        """An ONNX file says its own input shape: the field starts empty there, and the example comes back
        for the other sources."""
        onnx = index == self.onnx_tab
        if onnx and self.shapes.text() == DEFAULT_SHAPE:
            self.shapes.clear()
        elif not onnx and not self.shapes.text().strip():
            self.shapes.setText(DEFAULT_SHAPE)
        self.shapes.setPlaceholderText("from the file" if onnx else "")
        self.dtype.setEnabled(not onnx)

    def _list_names(self) -> None:
        current = self.py_name.currentText()
        self.py_name.clear()
        self.py_name.addItems(model_names(self.py_path.text()))
        if current:
            self.py_name.setCurrentText(current)

    def source(self) -> str:
        """The source text for the chosen tab; raises NetStudioError when something is missing."""
        tab = self.tabs.currentIndex()
        if tab == self.onnx_tab:
            path = self.onnx_path.text().strip()
            if not path.lower().endswith(".onnx"):
                raise NetStudioError("Choose an ONNX file (.onnx).")
            return path
        if tab == 0:
            path, name = self.py_path.text().strip(), self.py_name.currentText().strip()
            if not path or not name:
                raise NetStudioError("Choose a Python file and the model in it.")
            return f"{path}:{name}"
        name = self.vision.currentText().strip()
        if not name.isidentifier():
            raise NetStudioError("Choose a torchvision model.")
        return f"torchvision.models:{name}"

    def accept(self) -> None:
        try:
            source = self.source()
            text = self.shapes.text().strip()
            shapes = () if not text and self.tabs.currentIndex() == self.onnx_tab else \
                tuple(tuple(parse_shape(part, minimum=0)) for part in text.split(";"))
        except NetStudioError as err:
            self.error.setText(str(err))
            return
        onnx = self.tabs.currentIndex() == self.onnx_tab   # the file says its inputs' dtypes
        self.choice = ImportChoice(source, shapes, "float32" if onnx else self.dtype.currentText())
        super().accept()


def ask_import(parent: QWidget | None, folder: str = "") -> ImportChoice | None:
    """The user's choice, or None when they cancel (tests replace this function)."""
    dialog = ImportModelDialog(parent, folder or str(Path.home()))
    return dialog.choice if dialog.exec() == QDialog.DialogCode.Accepted else None
