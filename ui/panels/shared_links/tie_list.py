"""The ties of the project, and making one: the "Shared parameters" group.

The list shows every tie (a node that uses another node's module, so one set
of parameters is used in two places); selecting one selects both nodes on the
canvas.  A tie is made by picking two compatible nodes (same type,
hyperparameters and inferred shapes, ``netstudio.analysis.tie_candidates``)
and removed with Stop sharing, both as undo commands.  The nodes a node could
use are computed when the "uses" list opens (from the shape index of the last
check result), for that one node, never for every node at once nor after
every edit.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from netstudio.analysis.tie_candidates import holds_parameters, tie_candidates, untied_sharers
from netstudio.errors import NetStudioError
from netstudio.graph.module_paths import node_places

from ...document.commands import Tie
from ..form_pieces import button_row, compact, fill_combo, hint_label, named_button, refilling
from ..lazy_combo import LazyCombo

Report = Callable[..., bool]   # report(message, error=True) -> not error


class TieList(QGroupBox):
    """The list of ties with Stop sharing, and the Share form beneath it."""

    used_module_selected = Signal(str)   # the module path whose parameters the selected tie uses

    def __init__(self, controller, report: Report, parent: QWidget | None = None):
        super().__init__("Shared parameters", parent)
        self.controller = controller
        self.report = report
        self._paths_by_node: dict[tuple[str, str], list[str]] | None = None
        self._asked_for: tuple[str, str] | None = None   # (definition, node) "uses" lists the candidates of
        layout = QVBoxLayout(self)
        self.tie_list = QTreeWidget()
        self.tie_list.setObjectName("tieList")
        self.tie_list.setHeaderLabels(["Node", "uses the parameters of", "in"])
        self.tie_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tie_list.setRootIsDecorated(False)
        self.tie_list.header().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.tie_list.header().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tie_list.header().setStretchLastSection(False)
        self.tie_list.itemSelectionChanged.connect(self._on_tie_selected)
        layout.addWidget(self.tie_list)
        self.empty_label = hint_label("No parameters are shared yet. Pick two nodes of the same kind below.")
        layout.addWidget(self.empty_label)
        self.untie_button = named_button("mdi6.link-variant-off", "Stop sharing", "untieButton",
                                         self.remove_selected_tie)
        layout.addLayout(button_row(self.untie_button))
        layout.addWidget(self._build_share_form())

    def _build_share_form(self) -> QWidget:
        new = QWidget()
        layout = QVBoxLayout(new)
        layout.setContentsMargins(0, 6, 0, 0)
        share_title = QLabel("<b>Share</b>: make one node use another's parameters")
        share_title.setWordWrap(True)
        layout.addWidget(share_title)
        self.def_combo, self.node_a = QComboBox(), QComboBox()
        self.node_b = LazyCombo(self.candidate_items)
        for combo, name in ((self.def_combo, "definitionCombo"), (self.node_a, "tieNodeA"), (self.node_b, "tieNodeB")):
            combo.setObjectName(name)
        pick = QFormLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        pick.addRow("In", self.def_combo)
        pick.addRow("Node", self.node_a)
        pick.addRow("uses", self.node_b)
        layout.addLayout(pick)
        self.tie_hint = hint_label("")
        layout.addWidget(self.tie_hint)
        self.tie_button = named_button("mdi6.link-variant", "Share parameters", "tieButton", self.create_tie)
        layout.addLayout(button_row(self.tie_button))
        compact(self.def_combo, self.node_a, self.node_b, length=6)
        self.def_combo.currentIndexChanged.connect(self._fill_node_a)
        self.node_a.currentIndexChanged.connect(self._on_node_a_changed)
        self.node_b.currentIndexChanged.connect(self._update_tie_button)
        self.node_b.filled.connect(self._update_tie_button)
        return new

    # -- names ---------------------------------------------------------------------------------------
    def _node_label(self, definition: str, node_id: str) -> str:
        d = self.controller.document.project.definitions[definition]
        node = d.nodes[node_id]
        return f"{node.type} {d.effective_name(node) or node.id}"

    def _module_paths(self) -> dict[tuple[str, str], list[str]]:
        """Module paths by (definition, node), from one walk of the project per refresh."""
        if self._paths_by_node is None:
            self._paths_by_node = {}
            try:
                places = node_places(self.controller.document.project)
            except Exception:  # an unfinished graph (no chain yet) has no module paths
                places = []
            for place in places:
                self._paths_by_node.setdefault((place.definition, place.node_id), []).append(place.module_path)
        return self._paths_by_node

    # -- refreshing ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List the ties again (keeping the selected one) and what could share."""
        doc = self.controller.document
        selected = self.selected_tie()
        self.tie_list.blockSignals(True)
        self.tie_list.clear()
        self._paths_by_node = None
        for definition, node_id, target in doc.ties():
            if target not in doc.project.definitions[definition].nodes:
                continue
            item = QTreeWidgetItem([self._node_label(definition, node_id), self._node_label(definition, target),
                                    definition])
            item.setData(0, Qt.ItemDataRole.UserRole, (definition, node_id, target))
            paths = self._module_paths().get((definition, node_id), [])
            item.setToolTip(0, "module path " + ", ".join(paths) if paths else "")
            self.tie_list.addTopLevelItem(item)
            if (definition, node_id, target) == selected:
                item.setSelected(True)
        self.tie_list.blockSignals(False)
        count = self.tie_list.topLevelItemCount()
        if not self.tie_list.selectedItems() and count:
            # The first tie is ready for Stop Sharing, without taking the canvas's selection: opening a
            # project selected two blocks of a nested definition ("2 blocks selected", none in view).
            self.tie_list.blockSignals(True)
            self.tie_list.topLevelItem(0).setSelected(True)
            self.tie_list.blockSignals(False)
        self.tie_list.setFixedHeight(min(30 + 22 * max(count, 1), 140))
        self.tie_list.setVisible(count > 0)
        self.empty_label.setVisible(count == 0)
        self.untie_button.setEnabled(bool(self.tie_list.selectedItems()))
        self._fill_definitions()

    def _fill_definitions(self) -> None:
        project = self.controller.document.project
        names = [project.root] + sorted(n for n in project.definitions if n != project.root)
        with refilling(self.def_combo, self.def_combo.currentData() or self.controller.selection[0]):
            for name in names:
                if sum(1 for n in project.definitions[name].nodes.values() if holds_parameters(n)) >= 2:
                    self.def_combo.addItem(name, name)
        self._fill_node_a()

    def _fill_node_a(self, *_) -> None:
        definition = self.def_combo.currentData()
        # cheap: whether each could share at all; whom with is asked for the one picked
        nodes = untied_sharers(self.controller.document.project.definitions[definition]) if definition else []
        fill_combo(self.node_a, [(self._node_label(definition, node.id), node.id) for node in nodes])
        self._on_node_a_changed()

    def _on_node_a_changed(self, *_) -> None:
        """Another node (or another list of them): whom it could use is asked when "uses" opens."""
        definition, a, b = self.def_combo.currentData(), self.node_a.currentData(), self.node_b.currentData()
        d = self.controller.document.project.definitions.get(definition)
        same = self._asked_for == (definition, a) and d is not None and b in d.nodes
        self._asked_for = (definition, a)
        self.node_b.stale(keep_choice=same)
        self._update_tie_button()

    def candidates_stale(self, *_) -> None:
        """A new check result: the shapes, so the candidates, may differ; they are asked again on opening."""
        self.node_b.stale()

    def candidate_items(self) -> list[tuple[str, str]]:
        """(label, id) of the nodes whose parameters the node in "Node" could use (by the inferred shapes)."""
        definition, a = self.def_combo.currentData(), self.node_a.currentData()
        project = self.controller.document.project
        nodes = []
        if definition in project.definitions and a in project.definitions[definition].nodes:
            nodes = tie_candidates(project, project.definitions[definition], a, self.controller.result)
        return [(self._node_label(definition, node.id), node.id) for node in nodes]

    def _update_tie_button(self, *_) -> None:
        ok = bool(self.node_a.currentData() and self.node_b.currentData())
        self.tie_button.setEnabled(ok)
        if not self.def_combo.count() or not self.node_a.count():
            self.tie_hint.setText("There are no two nodes with parameters left to share here.")
        elif not self.node_b.fresh and not ok:
            self.tie_hint.setText(f"Open “uses” to list the nodes whose parameters "
                                  f"{self.node_a.currentText()} could use.")
        elif ok:
            self.tie_hint.setText(f"{self.node_a.currentText()} will use the parameters of "
                                  f"{self.node_b.currentText()}; its own are dropped.")
        else:
            self.tie_hint.setText(f"No node has the type, hyperparameters and shapes of "
                                  f"{self.node_a.currentText()}, so it cannot share with any.")

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
        paths = self._module_paths().get((definition, target), [])
        if paths:
            self.used_module_selected.emit(paths[0])

    def create_tie(self) -> None:
        definition, a, b = self.def_combo.currentData(), self.node_a.currentData(), self.node_b.currentData()
        if not (definition and a and b):
            return
        try:
            self.controller.push(Tie(self.controller.document, definition, a, b))
        except NetStudioError as err:
            self.report(str(err))
            return
        self.report(f"{self._node_label(definition, a)} now uses the parameters of "
                    f"{self._node_label(definition, b)}.", error=False)

    def remove_selected_tie(self) -> None:
        tie = self.selected_tie()
        if tie is None:
            return
        definition, node_id, _ = tie
        label = self._node_label(definition, node_id)
        self.controller.push(Tie(self.controller.document, definition, node_id, None))
        self.report(f"{label} has its own parameters again.", error=False)
