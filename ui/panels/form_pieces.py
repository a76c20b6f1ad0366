"""The small form pieces the panels share: scroll pages, titled form groups,
named and keyed combos (refilled without losing the choice), buttons and
button rows, path rows, hints, error and status labels and read-only tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QFrame, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QScrollArea, QTableWidget, QVBoxLayout, QWidget)

ERROR_STYLE = "color: #d93025;"


class FormGroup(QGroupBox):
    """A titled group laid out as a form (``form``) whose fields take the width."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(title, parent)
        self.form = QFormLayout(self)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)


class ScrollPage(QWidget):
    """The page inside a panel's ``QScrollArea``: tall enough for its word-wrapped labels.

    A scroll area sizes its page by the layout's minimum size, which ignores
    height-for-width (wrapped labels), so long text would overlap what follows;
    this page asks its layout for the height its current width needs.
    """

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            need = layout.heightForWidth(self.width())
            if need > 0 and need != self.minimumHeight():
                self.setMinimumHeight(need)


def scroll_page(owner: QWidget) -> tuple[QWidget, QVBoxLayout]:
    """A frameless vertical scroll area filling ``owner``; returns its page and the page's layout."""

    outer = QVBoxLayout(owner)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea(owner)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    outer.addWidget(scroll)
    page = ScrollPage()
    scroll.setWidget(page)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(8, 8, 8, 8)
    layout.setSpacing(8)
    return page, layout


def tighten(owner: QWidget) -> None:
    """Narrow the margins and spacing of ``owner``'s groups, so a panel's controls fit a laptop screen's
    dock without scrolling (the style's defaults leave a line's height around each group)."""
    for group in owner.findChildren(QGroupBox):
        layout = group.layout()
        if layout is not None:
            layout.setContentsMargins(6, 4, 6, 6)
            layout.setSpacing(4)


def compact(*combos: QComboBox, length: int = 8) -> None:
    """Let combos shrink with a narrow dock instead of growing to their longest entry."""
    for combo in combos:
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(length)


def named_combo(name: str) -> QComboBox:
    """An empty combo named ``name``."""
    combo = QComboBox()
    combo.setObjectName(name)
    return combo


def keyed_combo(name: str, items) -> QComboBox:
    """A compact combo named ``name`` of ``(key, label)`` items; ``currentData()`` is the key."""
    combo = named_combo(name)
    compact(combo)
    for key, label in items:
        combo.addItem(label, key)
    return combo


def path_row(edit_name: str, placeholder: str, browse) -> tuple[QWidget, QLineEdit]:
    """A line edit for a file path with a browse button beside it; returns (row, edit)."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    edit = QLineEdit()
    edit.setObjectName(edit_name)
    edit.setPlaceholderText(placeholder)
    button = QPushButton(qta.icon("mdi6.folder-open-outline"), "")
    button.setToolTip("Choose a file…")
    button.clicked.connect(browse)
    row.addWidget(edit, 1)
    row.addWidget(button)
    return box, edit


def error_label(name: str) -> QLabel:
    """A red, selectable, word-wrapped sentence, hidden until it has something to say."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def labelled(label: str, widget: QWidget) -> QWidget:
    """``label`` and then ``widget``, in one row."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(QLabel(label))
    row.addWidget(widget, 1)
    return box


@contextmanager
def refilling(combo: QComboBox, choice: Any, fallback: Any = None) -> Iterator[QComboBox]:
    """Refill ``combo`` inside the block (cleared first, its signals blocked), then choose ``choice``
    again if it is still there, else ``fallback``, else the first item."""
    combo.blockSignals(True)
    combo.clear()
    try:
        yield combo
    finally:
        index = combo.findData(choice)
        if index < 0 and fallback is not None:
            index = combo.findData(fallback)
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)


def fill_combo(combo: QComboBox, items: list[tuple[str, str]], default: str | None = None) -> None:
    """Replace ``combo``'s items, keeping the current choice when it is still there."""
    with refilling(combo, combo.currentData() if combo.count() else default, default):
        for text, data in items:
            combo.addItem(text, data)


def named_button(icon: str | None, text: str, name: str, on_click=None, tooltip: str = "") -> QPushButton:
    """A push button named ``name`` with a qtawesome ``icon`` (or none), calling ``on_click`` when clicked."""
    button = QPushButton(qta.icon(icon), text) if icon else QPushButton(text)
    button.setObjectName(name)
    if tooltip:
        button.setToolTip(tooltip)
    if on_click is not None:
        button.clicked.connect(on_click)
    return button


def beside(main: QWidget, *others: QWidget) -> QHBoxLayout:
    """A row where ``main`` takes the spare width and ``others`` follow it."""
    row = QHBoxLayout()
    row.addWidget(main, 1)
    for widget in others:
        row.addWidget(widget)
    return row


def button_row(*buttons: QWidget) -> QHBoxLayout:
    """``buttons`` side by side at the left of a row."""
    row = QHBoxLayout()
    for button in buttons:
        row.addWidget(button)
    row.addStretch(1)
    return row


def read_only_table(name: str, headers: list[str]) -> QTableWidget:
    """An empty table named ``name`` that the panel fills: no row numbers, no editing, columns sharing
    the width, compact rows."""
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setDefaultSectionSize(22)
    return table


def hint_label(text: str = "") -> QLabel:
    """A greyed, word-wrapped sentence that explains the controls around it."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setEnabled(False)
    return label


def say(label: QLabel, message: str, error: bool = True) -> bool:
    """Show ``message`` in a panel's status ``label``, in red for an error; returns ``not error``, so a
    refusal reads ``return say(self.status, why)``."""
    label.setStyleSheet(ERROR_STYLE if error else "")
    label.setText(message)
    return not error
