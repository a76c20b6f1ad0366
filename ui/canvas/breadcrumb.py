"""The bar above the canvas: where you are (root › block › nested block), with a
way back out, and the zoom level with its buttons."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from . import theme

_STYLE = f"""
#canvasBreadcrumb {{ background: #ffffff; border-bottom: 1px solid {theme.NODE_BORDER}; }}
#canvasBreadcrumb QToolButton {{ border: none; border-radius: 5px; padding: 3px 7px; color: {theme.TEXT_MUTED}; }}
#canvasBreadcrumb QToolButton:hover {{ background: #eef1f6; color: {theme.TEXT}; }}
#canvasBreadcrumb QToolButton#currentCrumb {{ color: {theme.TEXT}; font-weight: 600; }}
#canvasBreadcrumb QLabel#crumbSeparator {{ color: {theme.TEXT_FAINT}; }}
#canvasBreadcrumb QLabel#kindLabel {{ color: {theme.TEXT_MUTED}; background: #eef1f6; border-radius: 8px;
    padding: 1px 8px; }}
#canvasBreadcrumb QLabel#zoomLabel {{ color: {theme.TEXT_MUTED}; min-width: 42px; }}
"""


class BreadcrumbBar(QWidget):
    crumb_clicked = Signal(int)      # depth: 0 is the top level

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("canvasBreadcrumb")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_STYLE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 8, 3)
        layout.setSpacing(2)
        self._crumbs = QHBoxLayout()
        self._crumbs.setSpacing(0)
        layout.addLayout(self._crumbs)
        layout.addStretch(1)
        self.kind_label = QLabel(objectName="kindLabel")
        layout.addWidget(self.kind_label)
        layout.addSpacing(10)
        self._tools = QHBoxLayout()
        self._tools.setSpacing(0)
        layout.addLayout(self._tools)
        self.zoom_label = QLabel("100%", objectName="zoomLabel")
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.buttons: list[QToolButton] = []
        self.labels: list[str] = []
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_tools(self, zoom_out: QAction, zoom_in: QAction, fit: QAction) -> None:
        for i, action in enumerate((zoom_out, None, zoom_in, fit)):
            if action is None:
                self._tools.addWidget(self.zoom_label)
                continue
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setIconSize(QSize(16, 16))
            button.setAutoRaise(True)
            self._tools.addWidget(button)

    def set_crumbs(self, crumbs: list[tuple[str, str, str]], kind: str = "") -> None:
        """``crumbs``: (text, tooltip, icon name) from the top level down to the open block."""
        key = (tuple(crumbs), kind)
        if key == getattr(self, "_key", None):
            return
        self._key = key
        while self._crumbs.count():
            child = self._crumbs.takeAt(0).widget()
            if child is not None:
                child.hide()
                child.deleteLater()
        self.buttons, self.labels = [], [c[0] for c in crumbs]
        for depth, (text, tip, icon) in enumerate(crumbs):
            if depth:
                sep = QLabel("›", objectName="crumbSeparator")
                self._crumbs.addWidget(sep)
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.setIcon(theme.icon(icon, theme.TEXT_MUTED))
            button.setIconSize(QSize(14, 14))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            if depth == len(crumbs) - 1:
                button.setObjectName("currentCrumb")
            button.clicked.connect(lambda _=False, d=depth: self.crumb_clicked.emit(d))
            self._crumbs.addWidget(button)
            self.buttons.append(button)
        self.kind_label.setText(kind)
        self.kind_label.setVisible(bool(kind))

    def set_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")
