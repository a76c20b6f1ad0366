"""Shared links: the tied parameters of the network, and what tying means.

The list shows every tie (a node that uses another node's module, so one set
of parameters is used in two places); selecting one selects both nodes on the
canvas.  A tie is made by picking two compatible nodes (same type,
hyperparameters and inferred shapes, ``netstudio.analysis.tie_candidates``)
and removed with Stop sharing, both as undo commands.  The nodes a node could
use are listed when it is picked, never for every node at once.

"Set one element" writes a value through one name (``2.weight[0, 0] = 100``)
and shows it through every name of the same tensor, as the seed's
``net[2].weight.data[0] == net[4].weight.data[0]`` check does.  "Compute
gradients" splits each shared parameter's gradient into one contribution per
use, shows that autograd's gradient is their sum with one element of each (or
the sum of all elements), so the rows visibly add up, and explains why it is a sum.
"""

from __future__ import annotations

import qtawesome as qta
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDockWidget, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)
from torch.nn.parameter import is_lazy

from netstudio.analysis.tie_candidates import holds_parameters, tie_candidates, untied_sharers
from netstudio.errors import NetStudioError
from netstudio.graph.module_paths import paths_of_node
from netstudio.params.direct_edits import DirectEdit
from netstudio.params.tied_gradients import WHY_SUM_EXPLANATION, UseGradients, aligned, per_use_gradients, use_parts
from netstudio.run import Objective

from ..document.commands import Tie
from ..document.relay import listen
from ..document.weight_commands import BUSY_MESSAGE, ApplyEdit, push_weight_command
from .arg_form import FloatSpin, compact, parse_index, plain_number, scroll_page
from .run_worker import Runner

OBJECT_NAME = "sharedLinks"
ERROR_STYLE = "color: #d93025;"
ELEMENTS = (("largest", "its largest element"), ("index", "the element at…"), ("sum", "the sum of all elements"))


class SharedLinksPanel(QWidget):
    """Ties, making and removing them, one element through two names, and per-use gradients."""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.controller = controller
        self.session = controller.session
        self.gradients: dict[str, UseGradients] = {}
        self._computed = False   # gradients were computed for the project on show
        self.runner = Runner(self, controller)
        self.runner.finished.connect(self._on_gradients)
        self._build()
        events = controller.document.events
        for signal in (events.changed, events.reset):
            listen(self, signal, self.refresh)
        listen(self, self.session.events.rebuilt, self.refresh)
        listen(self, self.session.events.weights_changed, lambda *_: self.show_alias_values(), coalesce_ms=100)
        controller.checked.connect(self._fill_node_b)        # the candidates follow the inferred shapes
        controller.project_opened.connect(self._on_project_opened)
        self.refresh()

    # -- building -----------------------------------------------------------------------------------
    def _build(self) -> None:
        _, layout = scroll_page(self)

        ties = QGroupBox("Shared parameters")
        ties_layout = QVBoxLayout(ties)
        self.tie_list = QTreeWidget()
        self.tie_list.setObjectName("tieList")
        self.tie_list.setHeaderLabels(["Node", "uses the parameters of", "in"])
        self.tie_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tie_list.setRootIsDecorated(False)
        self.tie_list.header().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.tie_list.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tie_list.header().setStretchLastSection(False)
        self.tie_list.itemSelectionChanged.connect(self._on_tie_selected)
        ties_layout.addWidget(self.tie_list)
        self.empty_label = QLabel("No parameters are shared yet. Pick two nodes of the same kind below.")
        self.empty_label.setWordWrap(True)
        self.empty_label.setEnabled(False)
        ties_layout.addWidget(self.empty_label)
        self.untie_button = QPushButton(qta.icon("mdi6.link-variant-off"), "Stop sharing")
        self.untie_button.setObjectName("untieButton")
        self.untie_button.clicked.connect(self.remove_selected_tie)
        row = QHBoxLayout()
        row.addWidget(self.untie_button)
        row.addStretch(1)
        ties_layout.addLayout(row)

        new = QWidget()
        new_layout = QVBoxLayout(new)
        new_layout.setContentsMargins(0, 6, 0, 0)
        share_title = QLabel("<b>Share</b>: make one node use another's parameters")
        share_title.setWordWrap(True)
        new_layout.addWidget(share_title)
        self.def_combo = QComboBox()
        self.def_combo.setObjectName("definitionCombo")
        self.node_a = QComboBox()
        self.node_a.setObjectName("tieNodeA")
        self.node_b = QComboBox()
        self.node_b.setObjectName("tieNodeB")
        pick = QFormLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        pick.addRow("In", self.def_combo)
        pick.addRow("Node", self.node_a)
        pick.addRow("uses", self.node_b)
        new_layout.addLayout(pick)
        self.tie_hint = QLabel()
        self.tie_hint.setWordWrap(True)
        self.tie_hint.setEnabled(False)
        new_layout.addWidget(self.tie_hint)
        self.tie_button = QPushButton(qta.icon("mdi6.link-variant"), "Share parameters")
        self.tie_button.setObjectName("tieButton")
        self.tie_button.clicked.connect(self.create_tie)
        row = QHBoxLayout()
        row.addWidget(self.tie_button)
        row.addStretch(1)
        new_layout.addLayout(row)
        ties_layout.addWidget(new)
        layout.addWidget(ties)

        edit = QGroupBox("One tensor, several names")
        edit_layout = QVBoxLayout(edit)
        self.alias_combo = QComboBox()
        self.alias_combo.setObjectName("aliasCombo")
        self.index_edit = QLineEdit("0, 0")
        self.index_edit.setObjectName("indexEdit")
        self.index_edit.setPlaceholderText("e.g. 0, 0")
        self.value_spin = FloatSpin()
        self.value_spin.setObjectName("valueSpin")
        self.value_spin.setValue(100.0)
        self.set_button = QPushButton("Set")
        self.set_button.setObjectName("setElementButton")
        self.set_button.setToolTip("Set this element through this name (as net[2].weight.data[0, 0] = 100).")
        self.set_button.clicked.connect(self.set_element)
        edit_form = QFormLayout()
        edit_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        edit_form.addRow("Parameter", self.alias_combo)
        edit_form.addRow("Index", self.index_edit)
        value_row = QHBoxLayout()
        value_row.addWidget(self.value_spin, 1)
        value_row.addWidget(self.set_button)
        edit_form.addRow("Value", value_row)
        edit_layout.addLayout(edit_form)
        self.alias_table = QTableWidget(0, 3)
        self.alias_table.setObjectName("aliasValues")
        self.alias_table.setHorizontalHeaderLabels(["Name", "Value", "Same tensor"])
        self.alias_table.verticalHeader().hide()
        self.alias_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.alias_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.alias_table.verticalHeader().setDefaultSectionSize(22)
        edit_layout.addWidget(self.alias_table)
        layout.addWidget(edit)

        grads = QGroupBox("Gradients of shared parameters")
        grads_layout = QVBoxLayout(grads)
        self.grad_button = QPushButton(qta.icon("mdi6.sigma"), "Compute gradients")
        self.grad_button.setObjectName("computeGradients")
        self.grad_button.setToolTip("One forward and backward pass on the sample input with the objective "
                                    "sum(output), splitting each shared parameter's gradient by use.")
        self.grad_button.clicked.connect(self.compute_gradients)
        row = QHBoxLayout()
        row.addWidget(self.grad_button)
        row.addStretch(1)
        grads_layout.addLayout(row)
        self.element_combo = QComboBox()
        self.element_combo.setObjectName("gradElement")
        self.element_combo.setToolTip("Which number of each gradient to show: one element, or the sum of "
                                      "all of them; either way the uses add up to the total.")
        for key, label in ELEMENTS:
            self.element_combo.addItem(label, key)
        self.element_index = QLineEdit("0, 0")
        self.element_index.setObjectName("gradIndex")
        self.element_index.setPlaceholderText("e.g. 0, 0")
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.element_combo, 1)
        row.addWidget(self.element_index)
        grads_layout.addLayout(row)
        self.grad_table = QTableWidget(0, 3)
        self.grad_table.setObjectName("gradientTable")
        self.grad_table.setHorizontalHeaderLabels(["Parameter", "Use", "gradient"])
        self.grad_table.verticalHeader().hide()
        self.grad_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grad_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grad_table.verticalHeader().setDefaultSectionSize(22)
        self.grad_table.setMinimumHeight(100)
        grads_layout.addWidget(self.grad_table)
        self.grad_check = QLabel()
        self.grad_check.setObjectName("gradientCheck")
        self.grad_check.setWordWrap(True)
        grads_layout.addWidget(self.grad_check)
        why_title = QLabel("<b>Why the sum, not the product?</b>")
        grads_layout.addWidget(why_title)
        self.why = QLabel(WHY_SUM_EXPLANATION)
        self.why.setObjectName("whySum")
        self.why.setWordWrap(True)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grads_layout.addWidget(self.why)
        layout.addWidget(grads)

        self.status = QLabel()
        self.status.setObjectName("linksStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)

        compact(self.def_combo, self.node_a, self.node_b, self.alias_combo, self.element_combo, length=6)
        self.element_index.setVisible(False)
        self.element_combo.currentIndexChanged.connect(self._on_element_changed)
        self.element_index.editingFinished.connect(self._show_gradients)
        self.def_combo.currentIndexChanged.connect(self._fill_node_a)
        self.node_a.currentIndexChanged.connect(self._fill_node_b)
        self.node_b.currentIndexChanged.connect(self._update_tie_button)
        self.alias_combo.currentIndexChanged.connect(self.show_alias_values)
        self.index_edit.textChanged.connect(self.show_alias_values)

    # -- names ---------------------------------------------------------------------------------------
    def _node_label(self, definition: str, node_id: str) -> str:
        project = self.controller.document.project
        d = project.definitions[definition]
        node = d.nodes[node_id]
        name = d.effective_name(node) or node.id
        return f"{node.type} {name}"

    def _paths(self, definition: str, node_id: str) -> list[str]:
        try:
            return paths_of_node(self.controller.document.project, definition, node_id)
        except Exception:  # an unfinished graph (no chain yet) has no module paths
            return []

    # -- refreshing ----------------------------------------------------------------------------------
    def refresh(self, *_) -> None:
        doc = self.controller.document
        selected = self.selected_tie()
        self.tie_list.blockSignals(True)
        self.tie_list.clear()
        for definition, node_id, target in doc.ties():
            if target not in doc.project.definitions[definition].nodes:
                continue
            item = QTreeWidgetItem([self._node_label(definition, node_id), self._node_label(definition, target),
                                    definition])
            item.setData(0, Qt.ItemDataRole.UserRole, (definition, node_id, target))
            paths = self._paths(definition, node_id)
            item.setToolTip(0, "module path " + ", ".join(paths) if paths else "")
            self.tie_list.addTopLevelItem(item)
            if (definition, node_id, target) == selected:
                item.setSelected(True)
        self.tie_list.blockSignals(False)
        if not self.tie_list.selectedItems() and self.tie_list.topLevelItemCount():
            self.tie_list.topLevelItem(0).setSelected(True)
        has_ties = self.tie_list.topLevelItemCount() > 0
        self.tie_list.setFixedHeight(min(30 + 22 * max(self.tie_list.topLevelItemCount(), 1), 140))
        self.tie_list.setVisible(has_ties)
        self.empty_label.setVisible(not has_ties)
        self.untie_button.setEnabled(bool(self.tie_list.selectedItems()))
        self._fill_definitions()
        self._fill_aliases()

    def _fill_definitions(self) -> None:
        project = self.controller.document.project
        current = self.def_combo.currentData() or self.controller.selection[0]
        self.def_combo.blockSignals(True)
        self.def_combo.clear()
        names = [project.root] + sorted(n for n in project.definitions if n != project.root)
        for name in names:
            d = project.definitions[name]
            if sum(1 for n in d.nodes.values() if holds_parameters(n)) >= 2:
                self.def_combo.addItem(name, name)
        self.def_combo.setCurrentIndex(max(self.def_combo.findData(current), 0))
        self.def_combo.blockSignals(False)
        self._fill_node_a()

    def _fill_node_a(self, *_) -> None:
        definition = self.def_combo.currentData()
        current = self.node_a.currentData()
        self.node_a.blockSignals(True)
        self.node_a.clear()
        if definition:   # cheap: whether each could share at all; whom with is asked for the one picked
            for node in untied_sharers(self.controller.document.project.definitions[definition]):
                self.node_a.addItem(self._node_label(definition, node.id), node.id)
        self.node_a.setCurrentIndex(max(self.node_a.findData(current), 0))
        self.node_a.blockSignals(False)
        self._fill_node_b()

    def _fill_node_b(self, *_) -> None:
        definition, a = self.def_combo.currentData(), self.node_a.currentData()
        current = self.node_b.currentData()
        self.node_b.blockSignals(True)
        self.node_b.clear()
        project = self.controller.document.project
        if definition in project.definitions and a in project.definitions[definition].nodes:
            for node in tie_candidates(project, project.definitions[definition], a, self.controller.result):
                self.node_b.addItem(self._node_label(definition, node.id), node.id)
        self.node_b.setCurrentIndex(max(self.node_b.findData(current), 0))
        self.node_b.blockSignals(False)
        self._update_tie_button()

    def _update_tie_button(self, *_) -> None:
        ok = bool(self.node_a.currentData() and self.node_b.currentData())
        self.tie_button.setEnabled(ok)
        if not self.def_combo.count() or not self.node_a.count():
            self.tie_hint.setText("There are no two nodes with parameters left to share here.")
        elif ok:
            self.tie_hint.setText(f"{self.node_a.currentText()} will use the parameters of "
                                  f"{self.node_b.currentText()}; its own are dropped.")
        else:
            self.tie_hint.setText(f"No node has the type, hyperparameters and shapes of "
                                  f"{self.node_a.currentText()}, so it cannot share with any.")

    def _fill_aliases(self) -> None:
        """Every name of every shared parameter (2.weight, 4.weight, 2.bias, 4.bias)."""
        current = self.alias_combo.currentData()
        self.alias_combo.blockSignals(True)
        self.alias_combo.clear()
        for name in self.shared_names():
            self.alias_combo.addItem(name, name)
        self.alias_combo.setCurrentIndex(max(self.alias_combo.findData(current), 0))
        self.alias_combo.blockSignals(False)
        enabled = self.alias_combo.count() > 0
        for widget in (self.alias_combo, self.index_edit, self.value_spin, self.set_button):
            widget.setEnabled(enabled)
        self.show_alias_values()

    def shared_names(self) -> list[str]:
        """Parameter names of the network that name a tensor also reachable by another name."""
        module = self.session.ensure_built()
        if module is None:
            return []
        by_tensor: dict[int, list[str]] = {}
        for name, p in module.named_parameters(remove_duplicate=False):
            by_tensor.setdefault(id(p), []).append(name)
        return [name for group in by_tensor.values() if len(group) > 1 for name in group]

    def aliases_of(self, name: str) -> list[str]:
        module = self.session.ensure_built()
        if module is None:
            return []
        params = dict(module.named_parameters(remove_duplicate=False))
        target = params.get(name)
        return [n for n, p in params.items() if p is target] if target is not None else []

    # -- ties ----------------------------------------------------------------------------------------
    def selected_tie(self) -> tuple[str, str, str] | None:
        items = self.tie_list.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _on_tie_selected(self) -> None:
        tie = self.selected_tie()
        self.untie_button.setEnabled(tie is not None)
        if tie is None:
            return
        definition, node_id, target = tie
        self.controller.select(definition, [node_id, target])
        paths = self._paths(definition, target)
        if paths:
            index = self.alias_combo.findData(f"{paths[0]}.weight")
            if index >= 0:
                self.alias_combo.setCurrentIndex(index)

    def create_tie(self) -> None:
        definition, a, b = self.def_combo.currentData(), self.node_a.currentData(), self.node_b.currentData()
        if not (definition and a and b):
            return
        try:
            self.controller.push(Tie(self.controller.document, definition, a, b))
        except NetStudioError as err:
            self._report(str(err))
            return
        self._report(f"{self._node_label(definition, a)} now uses the parameters of "
                     f"{self._node_label(definition, b)}.", error=False)

    def remove_selected_tie(self) -> None:
        tie = self.selected_tie()
        if tie is None:
            return
        definition, node_id, target = tie
        label = self._node_label(definition, node_id)
        self.controller.push(Tie(self.controller.document, definition, node_id, None))
        self._report(f"{label} has its own parameters again.", error=False)

    # -- one element through several names -------------------------------------------------------------
    def set_element(self) -> bool:
        name = self.alias_combo.currentData()
        if not name:
            return False
        try:
            edit = DirectEdit(name, "set", float(self.value_spin.value()), parse_index(self.index_edit.text()))
        except NetStudioError as err:
            return self._report(str(err))
        error = push_weight_command(self.controller, ApplyEdit(self.controller, edit))
        if error:
            return self._report(error)
        self.show_alias_values()
        others = [n for n in self.aliases_of(name) if n != name]
        self._report(f"Set {name}[{', '.join(map(str, edit.index))}] = {plain_number(edit.value)}; "
                     f"{', '.join(others) or 'no other name'} shows the same value.", error=False)
        return True

    def alias_values(self) -> list[tuple[str, float | None, bool]]:
        """(name, value at the typed index or None, same tensor as the first name) for the chosen tensor."""
        name = self.alias_combo.currentData()
        module = self.session.ensure_built()
        if not name or module is None:
            return []
        params = dict(module.named_parameters(remove_duplicate=False))
        names = self.aliases_of(name)
        try:
            index = parse_index(self.index_edit.text())
        except NetStudioError:
            index = None
        first = params[names[0]] if names else None
        out = []
        for n in names:
            tensor, value = params[n], None
            if not is_lazy(tensor) and index is not None and len(index) == tensor.dim() and \
                    all(-s <= i < s for i, s in zip(index, tensor.shape)):
                value = float(tensor.detach()[index].item())
            out.append((n, value, tensor is first))
        return out

    def show_alias_values(self, *_) -> None:
        rows = self.alias_values()
        self.alias_table.setRowCount(len(rows))
        self.alias_table.setFixedHeight(30 + 22 * max(len(rows), 1))
        index = self.index_edit.text().strip()
        self.alias_table.setHorizontalHeaderLabels(["Name", f"Value at [{index}]", "Same tensor"])
        for r, (name, value, same) in enumerate(rows):
            self.alias_table.setItem(r, 0, QTableWidgetItem(name))
            self.alias_table.setItem(r, 1, QTableWidgetItem("—" if value is None else f"{value:.6g}"))
            self.alias_table.setItem(r, 2, QTableWidgetItem("yes" if same else "no"))

    # -- gradients -----------------------------------------------------------------------------------
    def compute_gradients(self) -> bool:
        """Start the per-use gradient computation (on a worker thread); False if it cannot start."""
        session = self.session

        def job(progress, token):
            with session.lock:
                if session.ensure_built() is None:
                    raise NetStudioError(session.error or "The network cannot be built.")
                if session.input is None:
                    session.set_input()
                if not session.materialized:
                    session.run_forward()  # deferred initialization: create the parameters first
                return per_use_gradients(session.ensure_built(), session.input, Objective("sum"))

        if not self.runner.start("gradients", job, doing="Computing the gradients"):
            return self._report(BUSY_MESSAGE)
        self.grad_button.setEnabled(False)
        self._report("Computing the gradients…", error=False)
        return True

    def _on_gradients(self, name: str, result, error: str | None) -> None:
        self.grad_button.setEnabled(True)
        if error:
            self._report(error)
            return
        self.gradients, self._computed = result or {}, True
        self._show_gradients()

    def element(self) -> str | tuple[int, ...]:
        """What the table shows of each gradient: "largest", "sum", or the index typed."""
        key = self.element_combo.currentData()
        return parse_index(self.element_index.text()) if key == "index" else key

    def _on_element_changed(self, *_) -> None:
        self.element_index.setVisible(self.element_combo.currentData() == "index")
        self._show_gradients()

    def _show_gradients(self) -> None:
        """One number per use and the total, written with the same decimals, so the column adds up."""
        if not self._computed:
            return
        try:
            element = self.element()   # an index shows the parameters with as many dimensions
            parts = {name: use_parts(grads, element) for name, grads in self.gradients.items()
                     if isinstance(element, str) or len(element) == grads.total.dim()}
            if self.gradients and not parts:
                raise NetStudioError(f"No shared parameter has {len(element)} dimensions; type one index "
                                     "per dimension, such as 0, 0.")
        except NetStudioError as err:
            self._report(str(err))
            return
        rows: list[tuple[str, str, str]] = []
        checks = []
        for name, part in parts.items():
            label = f"{name}{part.what}" if part.what.startswith("[") else f"Σ {name}"
            texts = aligned([value for _, value in part.uses] + [part.total])
            rows += [(label, f"use {site}", text) for (site, _), text in zip(part.uses, texts)]
            rows.append((label, "total", texts[-1]))
            grads = self.gradients[name]
            whole = torch.allclose(sum(u.grad for u in grads.uses), grads.total, rtol=1e-5, atol=1e-6)
            checks.append(f"{label}: {' + '.join(texts[:-1])} = {texts[-1]} {'✓' if whole else '✗'}")
        self.grad_table.setHorizontalHeaderLabels(["Parameter", "Use", "Σ of elements" if element == "sum"
                                                   else "gradient element"])
        self.grad_table.setRowCount(len(rows))
        self.grad_table.setMinimumHeight(min(30 + 22 * max(len(rows), 2), 320))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row[1] == "total":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                    item.setToolTip("The gradient autograd stores in .grad: the sum over every use.")
                self.grad_table.setItem(r, c, item)
        if not self.gradients:
            self.grad_check.setText("No parameter is used more than once, so every gradient has one part.")
        else:
            self.grad_check.setText("Uses add up to the total (✓: for every element): " + "; ".join(checks) + ".")
        self._report("Gradients of sum(output) on the sample input.", error=False)

    def _on_project_opened(self) -> None:
        """Another project: the gradients and messages were about the old one."""
        self.gradients, self._computed = {}, False
        self.grad_table.setRowCount(0)
        self.grad_check.clear()
        self.status.clear()
        self.status.setStyleSheet("")

    def _report(self, message: str, error: bool = True) -> bool:
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.setText(message)
        return not error


def install(window) -> QDockWidget:
    """Dock the panel in ``window`` (right side, tabbed with the other panels)."""
    dock = QDockWidget("Shared Parameters", window)
    dock.setObjectName("sharedLinksDock")
    dock.setWidget(SharedLinksPanel(window.controller))
    window.add_panel(dock, Qt.DockWidgetArea.RightDockWidgetArea)
    return dock
