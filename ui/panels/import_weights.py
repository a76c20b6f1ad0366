"""File → Import Weights…: load a state_dict file into the current network.

The dialog asks for the file (``.pt``, ``.pth``, ``.safetensors``) and whether
the import is strict (everything must line up, or nothing changes) or partial
(copy what matches).  The import is one undo step that restores the previous
tensors.  Afterwards a report lists every key: matched, missing from the file,
unexpected in the file, or with the wrong shape (both shapes shown).  A file
that cannot be read is explained in one sentence.
"""

from __future__ import annotations

from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QRadioButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)
from torch.nn.parameter import is_lazy

from netstudio.errors import NetStudioError
from netstudio.files.checkpoint import open_checkpoint
from netstudio.files.weights_import import DATA_PARALLEL_PREFIX, WRAPPER_KEYS, ImportReport

from ..document.weight_commands import ImportWeights, push_weight_command
from ..widgets.menus import add_to_first_group, window_menu
from .form_pieces import hint_label

DIALOG_NAME = "importWeightsDialog"
REPORT_NAME = "importReport"
WEIGHTS_FILTER = "Weights (*.pt *.pth *.safetensors *.bin *.ckpt);;All files (*)"
STATUS_COLORS = {"wrong shape": "#d93025", "unexpected": "#b35c00", "missing": "#b35c00", "matched": "#1e7f3c"}


def choose_weights_file(parent: QWidget | None) -> str | None:
    """Ask for a weights file (tests replace this, or type the path)."""
    path, _ = QFileDialog.getOpenFileName(parent, "Import Weights", "", WEIGHTS_FILTER)
    return path or None


def _shape(shape) -> str:
    """``(8, 4)``, ``(8,)``, as Python writes a shape; "—" when unknown."""
    return str(tuple(shape)) if shape is not None else "—"


def file_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes in the file by name, also under the names the import uses (wrappers, ``module.`` dropped)."""
    try:
        checkpoint = open_checkpoint(path)
    except NetStudioError:
        return {}
    out: dict[str, tuple[int, ...]] = {}
    prefixes = tuple(f"{key}." for key in WRAPPER_KEYS) + (DATA_PARALLEL_PREFIX,)
    for entry in checkpoint.tensors():
        name = entry.name
        out.setdefault(name, entry.shape)
        changed = True
        while changed:
            changed = False
            for prefix in prefixes:
                if name.startswith(prefix):
                    name = name[len(prefix):]
                    out.setdefault(name, entry.shape)
                    changed = True
    return out


def report_rows(report: ImportReport, network: dict[str, tuple[int, ...] | None],
                in_file: dict[str, tuple[int, ...]]) -> list[tuple[str, str, str, str]]:
    """(key, result, network shape, file shape), problems first."""
    rows = [(m.name, "wrong shape", _shape(m.expected), _shape(m.found)) for m in report.mismatched]
    rows += [(n, "unexpected", "—", _shape(in_file.get(n))) for n in report.unexpected]
    rows += [(n, "missing", _shape(network.get(n)), "—") for n in report.missing]
    rows += [(n, "matched", _shape(network.get(n)), _shape(in_file.get(n, network.get(n)))) for n in report.matched]
    return rows


class ImportReportDialog(QDialog):
    """The report of one import: a summary sentence and a table of every key."""

    def __init__(self, report: ImportReport, rows: list[tuple[str, str, str, str]], source: str,
                 strict: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(REPORT_NAME)
        self.setWindowTitle("Import Weights: Report")
        self.report, self.rows = report, rows
        layout = QVBoxLayout(self)
        mode = "strict" if strict else "partial"
        self.summary = QLabel(f"<b>{Path(source).name}</b> ({mode} import): {report.summary()}")
        self.summary.setObjectName("importSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        if not report.complete:
            layout.addWidget(hint_label("Only the matched tensors were copied; everything else in the network "
                                        "kept its values."))
        self.table = QTableWidget(len(rows), 4)
        self.table.setObjectName("reportTable")
        self.table.setHorizontalHeaderLabels(["Key", "Result", "Network shape", "File shape"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 1:
                    item.setForeground(QColor(STATUS_COLORS.get(text, "#000000")))
                self.table.setItem(r, c, item)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.resize(620, min(160 + 22 * len(rows), 560))

    def results(self) -> dict[str, tuple[str, str, str]]:
        """key -> (result, network shape, file shape), as shown."""
        return {row[0]: row[1:] for row in self.rows}


class ImportWeightsDialog(QDialog):
    """Choose the file and strict or partial; Import runs it as one undo step and shows the report."""

    def __init__(self, controller, path: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(DIALOG_NAME)
        self.setWindowTitle("Import Weights")
        self.controller = controller
        self.report: ImportReport | None = None
        self.report_dialog: ImportReportDialog | None = None
        self.command: ImportWeights | None = None
        layout = QVBoxLayout(self)
        intro = QLabel("Load a state_dict (.pt, .pth or .safetensors) into the current network. The file holds "
                       "parameters only: the architecture is the one you built.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.path_edit = QLineEdit(path or "")
        self.path_edit.setObjectName("weightsPath")
        self.path_edit.setPlaceholderText("weights file")
        browse = QPushButton(qta.icon("mdi6.folder-open-outline"), "Browse…")
        browse.setObjectName("browseWeights")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        self.partial = QRadioButton("Partial: copy the tensors that match, report the rest")
        self.partial.setObjectName("partialMode")
        self.partial.setChecked(True)
        self.strict = QRadioButton("Strict: every key and shape must match, or nothing changes")
        self.strict.setObjectName("strictMode")
        layout.addWidget(self.partial)
        layout.addWidget(self.strict)
        self.error = QLabel()
        self.error.setObjectName("importError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d93025;")
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importButton")
        self.import_button.setDefault(True)
        self.buttons.accepted.connect(self.run_import)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())

    def _browse(self) -> None:
        path = choose_weights_file(self)
        if path:
            self.path_edit.setText(path)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def run_import(self) -> bool:
        """Import (one undo step) and show the report; on refusal show why and stay open."""
        path = self.path_edit.text().strip()
        if not path:
            self.show_error("Choose the weights file to import.")
            return False
        strict = self.strict.isChecked()
        command = ImportWeights(self.controller, path, strict, text=f"Import weights from {Path(path).name}")
        error = push_weight_command(self.controller, command)
        if error:
            self.show_error(error)
            return False
        self.command, self.report = command, command.report
        module = self.controller.session.ensure_built()
        network = {} if module is None else {
            name: (None if is_lazy(t) else tuple(t.shape)) for name, t in module.state_dict(keep_vars=True).items()}
        rows = report_rows(command.report, network, file_shapes(path))
        self.report_dialog = ImportReportDialog(command.report, rows, path, strict, self.parentWidget())
        self.report_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.accept()
        self.report_dialog.open()
        return True


def open_import_dialog(controller, parent: QWidget | None = None, path: str | None = None) -> ImportWeightsDialog:
    """Open the import dialog without blocking (window-modal); it deletes itself when closed."""
    dialog = ImportWeightsDialog(controller, path, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def install(window) -> QAction:
    """Add File → Import Weights… (after the open actions) to ``window``; returns the action."""
    action = QAction(qta.icon("mdi6.database-import-outline"), "Import &Weights…", window)
    action.setObjectName("importWeightsAction")
    action.setStatusTip("Load a state_dict file into the current network.")
    action.triggered.connect(lambda: open_import_dialog(window.controller, window))
    add_to_first_group(window_menu(window, "File"), action)
    return action
