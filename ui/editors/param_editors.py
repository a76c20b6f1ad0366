"""Typed editors for hyperparameters, built from a block's ``ParamSpec``.

Each editor shows a value, parses what the user types, and checks it with
``ParamSpec.validate`` before anything reaches the model: a refused value
keeps the model unchanged and marks the field with a red border and a tooltip
saying why.  An accepted value is emitted once through ``committed``; the
properties panel turns it into one undo command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QSpinBox, QWidget

from netstudio.catalog import ParamSpec

INVALID_STYLE = "border: 1px solid #d93025; border-radius: 3px; padding: 1px 3px;"
INT_LIMIT = 2**31 - 1  # what a QSpinBox holds


def sentence(fragment: str) -> str:
    """``'p' must be ...`` -> ``'p' must be ....`` (the engine's messages are fragments)."""
    text = fragment.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


class ParamEditor(QWidget):
    """Base: ``set_value`` shows a model value; ``committed`` carries a validated new one."""

    committed = Signal(object)

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None):
        super().__init__(parent)
        self.spec = spec
        self.problem: str | None = None
        self.field: QWidget = self  # the widget that gets the red border; subclasses set it
        self.setToolTip(spec.doc)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def set_value(self, value: Any) -> None:
        self.field.blockSignals(True)
        try:
            self._show(value)
        finally:
            self.field.blockSignals(False)
        problem = self.spec.validate(value)
        self.show_problem(sentence(problem) if problem else None)

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def show_problem(self, message: str | None) -> None:
        self.problem = message
        self.field.setStyleSheet(INVALID_STYLE if message else "")
        self.field.setToolTip(message or self.spec.doc)

    def offer(self, value: Any) -> bool:
        """Validate ``value``; emit it if acceptable, else show why it is refused."""
        problem = self.spec.validate(value)
        if problem:
            self.show_problem(sentence(problem))
            return False
        self.show_problem(None)
        self.committed.emit(value)
        return True


class _RangeSpin(QSpinBox):
    """A spin box that says why an out-of-range number is refused while it is typed."""

    def __init__(self, editor: "IntEditor"):
        super().__init__(editor)
        self.editor = editor

    def validate(self, text: str, pos: int):
        result = super().validate(text, pos)
        try:
            number = int(text.strip())
        except ValueError:
            number = None
        if result[0] == QValidator.State.Acceptable or number is None:
            self.editor.show_problem(None)
        else:
            problem = self.editor.spec.validate(number)
            self.editor.show_problem(sentence(problem) if problem else None)
        return result


class IntEditor(ParamEditor):
    """A spin box within the spec's range; an optional int gets an "auto" box meaning None.

    Unticking "auto" fills in ``when_set()`` when it knows a number (the size the input gives a
    deferred layer), else the number last shown.
    """

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None):
        super().__init__(spec, parent)
        self.spin = self.field = _RangeSpin(self)
        lo = int(spec.minimum) if spec.minimum is not None else -INT_LIMIT
        hi = int(spec.maximum) if spec.maximum is not None else INT_LIMIT
        self.spin.setRange(lo, hi)
        self.spin.setKeyboardTracking(False)  # one commit per Enter, focus change or arrow step
        self.spin.valueChanged.connect(self.offer)
        self.spin.editingFinished.connect(lambda: self.show_problem(None))
        self._layout.addWidget(self.spin, 1)
        self.auto: QCheckBox | None = None
        self.when_set: Callable[[], int | None] | None = None
        if spec.optional:
            self.auto = QCheckBox("auto", self)
            self.auto.setToolTip(f"Leave {spec.name} unset: {spec.doc}" if spec.doc else f"Leave {spec.name} unset")
            self.auto.toggled.connect(self._on_auto)
            self._layout.addWidget(self.auto)

    def _show(self, value: Any) -> None:
        if self.auto is not None:
            self.auto.blockSignals(True)
            self.auto.setChecked(value is None)
            self.auto.blockSignals(False)
            self.spin.setEnabled(value is not None)
        if isinstance(value, int) and not isinstance(value, bool):
            self.spin.setValue(value)
        elif value is None:
            self.spin.clear()  # no number while unset; the value comes back when "auto" is unticked

    def _on_auto(self, checked: bool) -> None:
        self.spin.setEnabled(not checked)
        if checked:
            self.offer(None)
            return
        value = self.when_set() if self.when_set is not None else None
        if value is not None:
            self.spin.blockSignals(True)
            self.spin.setValue(value)
            self.spin.blockSignals(False)
        self.offer(self.spin.value())


class _TextEditor(ParamEditor):
    """A line edit whose text is parsed on Enter or focus change."""

    placeholder = ""

    def __init__(self, spec: ParamSpec, parent: QWidget | None = None):
        super().__init__(spec, parent)
        self.line = self.field = QLineEdit(self)
        self.line.setPlaceholderText("none" if spec.optional else self.placeholder)
        self.line.editingFinished.connect(self._on_edited)
        self._layout.addWidget(self.line)

    def _show(self, value: Any) -> None:
        self.line.setText("" if value is None else self.format(value))

    def _on_edited(self) -> None:
        text = self.line.text().strip()
        if not text and self.spec.optional:
            self.offer(None)
            return
        try:
            value = self.parse(text)
        except ValueError as err:
            self.show_problem(sentence(str(err)))
            return
        self.offer(value)

    def format(self, value: Any) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        raise NotImplementedError


class FloatEditor(_TextEditor):
    """Text rather than a spin box, so 1e-05 and 1e30 are as easy to type as 0.5."""

    placeholder = "a number"

    def format(self, value: Any) -> str:
        return repr(float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)

    def parse(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"'{self.spec.name}' must be a number such as 0.5 or 1e-5, not {text!r}") from None


_SEPARATORS = re.compile(r"[\s,x×]+")


class ListEditor(_TextEditor):
    """A shape or a list of ints, typed as ``2, 20``."""

    placeholder = "e.g. 2, 20"

    def format(self, value: Any) -> str:
        return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)

    def parse(self, text: str) -> list[int]:
        parts = [p for p in _SEPARATORS.split(text.strip("[]() ")) if p]
        try:
            return [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"'{self.spec.name}' must be whole numbers separated by commas, "
                             f"such as 3, 3") from None


class NameEditor(_TextEditor):
    """A name typed as text (a code block's class); ``problem_of(name)`` refuses a name with a sentence."""

    placeholder = "a name"

    def __init__(self, spec: ParamSpec, problem_of=None, parent: QWidget | None = None):
        super().__init__(spec, parent)
        self.problem_of = problem_of

    def format(self, value: Any) -> str:
        return str(value)

    def parse(self, text: str) -> str:
        problem = self.problem_of(text) if self.problem_of is not None else None
        if problem:
            raise ValueError(problem)
        return text


class JsonEditor(_TextEditor):
    """Nested values or an object of named values, as JSON."""

    placeholder = "JSON"

    def format(self, value: Any) -> str:
        return json.dumps(value)

    def parse(self, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as err:
            raise ValueError(f"'{self.spec.name}' is not valid JSON ({err.msg}, column {err.colno})") from None


class BoolEditor(ParamEditor):
    def __init__(self, spec: ParamSpec, parent: QWidget | None = None):
        super().__init__(spec, parent)
        self.box = self.field = QCheckBox(self)
        self.box.toggled.connect(self.offer)
        self._layout.addWidget(self.box)

    def _show(self, value: Any) -> None:
        self.box.setChecked(bool(value))


class ChoiceEditor(ParamEditor):
    """A fixed list (the spec's choices), or names from the project (definitions, code classes).

    With ``editable`` the user may type a name that is not in the list yet.
    """

    def __init__(self, spec: ParamSpec, options: list[Any], editable: bool = False, parent: QWidget | None = None):
        super().__init__(spec, parent)
        self.options = list(options)
        self.combo = self.field = QComboBox(self)
        self.combo.setEditable(editable)
        for option in self.options:
            self.combo.addItem(str(option), option)
        self.combo.activated.connect(lambda i: self.offer(self.combo.itemData(i)))
        if editable:
            self.combo.lineEdit().editingFinished.connect(self._on_typed)
        self._layout.addWidget(self.combo, 1)

    def _show(self, value: Any) -> None:
        index = self.combo.findData(value)
        if index < 0:  # a value from the file that is not an option: show it anyway
            self.combo.addItem(str(value), value)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)

    def _on_typed(self) -> None:
        text = self.combo.currentText().strip()
        self.offer(text)


def make_editor(spec: ParamSpec, options: list[Any] | None = None, editable: bool = False,
                parent: QWidget | None = None) -> ParamEditor:
    """The editor for ``spec``; ``options`` lists the project's names for a ``str`` parameter,
    ``editable`` lets the user type a new one."""
    if spec.kind == "int":
        return IntEditor(spec, parent)
    if spec.kind == "float":
        return FloatEditor(spec, parent)
    if spec.kind == "bool":
        return BoolEditor(spec, parent)
    if spec.kind == "choice":
        return ChoiceEditor(spec, list(spec.choices), parent=parent)
    if spec.kind in ("shape", "ints"):
        return ListEditor(spec, parent)
    if spec.kind == "str":
        return ChoiceEditor(spec, options or [], editable=editable, parent=parent)
    return JsonEditor(spec, parent)
