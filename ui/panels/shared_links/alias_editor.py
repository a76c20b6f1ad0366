"""One tensor, several names: set an element through one name, see it through every name.

"Set" writes a value through one name (``2.weight[0, 0] = 100``, an undo
step) and the table shows it through every name of the same tensor, as the
seed's ``net[2].weight.data[0] == net[4].weight.data[0]`` check does.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLineEdit, QTableWidgetItem, QVBoxLayout, QWidget
from torch.nn.parameter import is_lazy

from netstudio.errors import NetStudioError
from netstudio.params.direct_edits import DirectEdit
from netstudio.run.typed_text import parse_index

from ...document.relay import listen
from ...document.weight_commands import ApplyEdit, push_weight_command
from ..arg_form import FloatSpin, plain_number
from ..form_pieces import beside, compact, fill_combo, named_button, read_only_table

Report = Callable[..., bool]   # report(message, error=True) -> not error


class AliasEditor(QGroupBox):
    """Parameter (every name of a shared tensor), index and value, Set, and the value under each name."""

    def __init__(self, controller, report: Report, parent: QWidget | None = None):
        super().__init__("One tensor, several names", parent)
        self.controller = controller
        self.session = controller.session
        self.report = report
        self.alias_combo = QComboBox()
        self.alias_combo.setObjectName("aliasCombo")
        self.index_edit = QLineEdit("0, 0")
        self.index_edit.setObjectName("indexEdit")
        self.index_edit.setPlaceholderText("e.g. 0, 0")
        self.value_spin = FloatSpin()
        self.value_spin.setObjectName("valueSpin")
        self.value_spin.setValue(100.0)
        self.set_button = named_button(None, "Set", "setElementButton", self.set_element,
                                       "Set this element through this name (as net[2].weight.data[0, 0] = 100).")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Parameter", self.alias_combo)
        form.addRow("Index", self.index_edit)
        form.addRow("Value", beside(self.value_spin, self.set_button))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.alias_table = read_only_table("aliasValues", ["Name", "Value", "Same tensor"])
        layout.addWidget(self.alias_table)
        compact(self.alias_combo, length=6)
        self.alias_combo.currentIndexChanged.connect(self.show_alias_values)
        self.index_edit.textChanged.connect(self.show_alias_values)
        listen(self, self.session.events.weights_changed, self.show_alias_values, coalesce_ms=100)

    def refresh(self) -> None:
        """Every name of every shared parameter (2.weight, 4.weight, 2.bias, 4.bias), and their values."""
        fill_combo(self.alias_combo, [(name, name) for name in self.shared_names()])
        enabled = self.alias_combo.count() > 0
        for widget in (self.alias_combo, self.index_edit, self.value_spin, self.set_button):
            widget.setEnabled(enabled)
        self.show_alias_values()

    def show_weight_of(self, module_path: str) -> None:
        """Choose the weight of the module at ``module_path``, if it is shared."""
        index = self.alias_combo.findData(f"{module_path}.weight")
        if index >= 0:
            self.alias_combo.setCurrentIndex(index)

    def _parameters(self) -> dict | None:
        module = self.session.network_now()     # a big graph is built on the worker, not here
        return None if module is None else dict(module.named_parameters(remove_duplicate=False))

    def shared_names(self) -> list[str]:
        """Parameter names of the network that name a tensor also reachable by another name."""
        by_tensor: dict[int, list[str]] = {}
        for name, p in (self._parameters() or {}).items():
            by_tensor.setdefault(id(p), []).append(name)
        return [name for group in by_tensor.values() if len(group) > 1 for name in group]

    def aliases_of(self, name: str) -> list[str]:
        params = self._parameters() or {}
        target = params.get(name)
        return [n for n, p in params.items() if p is target] if target is not None else []

    def set_element(self) -> bool:
        name = self.alias_combo.currentData()
        if not name:
            return False
        try:
            edit = DirectEdit(name, "set", float(self.value_spin.value()), parse_index(self.index_edit.text()))
        except NetStudioError as err:
            return self.report(str(err))
        error = push_weight_command(self.controller, ApplyEdit(self.controller, edit))
        if error:
            return self.report(error)
        self.show_alias_values()
        others = [n for n in self.aliases_of(name) if n != name]
        return self.report(f"Set {name}[{', '.join(map(str, edit.index))}] = {plain_number(edit.value)}; "
                           f"{', '.join(others) or 'no other name'} shows the same value.", error=False)

    def alias_values(self) -> list[tuple[str, float | None, bool]]:
        """(name, value at the typed index or None, same tensor as the first name) for the chosen tensor."""
        name = self.alias_combo.currentData()
        params = self._parameters()
        if not name or params is None:
            return []
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
