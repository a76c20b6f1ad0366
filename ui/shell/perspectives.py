"""Perspectives: Build, Inspect and Train, each its own arrangement of the docks.

Designing, inspecting weights and training need different panels in front,
and a small screen cannot show them all at once (tabs get cut, panels scroll).
So, as Deep Network Designer gives design, analysis and training their own
views, each perspective is a saved dock layout (``QMainWindow.saveState``),
switched from the toolbar or View → Perspective.  A person's rearrangement
is kept per perspective in the settings; Reset Perspective brings back the
default arrangement, which is laid out here, in proportion to the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import qtawesome as qta
from PySide6.QtCore import QByteArray, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QScrollArea, QToolBar

from .settings import settings

STATE_VERSION = 2     # saveState's version: layouts of older releases are not restored
CURRENT_KEY = "perspectives/current"
SIDE_WIDTH = 250      # pixels: no side column is laid out narrower, or its labels wrap and its forms get tall
Area = Qt.DockWidgetArea
Corner = Qt.Corner
Orientation = Qt.Orientation


@dataclass(frozen=True)
class Perspective:
    """A perspective's name and its default arrangement.

    ``left``/``right`` are columns of tab groups (top to bottom), ``bottom``
    a row of them (left to right); the first dock of a group is the one in
    front.  Sizes are fractions of the window (side columns at least ``SIDE_WIDTH`` wide): ``widths`` of the side
    columns and of the docks of the bottom row, ``heights`` of the bottom
    row and of the docks of a column.  With ``sides_full_height`` the side
    columns run down to the status bar, and the bottom row sits under the
    canvas only.  Docks not named stay hidden (View lists them all).
    """

    key: str
    label: str
    icon: str
    tip: str
    left: tuple[tuple[str, ...], ...] = ()
    right: tuple[tuple[str, ...], ...] = ()
    bottom: tuple[tuple[str, ...], ...] = ()
    widths: dict[str, float] = field(default_factory=dict)
    heights: dict[str, float] = field(default_factory=dict)
    sides_full_height: bool = True

    def names(self) -> list[str]:
        return [name for groups in (self.left, self.right, self.bottom) for group in groups for name in group]


PERSPECTIVES = (
    Perspective("build", "Build", "mdi6.pencil-ruler", "Draw the network: the canvas, the blocks and the properties",
                left=(("palette",),), right=(("properties", "sharedLinksDock"),),
                bottom=(("problems",), ("history",)),
                widths={"palette": 0.16, "properties": 0.25, "problems": 0.42, "history": 0.17},
                heights={"problems": 0.2}),
    Perspective("inspect", "Inspect", "mdi6.magnify-scan",
                "Look into the weights: the parameter tree beside the heatmap and its statistics, "
                "and the initializers",
                left=(("parameterTreeDock",),), right=(("initializerPickerDock",),), bottom=(("heatmapDock",),),
                widths={"parameterTreeDock": 0.24, "initializerPickerDock": 0.25}, heights={"heatmapDock": 0.45}),
    Perspective("train", "Train", "mdi6.chart-line",
                "Run and train the network: the run controls and the loss curve beside the heatmap, and the "
                "runs of netstudio train",
                right=(("parameterTreeDock",),), bottom=(("runPanelDock", "runsDock"), ("heatmapDock",)),
                widths={"parameterTreeDock": 0.22, "runPanelDock": 0.6, "heatmapDock": 0.4},
                heights={"runPanelDock": 0.66}, sides_full_height=False),
)
BY_KEY = {p.key: p for p in PERSPECTIVES}


def state_key(key: str) -> str:
    return f"perspectives/{key}"


class Perspectives(QObject):
    """The perspectives of one window: ``actions`` (key -> checkable QAction), ``reset_action``,
    ``toolbar``, and ``current`` (the key of the one shown)."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.current = "build"
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for perspective in PERSPECTIVES:
            action = QAction(qta.icon(perspective.icon), perspective.label, window)
            action.setObjectName(f"{perspective.key}PerspectiveAction")
            action.setCheckable(True)
            action.setToolTip(perspective.tip)
            action.setStatusTip(perspective.tip)
            action.triggered.connect(lambda _=False, key=perspective.key: self.switch(key))
            self.group.addAction(action)
            self.actions[perspective.key] = action
        self.actions[self.current].setChecked(True)
        self.reset_action = QAction(qta.icon("mdi6.restore"), "&Reset Perspective", window)
        self.reset_action.setObjectName("resetPerspectiveAction")
        self.reset_action.setStatusTip("Put this perspective's panels back where they were at first")
        self.reset_action.triggered.connect(self.reset)
        self.toolbar = QToolBar("Perspective", window)
        self.toolbar.setObjectName("perspectiveToolBar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addActions(self.group.actions())

    def fill_menu(self, menu) -> None:
        """Put the perspectives and Reset Perspective in ``menu``."""
        menu.addActions(self.group.actions())
        menu.addSeparator()
        menu.addAction(self.reset_action)

    # -- switching ---------------------------------------------------------------------------
    def switch(self, key: str) -> None:
        """Keep the current perspective's arrangement, then show perspective ``key``."""
        if key == self.current:
            return
        self.save()
        self.current = key
        self.show()

    def show(self) -> None:
        """Lay the docks out as the current perspective was last left, or as it is at first."""
        self.actions[self.current].setChecked(True)
        state = settings().value(state_key(self.current))
        if not (isinstance(state, QByteArray) and self.window.restoreState(state, STATE_VERSION)):
            arrange(self.window, BY_KEY[self.current])

    def reset(self) -> None:
        """Forget the person's arrangement of the current perspective and lay out its default."""
        settings().remove(state_key(self.current))
        arrange(self.window, BY_KEY[self.current])

    # -- remembering --------------------------------------------------------------------------
    def restore(self) -> None:
        """Show the perspective the window last closed on."""
        key = settings().value(CURRENT_KEY)
        self.current = key if key in BY_KEY else self.current
        self.show()

    def save(self) -> None:
        store = settings()
        store.setValue(CURRENT_KEY, self.current)
        store.setValue(state_key(self.current), self.window.saveState(STATE_VERSION))


def arrange(window: QMainWindow, perspective: Perspective) -> None:
    """Lay ``window``'s docks out as ``perspective``'s default: its docks in place, the others hidden."""
    docks = window.docks
    wanted = [name for name in perspective.names() if name in docks]
    for name, dock in docks.items():
        if name not in wanted:
            dock.hide()
    side = Area.LeftDockWidgetArea if perspective.sides_full_height else Area.BottomDockWidgetArea
    window.setCorner(Corner.BottomLeftCorner, side)
    window.setCorner(Corner.BottomRightCorner,
                     Area.RightDockWidgetArea if perspective.sides_full_height else Area.BottomDockWidgetArea)
    columns = ((Area.LeftDockWidgetArea, perspective.left, Orientation.Vertical),
               (Area.RightDockWidgetArea, perspective.right, Orientation.Vertical),
               (Area.BottomDockWidgetArea, perspective.bottom, Orientation.Horizontal))
    for area, groups, orientation in columns:
        for group in groups:
            names = [name for name in group if name in docks]
            if not names:
                continue
            first = docks[names[0]]
            first.setFloating(False)
            window.addDockWidget(area, first, orientation)
            first.show()
            for name in names[1:]:
                docks[name].setFloating(False)
                window.tabifyDockWidget(first, docks[name])
                docks[name].show()
            first.raise_()
    _resize(window, perspective, wanted)
    # Docks just added have no size yet, and resizeDocks shares out what they have: once the layout
    # has run, size them again (a 1920x1080 Train gave the Run dock 480 px instead of 713).
    QTimer.singleShot(0, window, lambda: _resize_again(window, perspective, wanted))


def _resize_again(window: QMainWindow, perspective: Perspective, wanted: list[str]) -> None:
    current = getattr(getattr(window, "perspectives", None), "current", perspective.key)
    if current == perspective.key:      # not if another perspective came on meanwhile
        _resize(window, perspective, wanted)


def _resize(window: QMainWindow, perspective: Perspective, wanted: list[str]) -> None:
    """Size the docks in proportion to the window (the first of each tab group speaks for it);
    side columns no narrower than ``_least_width``."""
    docks = window.docks
    groups = (*perspective.left, *perspective.right, *perspective.bottom)
    firsts = [group[0] for group in groups if group[0] in wanted]
    sides = {group[0] for group in (*perspective.left, *perspective.right)}
    widths = {n: max(int(perspective.widths[n] * window.width()), _least_width(docks[n]) if n in sides else 0)
              for n in firsts if n in perspective.widths}
    heights = {n: int(perspective.heights[n] * window.height()) for n in firsts if n in perspective.heights}
    for sizes, orientation in ((widths, Orientation.Horizontal), (heights, Orientation.Vertical)):
        if sizes:
            window.resizeDocks([docks[n] for n in sizes], list(sizes.values()), orientation)


def _least_width(dock) -> int:
    """The narrowest a side column may be: ``SIDE_WIDTH``, or what its scrolling page needs beside a scroll bar."""
    scroll = dock.widget().findChild(QScrollArea)
    need = scroll.widget().minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() \
        if scroll is not None and scroll.widget() is not None else 0
    return max(SIDE_WIDTH, need)
