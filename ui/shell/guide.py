"""Help → Guide: ``docs/guide.md`` rendered in the app.

A non-modal window (objectName ``guide``): the sections on the left, the
guide on the right (``QTextBrowser.setMarkdown``), so it can stay open next to
the main window while you follow it.
"""

from __future__ import annotations

import re
from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QTextCursor
from PySide6.QtWidgets import QDialog, QHBoxLayout, QListWidget, QSplitter, QTextBrowser, QWidget

from ..widgets.menus import window_menu

GUIDE_PATH = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
OBJECT_NAME = "guide"
MISSING = "# Guide\n\nThe guide (`docs/guide.md`) is not installed with this copy of NetStudio."


def read_guide(path: Path = GUIDE_PATH) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return MISSING


def section_headings(markdown: str) -> list[str]:
    """The ``## `` headings, in order."""
    return [m.group(1).strip() for m in re.finditer(r"^##\s+(.+)$", markdown, flags=re.MULTILINE)]


class GuideWindow(QDialog):
    """The guide: a list of sections and the rendered Markdown."""

    def __init__(self, parent: QWidget | None = None, path: Path = GUIDE_PATH):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.setWindowTitle("NetStudio Guide")
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        self.setModal(False)
        self.markdown = read_guide(path)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.contents = QListWidget()
        self.contents.setObjectName("guideContents")
        self.contents.setWordWrap(True)
        self.contents.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.contents.setSpacing(2)
        self.contents.addItems(section_headings(self.markdown))
        self.contents.itemClicked.connect(lambda item: self.show_section(self.contents.row(item)))
        self.contents.itemActivated.connect(lambda item: self.show_section(self.contents.row(item)))
        self.browser = QTextBrowser()
        self.browser.setObjectName("guideText")
        self.browser.setOpenExternalLinks(True)
        self.browser.document().setDocumentMargin(16)
        self.browser.setMarkdown(self.markdown)
        splitter.addWidget(self.contents)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 670])
        layout.addWidget(splitter)
        self.resize(900, 700)

    def text(self) -> str:
        """The rendered guide as plain text."""
        return self.browser.toPlainText()

    def show_section(self, row: int) -> None:
        """Scroll so that section ``row``'s heading is at the top."""
        item = self.contents.item(row)
        if item is None:
            return
        block = self.browser.document().begin()
        while block.isValid():
            if block.text().strip() == item.text() and block.blockFormat().headingLevel() == 2:
                cursor = QTextCursor(block)
                self.browser.setTextCursor(cursor)
                top = self.browser.document().documentLayout().blockBoundingRect(block).top()
                self.browser.verticalScrollBar().setValue(int(top))
                return
            block = block.next()


def show_guide(parent: QWidget | None = None) -> GuideWindow:
    """Show the guide (the same window again if it is already open under ``parent``)."""
    existing = parent.findChild(GuideWindow, OBJECT_NAME) if parent is not None else None
    window = existing or GuideWindow(parent)
    window.show()
    window.raise_()
    window.activateWindow()
    return window


def install(window) -> QAction:
    """Put Help → Guide (F1) first in ``window``'s Help menu; returns the action."""
    action = QAction(qta.icon("mdi6.book-open-variant"), "&Guide", window)
    action.setObjectName("guideAction")
    action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
    action.setStatusTip("A walk through the chapter with the bundled examples")
    action.triggered.connect(lambda: show_guide(window))
    menu = window_menu(window, "Help")
    first = next(iter(menu.actions()), None)
    if first is not None:
        menu.insertAction(first, action)
    else:
        menu.addAction(action)
    return action
