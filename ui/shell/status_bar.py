"""The status bar: node count, validity, parameter total and the file, kept
current from the controller's signals (the check result carries the counts)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from netstudio.analysis import CheckResult
from netstudio.summary import summarize

from ..document.controller import DocumentController


class StatusSummary:
    """Permanent labels on ``status_bar``; ``file_label`` is set by the window."""

    def __init__(self, controller: DocumentController, status_bar: QStatusBar):
        self.controller = controller
        self.nodes_label = QLabel()
        self.validity_label = QLabel()
        self.params_label = QLabel()
        self.file_label = QLabel()
        for name, label in (("nodesLabel", self.nodes_label), ("validityLabel", self.validity_label),
                            ("paramsLabel", self.params_label), ("fileLabel", self.file_label)):
            label.setObjectName(name)
            label.setContentsMargins(10, 0, 10, 0)
            status_bar.addPermanentWidget(label)
        controller.checked.connect(self.show_result)

    def show_result(self, result: CheckResult) -> None:
        project = self.controller.document.project
        count = sum(len(d.nodes) for d in project.definitions.values())
        self.nodes_label.setText(f"{count} node{'s' * (count != 1)}")
        problems = len(result.diagnostics)
        if result.ok:
            warnings = f", {problems} warning{'s' * (problems != 1)}" if problems else ""
            self.validity_label.setText(f"✓ valid{warnings}")
            self.validity_label.setStyleSheet("color: #188038;")
        else:
            self.validity_label.setText(f"{problems} problem{'s' * (problems != 1)}")
            self.validity_label.setStyleSheet("color: #d93025;")
        self.params_label.setText(f"{summarize(project, result).total_params:,} parameters")
