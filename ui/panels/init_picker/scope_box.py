"""The picker's "Apply to" group: which parameters an initializer applies to.

The scope is the whole network, one block (a module path, following the
canvas selection), one parameter (following the parameter tree), or a filter
(a module type such as ``Linear`` and a leaf such as ``weight``, optionally
within a block).  Only the current kind's choices are shown.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget
from torch import nn

from netstudio.init import Scope
from netstudio.init.scopes import type_name
from netstudio.init.preview import shape_text

from ..form_pieces import fill_combo, labelled, named_combo

SCOPE_KINDS = (("network", "Whole network"), ("block", "One block"), ("parameter", "One parameter"),
               ("filter", "Filter by type"))
ANY = ""


class ScopeBox(QGroupBox):
    """The kind of scope (``scope_combo``), its choices, and ``matches_label`` saying what it matches."""

    def __init__(self):
        super().__init__("Apply to")
        layout = QVBoxLayout(self)
        self.scope_combo = named_combo("scopeKind")
        for key, label in SCOPE_KINDS:
            self.scope_combo.addItem(label, key)
        layout.addWidget(self.scope_combo)
        self.block_combo, self.param_combo = named_combo("blockCombo"), named_combo("paramCombo")
        filter_page = QWidget()
        filter_form = QFormLayout(filter_page)
        filter_form.setContentsMargins(0, 0, 0, 0)
        self.type_combo, self.leaf_combo = named_combo("typeCombo"), named_combo("leafCombo")
        self.within_combo = named_combo("withinCombo")
        filter_form.addRow("Module type", self.type_combo)
        filter_form.addRow("Parameter", self.leaf_combo)
        filter_form.addRow("Within", self.within_combo)
        # One page per kind; only the current one is shown (and takes room).
        self.scope_pages = [None, labelled("Block", self.block_combo),  # the network needs no more choices
                            labelled("Parameter", self.param_combo), filter_page]
        for page in self.scope_pages[1:]:
            layout.addWidget(page)
        self.matches_label = QLabel()
        self.matches_label.setObjectName("matchesLabel")
        self.matches_label.setWordWrap(True)
        layout.addWidget(self.matches_label)
        self.choices = (self.block_combo, self.param_combo, self.type_combo, self.leaf_combo, self.within_combo)
        self.scope_combo.currentIndexChanged.connect(self._show_page)
        self._show_page()

    def _show_page(self, *_) -> None:
        for i, page in enumerate(self.scope_pages):
            if page is not None:
                page.setVisible(i == self.scope_combo.currentIndex())

    def scope(self) -> Scope:
        kind = self.scope_combo.currentData()
        if kind == "block":
            return Scope.module(self.block_combo.currentData() or "")
        if kind == "parameter":
            return Scope.parameter(self.param_combo.currentData() or "")
        if kind == "filter":
            return Scope(within=self.within_combo.currentData() or "",
                         module_type=self.type_combo.currentData() or None,
                         leaf=self.leaf_combo.currentData() or None)
        return Scope.network()

    def fill(self, module: nn.Module | None) -> None:
        """The network's module paths, parameter names and types as choices; keep those that survive."""
        if module is None:
            for combo in self.choices:
                combo.clear()
            return
        modules = [(name, sub) for name, sub in module.named_modules(remove_duplicate=False) if name]
        params = list(module.named_parameters(remove_duplicate=False))
        fill_combo(self.block_combo, [(f"{name}  ({type_name(sub)})", name) for name, sub in modules])
        fill_combo(self.param_combo, [(f"{name}  {shape_text(t)}", name) for name, t in params])
        types = sorted({type_name(sub) for _, sub in modules if sub._parameters})
        fill_combo(self.type_combo, [("any type", ANY)] + [(t, t) for t in types],
                   default="Linear" if "Linear" in types else None)
        leaves = list(dict.fromkeys(name.rpartition(".")[2] for name, _ in params))
        fill_combo(self.leaf_combo, [("any parameter", ANY)] + [(leaf, leaf) for leaf in leaves],
                   default="weight" if "weight" in leaves else None)
        fill_combo(self.within_combo, [("the whole network", "")] +
                   [(name, name) for name, sub in modules if any(True for _ in sub.parameters())])

    def follow_block(self, paths: list[str]) -> None:
        """The canvas selected a node: its first module path with parameters becomes the block (and,
        unless a filter is being used, the filter's "Within")."""
        for path in paths:
            index = self.block_combo.findData(path)
            if index >= 0:
                self.block_combo.setCurrentIndex(index)
                within = self.within_combo.findData(path)
                if within >= 0 and self.scope_combo.currentData() != "filter":
                    self.within_combo.setCurrentIndex(within)
                return

    def follow_parameter(self, name: str) -> None:
        """The parameter tree picked a tensor: it becomes the parameter."""
        index = self.param_combo.findData(name)
        if index >= 0:
            self.param_combo.setCurrentIndex(index)
