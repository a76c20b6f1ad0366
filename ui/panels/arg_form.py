"""A form for an initialization scheme's arguments, built from its ``ArgSpec``s.

Floats get a ``QDoubleSpinBox`` that shows numbers as typed (``0.01``, not
``0.010000``), whole numbers a ``QSpinBox``, choices a ``QComboBox``; each
starts at the spec's default and stays within its minimum and maximum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QLocale, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

from netstudio.init import ArgSpec

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
