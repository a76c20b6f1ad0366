"""The gradient of a shared parameter, split by use: the "Gradients of shared parameters" group.

"Compute gradients" runs one forward and backward pass (on a worker thread)
that splits each shared parameter's gradient into one contribution per use,
shows that autograd's gradient is their sum with one element of each (or the
sum of all elements), so the rows visibly add up, and explains why it is a sum.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from netstudio.errors import NetStudioError
from netstudio.params.tied_gradients import WHY_SUM_EXPLANATION, UseGradients, aligned, per_use_gradients, use_parts
from netstudio.run import Objective
from netstudio.run.typed_text import parse_index

from ...document.weight_commands import BUSY_MESSAGE
from ..form_pieces import button_row, compact, named_button, read_only_table
from ..run_worker import Runner

ELEMENTS = (("largest", "its largest element"), ("index", "the element at…"), ("sum", "the sum of all elements"))
Report = Callable[..., bool]   # report(message, error=True) -> not error


class UseGradientsView(QGroupBox):
    """Compute gradients, which number of each to show, the per-use table, its check, and why it is a sum."""

    def __init__(self, controller, report: Report, parent: QWidget | None = None):
        super().__init__("Gradients of shared parameters", parent)
        self.session = controller.session
        self.report = report
        self.gradients: dict[str, UseGradients] = {}
        self._computed = False   # gradients were computed for the project on show
        self.runner = Runner(self, controller)
        self.runner.finished.connect(self._on_gradients)
        layout = QVBoxLayout(self)
        self.grad_button = named_button("mdi6.sigma", "Compute gradients", "computeGradients", self.compute_gradients,
                                        "One forward and backward pass on the sample input with the objective "
                                        "sum(output), splitting each shared parameter's gradient by use.")
        layout.addLayout(button_row(self.grad_button))
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
        layout.addLayout(row)
        self.grad_table = read_only_table("gradientTable", ["Parameter", "Use", "gradient"])
        self.grad_table.setMinimumHeight(100)
        layout.addWidget(self.grad_table)
        self.grad_check = QLabel()
        self.grad_check.setObjectName("gradientCheck")
        self.grad_check.setWordWrap(True)
        layout.addWidget(self.grad_check)
        layout.addWidget(QLabel("<b>Why the sum, not the product?</b>"))
        self.why = QLabel(WHY_SUM_EXPLANATION)
        self.why.setObjectName("whySum")
        self.why.setWordWrap(True)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.why)
        compact(self.element_combo, length=6)
        self.element_index.setVisible(False)
        self.element_combo.currentIndexChanged.connect(self._on_element_changed)
        self.element_index.editingFinished.connect(self._show_gradients)

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
            return self.report(BUSY_MESSAGE)
        self.grad_button.setEnabled(False)
        return self.report("Computing the gradients…", error=False)

    def _on_gradients(self, name: str, result, error: str | None) -> None:
        self.grad_button.setEnabled(True)
        if error:
            self.report(error)
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
            self.report(str(err))
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
        self._fill_table(rows)
        if not self.gradients:
            self.grad_check.setText("No parameter is used more than once, so every gradient has one part.")
        else:
            self.grad_check.setText("Uses add up to the total (✓: for every element): " + "; ".join(checks) + ".")
        self.report("Gradients of sum(output) on the sample input.", error=False)

    def _fill_table(self, rows: list[tuple[str, str, str]]) -> None:
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

    def forget(self) -> None:
        """Another project: the gradients were about the old one."""
        self.gradients, self._computed = {}, False
        self.grad_table.setRowCount(0)
        self.grad_check.clear()
