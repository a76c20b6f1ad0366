"""Finding a window's menu by its title, and putting an action in its first group.

Panels and the guide add their actions to the window's File and Help menus;
the window may be the main window (``window.menus``) or any QMainWindow with
a menu bar (tests use a small one).
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu


def window_menu(window, title: str) -> QMenu:
    """The menu titled ``title`` ("File", "Help"): ``window.menus[key]``, else the menu bar's, else a new one."""
    key = title.lower()
    menus = getattr(window, "menus", None)
    if isinstance(menus, dict) and isinstance(menus.get(key), QMenu):
        return menus[key]
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "").strip().lower() == key:
            return action.menu()
    return window.menuBar().addMenu(f"&{title}")


def add_to_first_group(menu: QMenu, action: QAction) -> None:
    """Put ``action`` at the end of ``menu``'s first group (before its first separator)."""
    separator = next((a for a in menu.actions() if a.isSeparator()), None)
    if separator is not None:
        menu.insertAction(separator, action)
    else:
        menu.addAction(action)
