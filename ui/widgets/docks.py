"""A dock for a panel: titled for people, named for the saved layout."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QWidget


def make_dock(parent: QWidget, name: str, title: str, widget: QWidget) -> QDockWidget:
    """A dock named ``name`` (its objectName, by which its place is saved) holding ``widget``."""
    dock = QDockWidget(title, parent)
    dock.setObjectName(name)
    dock.setWidget(widget)
    return dock
