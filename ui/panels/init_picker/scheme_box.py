"""The picker's "Scheme" group: which initialization scheme, what it does, and its arguments."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from netstudio.init import SCHEMES

from ..arg_form import ArgForm
from ..form_pieces import FormGroup, hint_label


class SchemeBox(FormGroup):
    """``scheme_combo`` (every scheme, described in its tooltip), ``scheme_help`` and ``arg_form``."""

    def __init__(self):
        super().__init__("Scheme")
        self.scheme_combo = QComboBox()
        self.scheme_combo.setObjectName("schemeCombo")
        for scheme in SCHEMES.values():
            self.scheme_combo.addItem(scheme.label, scheme.name)
            self.scheme_combo.setItemData(self.scheme_combo.count() - 1, scheme.description,
                                          Qt.ItemDataRole.ToolTipRole)
        self.form.addRow("Scheme", self.scheme_combo)
        self.scheme_help = hint_label()
        self.form.addRow(self.scheme_help)
        self.arg_form = ArgForm()
        self.arg_form.setObjectName("argForm")
        self.form.addRow(self.arg_form)
        self.scheme_combo.currentIndexChanged.connect(self._on_scheme)
        self._on_scheme()

    @property
    def scheme_name(self) -> str:
        return self.scheme_combo.currentData()

    def set_scheme(self, name: str, **args) -> None:
        """Pick a scheme (by name) and set some of its arguments."""
        self.scheme_combo.setCurrentIndex(self.scheme_combo.findData(name))
        if args:
            self.arg_form.set_values(args)

    def _on_scheme(self, *_) -> None:
        scheme = SCHEMES[self.scheme_name]
        text = scheme.description
        if scheme.min_ndim:
            text += " Needs a tensor with at least 2 dimensions (a weight, not a bias)."
        self.scheme_help.setText(text)
        self.arg_form.set_specs(scheme.args)
