"""A form for an initialization scheme's arguments, built from its ``ArgSpec``s,
and the small form pieces the panels share (scroll pages, keyed combos, path
rows, error labels, shapes and indices typed as text).

Floats get a ``QDoubleSpinBox`` that shows numbers as typed (``0.01``, not
``0.010000``), whole numbers a ``QSpinBox``, choices a ``QComboBox``; each
starts at the spec's default and stays within its minimum and maximum.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import qtawesome as qta
import torch
from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from netstudio.errors import NetStudioError, RunError
from netstudio.init import ArgSpec

ERROR_STYLE = "color: #d93025;"
FLOAT_LIMIT = 1e9
INT_LIMIT = 2**31 - 1


def plain_number(value: float) -> str:
    """``0.01`` -> "0.01", ``42.0`` -> "42", up to 8 decimals, never scientific notation."""
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class FloatSpin(QDoubleSpinBox):
    """A double spin box without trailing zeros."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setLocale(QLocale.c())
        self.setDecimals(8)
        self.setRange(-FLOAT_LIMIT, FLOAT_LIMIT)
        self.setSingleStep(0.1)
        self.setKeyboardTracking(False)
        self.setMinimumWidth(90)

    def textFromValue(self, value: float) -> str:
        return plain_number(value)


class ArgForm(QWidget):
    """Fields for a list of ``ArgSpec``; ``values()`` gives ``{name: value}``, ``changed`` fires on edits."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fields: dict[str, QWidget] = {}
        self.specs: tuple[ArgSpec, ...] = ()
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._empty = QLabel("This scheme has no arguments.")
        self._empty.setEnabled(False)

    def set_specs(self, specs: Sequence[ArgSpec]) -> None:
        """Rebuild the fields, each at its default."""
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._empty = QLabel("This scheme has no arguments.")
        self._empty.setEnabled(False)
        self.fields.clear()
        self.specs = tuple(specs)
        if not self.specs:
            self._layout.addRow(self._empty)
        for spec in self.specs:
            field = self._make(spec)
            field.setObjectName(f"arg_{spec.name}")
            field.setToolTip(spec.label)
            self.fields[spec.name] = field
            self._layout.addRow(spec.label.capitalize(), field)
        self.changed.emit()

    def _make(self, spec: ArgSpec) -> QWidget:
        if spec.type == "choice":
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            combo.setCurrentText(str(spec.default))
            combo.currentIndexChanged.connect(lambda *_: self.changed.emit())
            return combo
        spin: QSpinBox | QDoubleSpinBox
        if spec.type == "int":
            spin = QSpinBox()
            spin.setRange(int(spec.minimum) if spec.minimum is not None else -INT_LIMIT,
                          int(spec.maximum) if spec.maximum is not None else INT_LIMIT)
            spin.setKeyboardTracking(False)
        else:
            spin = FloatSpin()
            spin.setRange(spec.minimum if spec.minimum is not None else -FLOAT_LIMIT,
                          spec.maximum if spec.maximum is not None else FLOAT_LIMIT)
        spin.setValue(spec.default)
        spin.valueChanged.connect(lambda *_: self.changed.emit())
        return spin

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in self.specs:
            field = self.fields[spec.name]
            if isinstance(field, QComboBox):
                out[spec.name] = field.currentText()
            elif isinstance(field, QSpinBox):
                out[spec.name] = int(field.value())
            else:
                out[spec.name] = float(field.value())
        return out

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (unknown names are ignored); ``changed`` fires once."""
        self.blockSignals(True)
        try:
            for name, value in values.items():
                field = self.fields.get(name)
                if isinstance(field, QComboBox):
                    field.setCurrentText(str(value))
                elif field is not None:
                    field.setValue(value)
        finally:
            self.blockSignals(False)
        self.changed.emit()


class ScrollPage(QWidget):
    """The page inside a panel's ``QScrollArea``: tall enough for its word-wrapped labels.

    A scroll area sizes its page by the layout's minimum size, which ignores
    height-for-width (wrapped labels), so long text would overlap what follows;
    this page asks its layout for the height its current width needs.
    """

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            need = layout.heightForWidth(self.width())
            if need > 0 and need != self.minimumHeight():
                self.setMinimumHeight(need)


def scroll_page(owner: QWidget) -> tuple[QWidget, QVBoxLayout]:
    """A frameless vertical scroll area filling ``owner``; returns its page and the page's layout."""

    outer = QVBoxLayout(owner)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea(owner)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    outer.addWidget(scroll)
    page = ScrollPage()
    scroll.setWidget(page)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(8, 8, 8, 8)
    layout.setSpacing(8)
    return page, layout


def compact(*combos: QComboBox, length: int = 8) -> None:
    """Let combos shrink with a narrow dock instead of growing to their longest entry."""
    for combo in combos:
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(length)


def keyed_combo(name: str, items) -> QComboBox:
    """A compact combo named ``name`` of ``(key, label)`` items; ``currentData()`` is the key."""
    combo = QComboBox()
    combo.setObjectName(name)
    compact(combo)
    for key, label in items:
        combo.addItem(label, key)
    return combo


def path_row(edit_name: str, placeholder: str, browse) -> tuple[QWidget, QLineEdit]:
    """A line edit for a file path with a browse button beside it; returns (row, edit)."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    edit = QLineEdit()
    edit.setObjectName(edit_name)
    edit.setPlaceholderText(placeholder)
    button = QPushButton(qta.icon("mdi6.folder-open-outline"), "")
    button.setToolTip("Choose a file…")
    button.clicked.connect(browse)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return box, edit


def error_label(name: str) -> QLabel:
    """A red, selectable, word-wrapped sentence, hidden until it has something to say."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def parse_shape(text: str) -> list[int]:
    """ "2, 20", "(2, 20)", "2x20" or "2 20" -> [2, 20]."""
    inner = text.strip().removeprefix("(").removeprefix("[").removesuffix(")").removesuffix("]").strip()
    valid = re.fullmatch(r"\d+(?:\s*[,x×]\s*\d+|\s+\d+)*\s*,?", inner)
    shape = [int(n) for n in re.findall(r"\d+", inner)] if valid else []
    if not shape or any(n < 1 for n in shape):
        raise RunError(f"'{text.strip()}' is not a shape; type whole numbers of at least 1, such as 2, 20.")
    return shape


def parse_index(text: str) -> tuple[int, ...]:
    """ "0, 0" or "[0][0]" or "0 0" -> (0, 0)."""
    cleaned = text.replace("[", " ").replace("]", " ").replace(",", " ").split()
    if not cleaned:
        raise NetStudioError("Type the element's index, such as 0, 0.")
    try:
        return tuple(int(part) for part in cleaned)
    except ValueError:
        raise NetStudioError(f"'{text.strip()}' is not an index; type whole numbers such as 0, 0.") from None


def format_tensor(t: torch.Tensor) -> str:
    values = t.detach().to("cpu")
    if values.is_floating_point():
        values = values.float()
    return np.array2string(values.numpy(), precision=4, suppress_small=True, threshold=400, edgeitems=4,
                           max_line_width=100)


def describe_output(t: torch.Tensor) -> str:
    dtype = str(t.dtype).removeprefix("torch.")
    return f"Output: shape {tuple(t.shape)} · {dtype} · {t.device}"


def labelled(label: str, widget: QWidget) -> QWidget:
    """``label`` and then ``widget``, in one row."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(QLabel(label))
    row.addWidget(widget, 1)
    return box


def fill_combo(combo: QComboBox, items: list[tuple[str, str]], default: str | None = None) -> None:
    """Replace ``combo``'s items, keeping the current choice when it is still there."""
    current = combo.currentData() if combo.count() else default
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    index = combo.findData(current)
    if index < 0 and default is not None:
        index = combo.findData(default)
    combo.setCurrentIndex(max(index, 0))
    combo.blockSignals(False)
