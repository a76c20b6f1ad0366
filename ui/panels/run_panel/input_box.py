"""The run panel's "Input" group: the shape and kind of the sample input the network runs on.

The shape starts as the project's example shape and follows it when the
network is rebuilt, until the person types another.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from netstudio.errors import RunError
from netstudio.run.typed_text import parse_shape

from ..form_pieces import FormGroup, keyed_combo, path_row

INPUT_KINDS = (("uniform", "Random uniform"), ("normal", "Random normal"), ("ones", "Ones"),
               ("file", "From a tensor file…"))
Browse = Callable[[QLineEdit, str], None]   # browse(edit, title): ask for a tensor file, put its path in edit


def file_row(group: FormGroup, combo: QComboBox, key: str, name: str, placeholder: str, browse: Browse,
             title: str) -> tuple[QWidget, QLineEdit]:
    """A row of ``group`` for a tensor file's path (a line edit named ``name``), shown only while
    ``combo`` has ``key`` chosen; returns (row, edit)."""
    row, edit = path_row(name, placeholder, lambda: browse(edit, title))
    group.form.addRow(row)

    def show(*_) -> None:
        row.setVisible(combo.currentData() == key)
    combo.currentIndexChanged.connect(show)
    show()
    return row, edit


class InputBox(FormGroup):
    """Shape, kind of values, and the file to read them from (shown for "From a tensor file…")."""

    def __init__(self, session, browse: Browse):
        super().__init__("Input")
        self.session = session
        self.shape_edit = QLineEdit()
        self.shape_edit.setObjectName("shapeEdit")
        self.shape_edit.setPlaceholderText("e.g. 2, 20 (batch, features)")
        self.form.addRow("Shape", self.shape_edit)
        self.kind_combo = keyed_combo("inputKind", INPUT_KINDS)
        self.form.addRow("Values", self.kind_combo)
        self.input_file_row, self.input_path = file_row(self, self.kind_combo, "file", "inputPath",
                                                        "a file holding one tensor", browse, "Input tensor")
        self._example_text = ""

    def input_spec(self) -> tuple[str, list[int] | None, str | None]:
        """(kind, shape, path) from the form; raises RunError for a bad shape or a missing file."""
        kind = self.kind_combo.currentData()
        path = self.input_path.text().strip() or None
        text = self.shape_edit.text().strip()
        if kind == "file":
            if path is None:
                raise RunError("Choose a file to read the input from.")
            return kind, (parse_shape(text) if text else None), path
        return kind, parse_shape(text), None

    def _example_shape_text(self) -> str:
        example = self.session.example_shape()
        return ", ".join(map(str, example[0])) if example else ""

    def show_example_shape(self) -> None:
        """Another project: its example shape, whatever was typed."""
        self._example_text = self._example_shape_text()
        self.shape_edit.setText(self._example_text)

    def follow_example_shape(self, *_) -> None:
        """The network was rebuilt: a shape nobody typed follows the new example shape."""
        new = self._example_shape_text()
        if self.shape_edit.text().strip() in ("", self._example_text) and new != self._example_text:
            self.shape_edit.setText(new)
        self._example_text = new
