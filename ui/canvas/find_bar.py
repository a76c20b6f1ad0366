"""Ctrl+F on the canvas: find a block by name or type and jump to it.

A small bar in the canvas's top-right corner.  Typing counts the matches;
Enter selects the next one (Shift+Enter the previous) and centres it, zoomed in
far enough to read it; Esc closes the bar and gives the focus back to the view.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit

from . import theme
from .sketch import SKETCH_BELOW

JUMP_ZOOM = 1.0   # the zoom a jump goes to from a zoom too far out to read a block


def matching_nodes(scene, text: str) -> list[str]:
    """Ids of the shown blocks whose name or type contains ``text`` (any case), top-left first."""
    needle = text.strip().casefold()
    if not needle:
        return []
    found = [item for item in scene.nodes.values()
             if needle in item.look.title.casefold() or needle in item.look.type_name.casefold()]
    found.sort(key=lambda item: (item.pos().y(), item.pos().x()))
    return [item.node_id for item in found]


class FindBar(QFrame):
    """The find bar over ``view`` (object name ``"canvas_find"``; its field ``find_field``)."""

    def __init__(self, view):
        super().__init__(view)
        self.setObjectName("canvas_find")
        self.view = view
        self.setStyleSheet(f"#canvas_find {{ background: white; border: 1px solid {theme.NODE_BORDER};"
                           " border-radius: 8px; }")
        self.field = QLineEdit(self)
        self.field.setObjectName("find_field")
        self.field.setPlaceholderText("Find a block by name or type")
        self.field.setClearButtonEnabled(True)
        self.field.setMinimumWidth(220)
        self.count = QLabel(self)
        self.count.setStyleSheet(f"color: {theme.TEXT_MUTED};")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 10, 6)
        layout.addWidget(self.field)
        layout.addWidget(self.count)
        self._current: str | None = None
        self.field.textChanged.connect(self._on_text)
        self.field.installEventFilter(self)
        view.installEventFilter(self)
        self.hide()

    def open(self) -> None:
        self.show()
        self.raise_()
        self._place()
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()
        self._on_text(self.field.text())

    def close_bar(self) -> None:
        self.hide()
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def jump(self, step: int = 1) -> str | None:
        """Select the next match after the current one (``step`` -1: the one before) and show it."""
        ids = matching_nodes(self.view.scene(), self.field.text())
        if not ids:
            self._show_count(ids)
            return None
        index = ids.index(self._current) + step if self._current in ids else (0 if step > 0 else -1)
        self._current = ids[index % len(ids)]
        scene = self.view.scene()
        scene.select_nodes([self._current])
        if self.view.zoom() < SKETCH_BELOW:
            self.view.set_zoom(JUMP_ZOOM)
        self.view.centerOn(scene.nodes[self._current])
        self._show_count(ids)
        return self._current

    def _on_text(self, text: str) -> None:
        self._current = None
        self._show_count(matching_nodes(self.view.scene(), text))

    def _show_count(self, ids: list[str]) -> None:
        if not self.field.text().strip():
            self.count.setText("")
        elif not ids:
            self.count.setText("No match")
        elif self._current in ids:
            self.count.setText(f"{ids.index(self._current) + 1} of {len(ids)}")
        else:
            self.count.setText(f"{len(ids)} found")
        self.adjustSize()
        self._place()

    def _place(self) -> None:
        self.move(self.view.width() - self.width() - 12, 10)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        elif watched is self.field and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.jump(-1 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1)
                return True
            if key == Qt.Key.Key_Escape:
                self.close_bar()
                return True
        return False
