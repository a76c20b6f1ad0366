"""The canvas's actions: their text, shortcuts, icon and tip, and how they are made.

The main window puts them in its Edit and View menus.  Single-key shortcuts a text field inside
the canvas needs (Tab, Enter, E) act only when the view has the focus.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from . import theme

# name: (text, shortcuts, icon, tip)
ACTIONS = {
    "delete": ("Delete", ("Del", "Backspace"), "mdi6.delete-outline", "Delete the selected blocks and connections"),
    "rename": ("Rename…", ("F2",), "mdi6.form-textbox", "Rename the selected block"),
    "copy": ("Copy", ("Ctrl+C",), "mdi6.content-copy", "Copy the selected blocks"),
    "paste": ("Paste", ("Ctrl+V",), "mdi6.content-paste", "Paste blocks"),
    "duplicate": ("Duplicate", ("Ctrl+D",), "mdi6.content-duplicate", "Duplicate the selected blocks"),
    "select_all": ("Select All", ("Ctrl+A",), "mdi6.select-all", "Select every block"),
    "group": ("Group into Block", ("Ctrl+G",), "mdi6.group", "Move the selection into a new Block"),
    "ungroup": ("Ungroup", ("Ctrl+Shift+G",), "mdi6.ungroup", "Put a block's contents in its place"),
    "open": ("Open Block", (), "mdi6.location-enter", "Show the blocks inside this one"),
    "expand": ("Expand in Place", ("E",), "mdi6.arrow-expand-all",
               "Show the selected blocks' insides here, within them (E again collapses)"),
    "expand_all": ("Expand All Blocks", (), "mdi6.arrow-expand-all", "Show every block's insides, one level deep"),
    "collapse_all": ("Collapse All Blocks", (), "mdi6.arrow-collapse-all", "Show every block as one card again"),
    "zoom_in": ("Zoom In", ("Ctrl++", "Ctrl+="), "mdi6.magnify-plus-outline", "Zoom in"),
    "zoom_out": ("Zoom Out", ("Ctrl+-",), "mdi6.magnify-minus-outline", "Zoom out"),
    "fit": ("Fit All", ("F",), "mdi6.fit-to-screen-outline", "Show the whole graph"),
    "find": ("Find Block…", ("Ctrl+F",), "mdi6.magnify", "Find a block by name or type and jump to it"),
    "auto_layout": ("Auto Layout", ("Ctrl+L",), "mdi6.sitemap-outline", "Arrange the blocks left to right"),
    "share_parameters": ("Share Parameters with…", (), "mdi6.link-variant",
                         "Make the selected block use another block's parameters"),
    "stop_sharing": ("Stop Sharing Parameters", (), "mdi6.link-variant-off",
                     "Give the selected blocks their own parameters again"),
    "edit_code": ("Edit Code…", ("Ctrl+E",), "mdi6.code-braces", "Edit the selected code block's class"),
    "next_block": ("Next Block", ("Tab",), "mdi6.keyboard-tab",
                   "Select the next block, left to right then top to bottom"),
    "previous_block": ("Previous Block", ("Shift+Tab",), "mdi6.keyboard-tab-reverse", "Select the block before"),
    "edit_properties": ("Edit Properties", ("Return", "Enter"), "mdi6.tune-variant",
                        "Type into the selected block's properties (Esc comes back to the canvas)"),
    "connect": ("Connect…", ("C", "Ctrl+Shift+C"), "mdi6.transit-connection-variant",
                "Connect the selected block with the keyboard: Tab picks an input, Enter connects, Esc cancels"),
}
# Keys a text field inside the canvas (rename, find) needs: these act only when the view has the focus.
VIEW_ONLY = ("next_block", "previous_block", "edit_properties", "expand")


def make_actions(canvas, view, slots: dict) -> dict[str, QAction]:
    """One QAction per entry of ``ACTIONS``, triggering ``slots[name]``; view-only ones live on ``view``."""
    actions = {}
    for name, (text, keys, icon, tip) in ACTIONS.items():
        action = QAction(theme.icon(icon), text, canvas)
        action.setObjectName(f"canvas_{name}")
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut if name in VIEW_ONLY
                                  else Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _=False, slot=slots[name]: slot())
        (view if name in VIEW_ONLY else canvas).addAction(action)
        actions[name] = action
    return actions
