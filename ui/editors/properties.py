"""The properties editor: the selected node's name and hyperparameters.

It follows the controller's selection and the document's events, and edits
only through undo commands: each accepted change is one ``SetParam`` (or
``Rename``; a code block's class name renames the class, ``RenameCodeClass``).
With no node selected it describes the definition on show; it also lists the
node's diagnostics from the latest check.  Unticking "auto" of a deferred size
fills in what the input gives it (``netstudio.catalog.deferred_sizes``).
"""

from __future__ import annotations

from typing import Any

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

from netstudio.analysis import CheckResult
from netstudio.catalog import get_block
from netstudio.catalog.block_spec import Role
from netstudio.catalog.containers import KIND_OF_CONTAINER
from netstudio.catalog.deferred_sizes import size_from_input, sized_keys
from netstudio.graph import Node
from netstudio.graph.code_classes import class_name_problem, users_of

from netstudio.graph.arguments import may_use_arguments

from ..document.commands import Rename, SetParam, rename_class
from .argument_rows import DefinitionArguments, UseArguments, argument_button, has_reference, reference_label
from ..document.controller import DocumentController
from ..document.relay import listen
from .param_editors import INVALID_STYLE, IntEditor, NameEditor, ParamEditor, make_editor, sentence

SEVERITY_ICONS = {"error": ("mdi6.close-circle", "#d93025"), "warning": ("mdi6.alert", "#e8a100")}


def severity_icon(severity: str):
    name, color = SEVERITY_ICONS.get(severity, SEVERITY_ICONS["warning"])
    return qta.icon(name, color=color)


class PropertiesPanel(QScrollArea):
    """Shows what is selected; ``edit_code_action`` backs the "Edit code…" button of code blocks."""

    def __init__(self, controller: DocumentController, edit_code_action: QAction | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.edit_code_action = edit_code_action
        self.definition: str = controller.document.project.root
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.name_edit: QLineEdit | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._diagnostics = QVBoxLayout()
        events = controller.document.events
        listen(self, events.node_changed, self._on_node_changed)
        listen(self, events.node_removed, self._on_node_removed)
        listen(self, events.reset, self._on_reset)
        for signal in (events.definition_added, events.definition_removed, events.definition_changed,
                       events.code_changed):
            listen(self, signal, self._rebuild)
        controller.selection_changed.connect(self._on_selection)
        controller.checked.connect(self._show_diagnostics)
        self._on_selection(*controller.selection)

    # -- what is shown ------------------------------------------------------------------
    @property
    def node(self) -> Node | None:
        d = self.controller.document.project.definitions.get(self.definition)
        return d.nodes.get(self.node_id) if d is not None and self.node_id else None

    def _on_selection(self, definition: str, node_ids: list[str]) -> None:
        self.definition = definition
        self.node_id = node_ids[0] if len(node_ids) == 1 else None
        self._count = len(node_ids)
        self._rebuild()

    def _on_reset(self) -> None:
        self._on_selection(*self.controller.selection)

    def _rebuild(self, *_: Any) -> None:
        page = QWidget()
        page.setObjectName("propertiesPage")
        layout = QVBoxLayout(page)
        layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.editors, self.name_edit = {}, None
        self._diagnostics = QVBoxLayout()
        node = self.node
        if node is not None:
            self._build_node(layout, node)
        elif self._count > 1:
            layout.addWidget(_muted(f"{self._count} blocks selected."))
        else:
            self._build_definition(layout)
        layout.addLayout(self._diagnostics)
        old = self.takeWidget()
        self.setWidget(page)
        if old is not None:
            old.deleteLater()   # not at once: the rebuild may come from a signal of one of its editors
        self._show_diagnostics(self.controller.result)

    def _build_definition(self, layout: QVBoxLayout) -> None:
        project = self.controller.document.project
        d = project.definitions.get(self.definition) or project.root_definition
        kind = "nn.Sequential" if d.kind == "sequential" else "a custom module"
        layout.addWidget(_header("mdi6.sitemap-outline", d.name, f"A definition: {kind}."))
        form = QFormLayout()
        form.addRow("Class", QLabel(d.class_name))
        form.addRow("Blocks", QLabel(str(len(d.nodes))))
        layout.addLayout(form)
        if d.name != project.root:
            arguments = DefinitionArguments(self.controller, d.name)
            arguments.setObjectName("definitionArguments")
            layout.addWidget(arguments)
        layout.addWidget(_muted("Select a block to edit its name and hyperparameters."))

    def _build_node(self, layout: QVBoxLayout, node: Node) -> None:
        spec = get_block(node.type)
        project = self.controller.document.project
        d = project.definitions[self.definition]
        layout.addWidget(_header(spec.icon if spec else "mdi6.help-circle-outline", node.type,
                                 spec.description if spec else "A block type this version does not know."))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setObjectName("nameEdit")
        if d.kind == "sequential":
            self.name_edit.setPlaceholderText(d.effective_name(node) or "its position in the chain")
        self.name_edit.editingFinished.connect(self._on_name_edited)
        form.addRow("Name", self.name_edit)
        used = project.definitions.get(node.text_param("definition") or "") \
            if spec is not None and spec.role is Role.CONTAINER else None
        if spec is not None and spec.role is Role.CONTAINER:
            form.addRow("Class", QLabel(used.class_name if used else "—"))
        owner = d.nodes.get(node.tied_to) if node.tied_to else None
        if owner is not None:
            shared = QLabel(f"uses the parameters of {d.effective_name(owner) or owner.type}")
            shared.setObjectName("sharedWith")
            form.addRow("Shared", shared)
        for param in spec.params if spec else ():
            if spec.role is Role.CONTAINER and param.name == "args":
                continue   # one field per argument, below
            value = node.params.get(param.name, param.default)
            label = QLabel(param.name)
            label.setToolTip(param.doc)
            if has_reference(value):
                field: QWidget = reference_label(value)
                field.setObjectName(f"argRef_{param.name}")
            else:
                editor = self._make_editor(node, spec, param)
                editor.setObjectName(f"param_{param.name}")
                editor.set_value(value)
                editor.committed.connect(lambda value, key=param.name: self._commit(key, value))
                self.editors[param.name] = editor
                field = editor
            if d.arguments and may_use_arguments(spec, param.name):
                field = _beside(field, argument_button(self.controller, self.definition, node.id, param.name,
                                                       value, param.default))
            form.addRow(label, field)
        layout.addLayout(form)
        if spec is not None and spec.role is Role.CONTAINER and used is not None and used.arguments:
            layout.addWidget(QLabel(f"<b>Arguments of {used.class_name}</b>"))
            uses = UseArguments(self.controller, self.definition, node.id)
            uses.setObjectName("useArguments")
            layout.addWidget(uses)
        if spec is not None and spec.role is Role.CODE and self.edit_code_action is not None:
            button = QPushButton(qta.icon("mdi6.code-braces"), "Edit code…")
            button.setObjectName("editCodeButton")
            button.clicked.connect(self.edit_code_action.trigger)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)

    def _make_editor(self, node: Node, spec, param) -> ParamEditor:
        doc = self.controller.document
        if spec.role is Role.CODE and param.name == "class_name":   # typing a name renames the class
            old = node.params.get("class_name", "")
            editor = NameEditor(param, lambda name: class_name_problem(doc, old, name.strip()))
            users = len(users_of(doc, old))
            editor.setToolTip(f"Renames the class in the code and in the {users} blocks using it."
                              if users > 1 else "Renames the class in the code.")
            return editor
        editor = make_editor(param, self._options(node, param.name), editable=spec.role is Role.CODE)
        if isinstance(editor, IntEditor) and param.name in sized_keys(node.type):
            editor.when_set = lambda key=param.name, node_id=node.id: self._inferred_size(node_id, key)
        return editor

    def _inferred_size(self, node_id: str, key: str) -> int | None:
        """What the node's input gives ``key`` (``in_features``...), from the latest check; None if unknown."""
        result, project = self.controller.result, self.controller.document.project
        d = project.definitions.get(self.definition)
        node = d.nodes.get(node_id) if d is not None else None
        path = project.first_instance_path(self.definition)
        info = result.info(node_id, path) if result is not None and path is not None else None
        return size_from_input(node.type, key, info.inputs) if info is not None and node is not None else None

    def _options(self, node: Node, key: str) -> list[str]:
        """Names a ``str`` parameter may take: definitions of the right kind, or code classes."""
        project = self.controller.document.project
        if key == "definition" and node.type in KIND_OF_CONTAINER:
            kind = KIND_OF_CONTAINER[node.type]
            return [name for name, d in project.definitions.items()
                    if d.kind == kind and name not in (project.root, self.definition)]
        if key == "class_name":
            return sorted(project.code)
        return []

    def _show_diagnostics(self, result: CheckResult | None) -> None:
        while self._diagnostics.count():
            item = self._diagnostics.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        if result is None:
            return
        if self.node_id is not None:
            diagnostics = [d for d in result.for_node(self.node_id) if d.definition == self.definition]
        else:
            diagnostics = [d for d in result.diagnostics if d.definition == self.definition and d.node_id is None]
        for diag in diagnostics:
            self._diagnostics.addWidget(_diagnostic_row(diag.severity, sentence(diag.message)))

    def focus_first_editor(self) -> bool:
        """Give the keyboard to the block's first hyperparameter (its name field if it has none),
        so Enter on the canvas leads straight to typing; False when no block is shown."""
        editor = next(iter(self.editors.values()), None)
        field = editor.field if editor is not None else self.name_edit
        if field is None:
            return False
        self.ensureWidgetVisible(field)
        field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if hasattr(field, "selectAll"):   # a line edit or spin box: typing replaces the value
            field.selectAll()
        return True

    # -- edits --------------------------------------------------------------------------
    def _commit(self, key: str, value: Any) -> None:
        node = self.node
        if node is None:
            return
        spec = get_block(node.type)
        current = node.params.get(key, spec.param(key).default if spec and spec.param(key) else None)
        if current == value and type(current) is type(value):
            return
        if spec is not None and spec.role is Role.CODE and key == "class_name":
            problem = rename_class(self.controller, current, value)
            if problem and key in self.editors:
                self.editors[key].show_problem(problem)
            return
        self.controller.push(SetParam(self.controller.document, self.definition, node.id, key, value))

    def _on_name_edited(self) -> None:
        node, edit = self.node, self.name_edit
        if node is None or edit is None:
            return
        name = edit.text().strip()
        if name == node.name:
            return
        problem = self._name_problem(node, name)
        edit.setStyleSheet(INVALID_STYLE if problem else "")
        edit.setToolTip(problem or "")
        if problem is None:
            self.controller.push(Rename(self.controller.document, self.definition, node.id, name))

    def _name_problem(self, node: Node, name: str) -> str | None:
        return self.controller.document.name_problem(self.definition, node.id, name)

    # -- following the model --------------------------------------------------------------
    def _on_node_changed(self, definition: str, node_id: str, field: str) -> None:
        node = self.node
        if definition != self.definition or node is None or node_id != node.id:
            return
        if field == "name" and self.name_edit is not None:
            self.name_edit.setText(node.name)
            self.name_edit.setStyleSheet("")
        elif field == "params":
            spec = get_block(node.type)
            if spec is None or spec.role is Role.CONTAINER or any(
                    has_reference(node.params.get(p.name)) == (p.name in self.editors) for p in spec.params
                    if p.name != "args" or spec.role is not Role.CONTAINER):
                self._rebuild()   # a value became an argument or back, or a use's arguments changed
                return
            for key, editor in self.editors.items():
                editor.set_value(node.params.get(key, spec.param(key).default))

    def _on_node_removed(self, definition: str, node_id: str) -> None:
        if definition == self.definition and node_id == self.node_id:
            self.node_id = None
            self._count = 0
            self._rebuild()


def _header(icon: str, title: str, description: str) -> QWidget:
    box = QWidget()
    box.setObjectName("propertiesHeader")
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 4)
    glyph = QLabel()
    glyph.setPixmap(qta.icon(icon).pixmap(28, 28))
    glyph.setAlignment(Qt.AlignmentFlag.AlignTop)
    text = QLabel(f"<b>{title}</b><br><span style='color: gray'>{description}</span>")
    text.setWordWrap(True)
    row.addWidget(glyph)
    row.addWidget(text, 1)
    return box


def _beside(field: QWidget, button: QWidget) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(field, 1)
    row.addWidget(button)
    return box


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setEnabled(False)
    return label


def _diagnostic_row(severity: str, message: str) -> QWidget:
    box = QWidget()
    box.setObjectName("diagnostic")
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 2, 0, 2)
    glyph = QLabel()
    glyph.setPixmap(severity_icon(severity).pixmap(16, 16))
    glyph.setAlignment(Qt.AlignmentFlag.AlignTop)
    text = QLabel(message)
    text.setWordWrap(True)
    text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    row.addWidget(glyph)
    row.addWidget(text, 1)
    return box
