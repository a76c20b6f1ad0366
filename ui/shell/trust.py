"""Trusting a project's code: code blocks run only in trusted projects.

A project opened from a file starts untrusted; if it holds code, the user is
asked (``prompts.ask_trust``) before anything runs.  Refused, the project
stays open with its code blocks disabled, and this bar above the canvas
offers to trust it later.  Bundled examples are trusted: their code ships
with the app.
"""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from netstudio.graph import Project

from ..document.controller import DocumentController
from ..document.relay import listen


def needs_trust(project: Project) -> bool:
    return bool(project.code) and not project.trusted


class TrustBar(QFrame):
    """"Code blocks are disabled …  [Trust this project]", visible only while that is true."""

    def __init__(self, controller: DocumentController, trust_action: QAction, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("trustBar")
        self.setStyleSheet("#trustBar { background: #fff4ce; border-bottom: 1px solid #e0c46c; }"
                           "#trustBar QLabel { color: #3d3000; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        glyph = QLabel()
        glyph.setPixmap(qta.icon("mdi6.shield-alert-outline", color="#8a6d00").pixmap(18, 18))
        self.message = QLabel()
        button = QPushButton(trust_action.icon(), trust_action.text())
        button.setObjectName("trustButton")
        button.clicked.connect(trust_action.trigger)
        row.addWidget(glyph)
        row.addWidget(self.message, 1)
        row.addWidget(button)
        events = controller.document.events
        for signal in (events.reset, events.settings_changed, events.code_changed):
            listen(self, signal, self.refresh)
        self.refresh()

    def refresh(self, *_) -> None:
        project = self.controller.document.project
        names = ", ".join(sorted(project.code))
        self.message.setText(f"The code blocks of this project ({names}) are disabled because it is not trusted.")
        self.setVisible(needs_trust(project))
