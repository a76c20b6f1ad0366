"""What every panel shares: ``Panel``, a widget bound to one controller, and
``install_panel``, which docks one in the window.

A panel only views and edits what the engine owns, so each starts the same
way: it takes its name (tests, scripts and saved layouts find it by it), keeps
the controller and its session, and hears the engine through
:func:`ui.document.relay.listen` (``follow``), which is safe from any thread
and ends with the widget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QVBoxLayout, QWidget

from ..document.relay import listen
from ..widgets.docks import make_dock
from ..widgets.menus import add_to_first_group, window_menu


class Panel(QWidget):
    """A panel's widget, named ``OBJECT_NAME``, with ``controller`` and ``session`` for its lifetime."""

    OBJECT_NAME = ""

    def __init__(self, controller, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(self.OBJECT_NAME)
        self.controller = controller
        self.session = controller.session

    def expose(self, part: object, *names: str) -> None:
        """Make ``part``'s attributes ``names`` (the widgets of one of its groups) the panel's too, where
        tests and scripts reach them."""
        for name in names:
            setattr(self, name, getattr(part, name))

    def follow(self, signals: Iterable, slot: Callable[..., Any], **options: Any) -> None:
        """Call ``slot`` whenever one of the engine's psygnal ``signals`` fires (``listen``'s options)."""
        for signal in signals:
            listen(self, signal, slot, **options)


def header_over(owner: QWidget, header: list[QWidget], body: QWidget, grow: QWidget, bottom: int = 0) -> None:
    """Lay ``owner`` out as a row of ``header`` widgets (``grow`` takes the spare width) above ``body``,
    which takes the rest of the height."""
    top = QHBoxLayout()
    top.setContentsMargins(4, 4, 4, 0)
    for widget in header:
        top.addWidget(widget, 1 if widget is grow else 0)
    column = QVBoxLayout(owner)
    column.setContentsMargins(0, 0, 0, bottom)
    column.setSpacing(4)
    column.addLayout(top)
    column.addWidget(body, 1)


def file_menu_action(window, dock: QDockWidget, icon: str, text: str, name: str, tip: str,
                     show: Callable[[], None], perspective: str | None = None) -> QAction:
    """A File-menu action that brings ``dock`` forward (in ``perspective`` first, if given) and then
    calls ``show`` (Open Run…, Inspect Checkpoint…); the action belongs to the dock, so it goes with it."""
    def trigger() -> None:
        if perspective is not None:
            window.perspectives.switch(perspective)
        dock.show()
        dock.raise_()
        show()
    action = QAction(qta.icon(icon), text, dock)
    action.setObjectName(name)
    action.setStatusTip(tip)
    action.triggered.connect(trigger)
    add_to_first_group(window_menu(window, "File"), action)
    return action


def install_panel(window, panel_class: type[Panel], area: Qt.DockWidgetArea, title: str, name: str) -> QDockWidget:
    """Dock a new ``panel_class(window.controller)`` in ``window``'s ``area``, in a dock titled ``title``
    and named ``name`` (by which its place is saved); returns the dock."""
    dock = make_dock(window, name, title, panel_class(window.controller))
    window.add_panel(dock, area)
    return dock
