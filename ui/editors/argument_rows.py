"""The properties panel's rows for constructor arguments (``netstudio/graph/arguments.py``).

* A definition's own arguments: name, default and a remove button per row,
  and "Add argument".  Renaming renames every reference and what every use
  passes; removing keeps the default as the value where it was used.
* A hyperparameter inside a definition with arguments: a small ``ƒ`` button
  whose menu makes it take an argument (``c1``, ``k[0]``) or a value again; a
  hyperparameter taking an argument shows ``= c1`` instead of its editor.
* A Block or Sequential node: one field per argument of its definition, empty
  meaning "the default".

Values are typed as JSON (``64``, ``[96, 128]``, ``true``, ``"same"``); every
edit is one undo step through the document API.
"""

from __future__ import annotations

import html
import json
from typing import Any, Callable

import qtawesome as qta
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QToolButton,
                               QVBoxLayout, QWidget)

from netstudio.export.argument_source import value_source
from netstudio.graph.arguments import ArgumentError, bind, is_reference, reference, references
from netstudio.graph.json_values import json_value_problem

from ..document.commands import SetParam, push_snapshot
from ..document.controller import DocumentController
from .param_editors import INVALID_STYLE, sentence


class ValueField(QLineEdit):
    """A JSON value typed in one line; ``committed`` carries it once it parses (empty: None when allowed)."""

    committed = Signal(object)

    def __init__(self, value: Any = None, placeholder: str = "", allow_empty: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.allow_empty = allow_empty
        self.setPlaceholderText(placeholder)
        self.show_value(value)
        self.editingFinished.connect(self._on_edited)

    def show_value(self, value: Any) -> None:
        self.setText("" if value is None and self.allow_empty else json.dumps(value))
        self.show_problem(None)

    def show_problem(self, message: str | None) -> None:
        self.setStyleSheet(INVALID_STYLE if message else "")
        self.setToolTip(message or "A value as JSON: 64, [96, 128], true, \"same\".")

    def _on_edited(self) -> None:
        text = self.text().strip()
        if not text and self.allow_empty:
            self.show_problem(None)
            self.committed.emit(None)
            return
        try:
            value = json.loads(text)
        except ValueError as err:
            self.show_problem(f"Not a value: {err.msg} at column {err.colno}. Type JSON, such as 64 or [96, 128].")
            return
        problem = json_value_problem(value)
        if problem or is_reference(value):
            self.show_problem(sentence(problem or "type a value here; a reference is chosen with the ƒ button"))
            return
        self.show_problem(None)
        self.committed.emit(value)


class DefinitionArguments(QWidget):
    """A definition's declared arguments, editable."""

    def __init__(self, controller: DocumentController, definition: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller, self.definition = controller, definition
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        title = QLabel("<b>Arguments</b>")
        title.setToolTip("Constructor arguments, as in Inception(c1, c2, c3, c4): blocks inside use them in "
                         "their hyperparameters, and each use of this block passes its own values.")
        layout.addWidget(title)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.problem = QLabel()
        self.problem.setObjectName("argumentProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #d93025")
        self.problem.hide()
        layout.addWidget(self.problem)
        arguments = controller.document.definition(definition).arguments
        for name, default in arguments.items():
            self._row(name, default)
        add = QPushButton(qta.icon("mdi6.plus"), "Add argument")
        add.setObjectName("addArgumentButton")
        add.clicked.connect(self._add)
        layout.addWidget(add)
        if not arguments:
            hint = QLabel("None yet. Add one, then pick it with the ƒ button beside a block's hyperparameter.")
            hint.setWordWrap(True)
            hint.setEnabled(False)
            layout.addWidget(hint)

    def _row(self, name: str, default: Any) -> None:
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        name_edit = QLineEdit(name)
        name_edit.setObjectName(f"argName_{name}")
        name_edit.setMaximumWidth(110)
        name_edit.editingFinished.connect(lambda old=name, edit=name_edit: self._rename(old, edit.text().strip()))
        value = ValueField(default)
        value.setObjectName(f"argDefault_{name}")
        value.committed.connect(lambda v, n=name: self._edit(f"Set default of {n}",
                                                             lambda doc: doc.set_argument(self.definition, n, v)))
        remove = QToolButton()
        remove.setObjectName(f"argRemove_{name}")
        remove.setIcon(qta.icon("mdi6.close"))
        remove.setToolTip(f"Remove {name}: blocks using it keep its default as their value.")
        remove.clicked.connect(lambda _=False, n=name: self._edit(
            f"Remove argument {n}", lambda doc: doc.remove_argument(self.definition, n)))
        line.addWidget(name_edit)
        line.addWidget(QLabel("="))
        line.addWidget(value, 1)
        line.addWidget(remove)
        self.form.addRow(row)

    def _add(self) -> None:
        taken = set(self.controller.document.definition(self.definition).arguments)
        name = next(f"arg{i}" for i in range(1, len(taken) + 2) if f"arg{i}" not in taken)
        self._edit(f"Add argument {name}", lambda doc: doc.set_argument(self.definition, name, 1))

    def _rename(self, old: str, new: str) -> None:
        if new != old:
            self._edit(f"Rename argument {old} to {new}", lambda doc: doc.rename_argument(self.definition, old, new))

    def _edit(self, text: str, action: Callable) -> None:
        _, error = push_snapshot(self.controller, text, action)
        if error:
            self.problem.setText(error)
            self.problem.show()


def argument_button(controller: DocumentController, definition: str, node_id: str, key: str,
                    value: Any, default: Any) -> QToolButton:
    """``ƒ``: make hyperparameter ``key`` take an argument of its definition, or a value again (the
    argument's current default; the catalog ``default`` when the reference is broken)."""
    doc = controller.document
    arguments = doc.definition(definition).arguments
    button = QToolButton()
    button.setObjectName(f"argButton_{key}")
    button.setText("ƒ")
    button.setToolTip("Take this value from an argument of the block")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)
    if has_reference(value):
        try:
            concrete = bind(value, arguments)
        except ArgumentError:
            concrete = default
        fixed = menu.addAction("Use a value instead")
        fixed.setObjectName("useValue")
        fixed.triggered.connect(lambda: controller.push(SetParam(doc, definition, node_id, key, concrete)))
        menu.addSeparator()
    for name, default in arguments.items():
        choices = [(name, None)] + ([(f"{name}[{i}]", i) for i in range(len(default))]
                                    if isinstance(default, list) and len(default) <= 8 else [])
        for label, item in choices:
            action = QAction(f"{label}   (now {json.dumps(default if item is None else default[item])[:30]})", menu)
            action.setObjectName(f"useArgument_{label}")
            action.triggered.connect(lambda _=False, n=name, i=item: controller.push(
                SetParam(doc, definition, node_id, key, reference(n, i))))
            menu.addAction(action)
    button.setMenu(menu)
    return button


def has_reference(value: Any) -> bool:
    return next(references(value), None) is not None


def reference_label(value: Any) -> QLabel:
    """``= c1``, ``= (k[0], k[1])``: a hyperparameter that takes (part of) its value from arguments."""
    label = QLabel(f"= <b>{html.escape(value_source(value))}</b>")
    label.setToolTip("Taken from the block's argument; each use of the block passes its own value.")
    return label


class UseArguments(QWidget):
    """A Block or Sequential node's values for its definition's arguments (empty: the default)."""

    def __init__(self, controller: DocumentController, definition: str, node_id: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        doc = controller.document
        node = doc.node(definition, node_id)
        target = doc.project.definitions.get(node.text_param("definition") or "")
        given = node.params.get("args") if isinstance(node.params.get("args"), dict) else {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for name, default in (target.arguments if target is not None else {}).items():
            value = given.get(name)
            if has_reference(value):
                form.addRow(name, reference_label(value))
                continue
            field = ValueField(value, placeholder=f"{json.dumps(default)[:40]} (default)", allow_empty=True)
            field.setObjectName(f"useArg_{name}")

            def commit(v, n=name) -> None:
                current = doc.node(definition, node_id).params.get("args")
                values = dict(current) if isinstance(current, dict) else {}
                if v is None:
                    values.pop(n, None)
                else:
                    values[n] = v
                controller.push(SetParam(doc, definition, node_id, "args", values))
            field.committed.connect(commit)
            form.addRow(name, field)
