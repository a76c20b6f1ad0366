"""How two checkpoints differ: a table of every tensor by relative change ‖Δ‖/‖w‖, largest first
(``netstudio.training.diff``, as ``netstudio diff`` prints it), the tensors only one side has or whose
shapes differ listed after them, and the change B − A of the tensor picked in the table as a heatmap.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from netstudio.files.checkpoint import open_checkpoint
from netstudio.tensors.number_text import number
from netstudio.training.diff import Diff, diff_checkpoints

from ..param_tree_model import shape_text
from .jobs import Jobs
from .run_files import Saved
from .tensor_view import Picture, TensorView, picture

COLUMNS = ("Tensor", "Shape", "‖Δ‖/‖w‖")
NAME_ROLE = Qt.ItemDataRole.UserRole + 1


def change_picture(a: Saved, b: Saved, name: str) -> Picture:
    """The picture of tensor ``name`` in ``b`` minus the same in ``a``; any thread."""
    before, after = open_checkpoint(a.path)[name].load(), open_checkpoint(b.path)[name].load()
    if not (before.is_floating_point() and after.is_floating_point()):
        before, after = before.double(), after.double()
    return picture(f"<b>{name}</b> <span style='color:#777'>· {b.label} − {a.label}</span>", after - before)


def rows(diff: Diff, a: Saved, b: Saved) -> list[tuple[str, str, str, str, bool]]:
    """(name, shape, relative change, its tooltip, comparable) for the table, compared tensors first."""
    out = [(c.name, shape_text(c.shape), number(c.relative), f"‖Δ‖ = {number(c.delta)}, ‖w‖ = {number(c.norm)} "
            f"(w: in {a.label})", True) for c in diff.changes]
    out += [(e.name, shape_text(e.shape), f"only in {a.label}", "", False) for e in diff.only_a]
    out += [(e.name, shape_text(e.shape), f"only in {b.label}", "", False) for e in diff.only_b]
    out += [(name, f"{shape_text(sa)} → {shape_text(sb)}", "other shape", "", False)
            for name, sa, sb in diff.reshaped]
    out += [(name, "", why, "", False) for name, why in diff.skipped]
    return out


class DiffPage(QWidget):
    """``a_combo`` and ``b_combo`` pick the checkpoints, ``table`` lists the change, ``view`` draws one.
    ``compared`` fires when the table is filled (or a sentence says why it is not)."""

    compared = Signal()

    def __init__(self, jobs: Jobs, parent: QWidget | None = None):
        super().__init__(parent)
        self.jobs = jobs
        self.saved: list[Saved] = []
        self.a_combo, self.b_combo = QComboBox(self), QComboBox(self)
        self.a_combo.setObjectName("runsDiffA")
        self.b_combo.setObjectName("runsDiffB")
        self.a_combo.setToolTip("A: the checkpoint the change is measured from")
        self.b_combo.setToolTip("B: the checkpoint the change is measured to")
        for combo in (self.a_combo, self.b_combo):
            combo.currentIndexChanged.connect(lambda _: self.compare())
        self.message = QLabel(self)
        self.message.setObjectName("runsDiffMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #666;")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("runsDiffTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_change(row))
        self.view = TensorView("runsDiffView", self, jobs)
        top = QHBoxLayout()
        top.addWidget(QLabel("A", self))
        top.addWidget(self.a_combo)
        top.addWidget(QLabel("→ B", self))
        top.addWidget(self.b_combo)
        top.addWidget(self.message, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.view)
        splitter.setSizes([330, 570])   # in proportion: the change's picture needs the room more
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.addLayout(top)
        column.addWidget(splitter, 1)
        self._pair: tuple[Saved, Saved] | None = None
        self.compare()

    def set_saved(self, saved: list[Saved]) -> None:
        """The run's checkpoints so far; A stays where it was, B at the newest unless moved off it."""
        if saved == self.saved:
            return
        a, b = self._chosen(self.a_combo), self._chosen(self.b_combo)
        b_at_end = b is None or b == (self.saved[-1] if self.saved else None)
        self.saved = list(saved)
        labels = [s.label for s in saved]
        for combo, keep, default in ((self.a_combo, a, 0), (self.b_combo, None if b_at_end else b, len(saved) - 1)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(labels)
            combo.setCurrentIndex(saved.index(keep) if keep in saved else default)
            combo.blockSignals(False)
        self.compare()

    def _chosen(self, combo: QComboBox) -> Saved | None:
        index = combo.currentIndex()
        return self.saved[index] if 0 <= index < len(self.saved) else None

    def choose(self, a: int, b: int) -> None:
        """Compare the checkpoints at positions ``a`` and ``b`` (as picking them in the combos does)."""
        self.a_combo.setCurrentIndex(a)
        self.b_combo.setCurrentIndex(b)

    def compare(self) -> None:
        a, b = self._chosen(self.a_combo), self._chosen(self.b_combo)
        if a is None or b is None or len(self.saved) < 2:
            self._pair = None
            self.table.setRowCount(0)
            self.message.setText("Two checkpoints are needed to compare.")
            self.view.show_message("")
            self.compared.emit()
            return
        self.message.setText("Comparing…")
        self.jobs.start("diff", lambda: diff_checkpoints(str(a.path), str(b.path)),
                        lambda diff, error: self._fill(a, b, diff, error))

    def _fill(self, a: Saved, b: Saved, diff: Diff | None, error: str) -> None:
        self.table.setRowCount(0)
        if diff is None:
            self._pair = None
            self.message.setText(error)
            self.view.show_message("")
            self.compared.emit()
            return
        self._pair = (a, b)
        listed = rows(diff, a, b)
        self.table.setRowCount(len(listed))
        for r, (*texts, tip, comparable) in enumerate(listed):
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if not comparable:
                    item.setForeground(Qt.GlobalColor.darkGray)
                self.table.setItem(r, c, item)
            self.table.item(r, 0).setToolTip(texts[0])
            self.table.item(r, 2).setToolTip(tip)
            self.table.item(r, 0).setData(NAME_ROLE, texts[0] if comparable else None)
        odd = len(listed) - len(diff.changes)
        self.message.setText(f"{len(diff.changes):,} tensors compared" +
                             (f", {odd:,} not (listed last)." if odd else "."))
        if listed:
            self.table.setCurrentCell(0, 0)
        else:
            self.view.show_message("Neither checkpoint holds a tensor.")
        self.compared.emit()

    def _show_change(self, row: int) -> None:
        item = self.table.item(row, 0) if row >= 0 else None
        name = item.data(NAME_ROLE) if item is not None else None
        if name is None or self._pair is None:
            self.view.show_message("Pick a tensor both checkpoints hold with the same shape."
                                   if item is not None else "")
            return
        a, b = self._pair
        self.jobs.start("change", lambda: change_picture(a, b, name),
                        lambda shown, error: self.view.show_picture(shown) if shown else self.view.show_message(error))

    def table_rows(self) -> list[list[str]]:
        """The table's text, row by row, and each relative change's tooltip (tests)."""
        return [[self.table.item(r, c).text() for c in range(len(COLUMNS))] + [self.table.item(r, 2).toolTip()]
                for r in range(self.table.rowCount())]
