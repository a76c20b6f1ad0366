"""The main window: the canvas in the centre, panels in docks around it, menus
and a status bar, all bound to one ``DocumentController`` for its lifetime.

Panels are docks added through ``add_panel``, which names them (so their
place is remembered), lists them in the View menu and tabs them with the
docks already in their area.  Later panels (parameter tree, heatmap, ...) are
added the same way.  Where the docks sit is the current perspective's
(``perspectives``: Build, Inspect, Train).
"""

from __future__ import annotations

from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDockWidget, QMainWindow, QMessageBox, QUndoView, QVBoxLayout, QWidget)

from netstudio.analysis import Diagnostic

from netstudio.serialization import SUFFIX

from ..canvas import CanvasWidget
from ..document.controller import DocumentController
from ..editors.palette import BlockPalette
from ..editors.problems import ProblemsPanel
from ..editors.properties import PropertiesPanel
from ..widgets.docks import make_dock
from . import guide, prompts
from .examples import RESOURCES
from .file_actions import FileActions
from .perspectives import Perspectives
from .settings import settings
from .status_bar import StatusSummary
from .trust import TrustBar

APP_ICON = RESOURCES / "icons" / "netstudio.svg"
EDIT_ACTIONS = ("copy", "paste", "duplicate", "delete", "rename", "select_all", None, "group", "ungroup",
                None, "connect", "edit_properties", None, "share_parameters", "stop_sharing", None, "edit_code")
VIEW_ACTIONS = ("find", "zoom_in", "zoom_out", "fit", "auto_layout", None, "expand", "expand_all", "collapse_all")
Area = Qt.DockWidgetArea


def project_files(event: QDragEnterEvent | QDropEvent) -> list[Path]:
    """The ``.netstudio`` files a drag carries."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and u.toLocalFile().endswith(SUFFIX)]


class MainWindow(QMainWindow):
    """NetStudio's window.

    Attributes other code builds on: ``controller``, ``canvas``,
    ``block_palette``, ``properties``, ``problems``, ``history``, ``files``
    (File menu and autosave), ``docks`` (objectName -> QDockWidget), ``menus``
    ("file", "edit", "view", "help" -> QMenu), ``perspectives`` and ``status``
    (the labels).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowIcon(QIcon(str(APP_ICON)))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.resize(1400, 860)
        self.controller = DocumentController(parent=self)
        self.docks: dict[str, QDockWidget] = {}
        self.menus = {}
        self.files = FileActions(self, self.controller)
        self.canvas = CanvasWidget(self.controller)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.trust_bar = TrustBar(self.controller, self.files.actions["trust"], central)
        column.addWidget(self.trust_bar)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.perspectives = Perspectives(self)
        self.addToolBar(self.perspectives.toolbar)
        self._build_menus()
        self.block_palette = BlockPalette()
        self.properties = PropertiesPanel(self.controller, self.canvas.actions.get("edit_code"))
        self.problems = ProblemsPanel(self.controller)
        self.history = QUndoView(self.controller.undo_stack)
        self.history.setObjectName("historyView")
        self.history.setEmptyLabel("Opened")
        self.add_panel(self.make_dock("palette", "Blocks", self.block_palette), Area.LeftDockWidgetArea)
        self.add_panel(self.make_dock("properties", "Properties", self.properties), Area.RightDockWidgetArea)
        self.add_panel(self.make_dock("history", "History", self.history), Area.RightDockWidgetArea, tabify=False)
        self.add_panel(self.make_dock("problems", "Problems", self.problems), Area.BottomDockWidgetArea)
        self.status = StatusSummary(self.controller, self.statusBar())
        self.block_palette.block_activated.connect(self.canvas.add_block_at_center)
        self.problems.problem_activated.connect(self.show_problem)
        self.canvas.status_message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self.canvas.properties_requested.connect(self._edit_properties)
        back = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.properties, self._back_to_canvas)
        back.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.controller.tensor_selected.connect(self._bring_heatmap_forward)
        self.controller.modified_changed.connect(self._update_title)
        self.files.shown.connect(self._on_project_shown)
        self._update_title()

    # -- panels ---------------------------------------------------------------------------
    def _edit_properties(self) -> None:
        """Enter on the canvas: the keyboard goes to the selected block's properties."""
        dock = self.docks["properties"]
        dock.show()
        dock.raise_()
        self.properties.focus_first_editor()

    def _back_to_canvas(self) -> None:
        """Esc in the properties: the keyboard goes back to the canvas, on the same block."""
        self.canvas.view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _sync_undo_actions(self, *_) -> None:
        stack, busy = self.controller.undo_stack, self.controller.busy
        self.undo_action.setEnabled(stack.canUndo() and not busy)
        self.redo_action.setEnabled(stack.canRedo() and not busy)

    def make_dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        """A dock named ``name`` (its objectName, by which its place is saved) holding ``widget``."""
        return make_dock(self, name, title, widget)

    def add_panel(self, dock: QDockWidget, area: Area = Area.RightDockWidgetArea, tabify: bool = True) -> None:
        """Dock ``dock`` in ``area`` (tabbed with the docks there unless ``tabify`` is false)
        and list it in the View menu; a panel the saved layout knows goes back where it was."""
        name = dock.objectName()
        if not name or name in self.docks:
            raise ValueError(f"A panel needs a unique objectName, not {name!r}.")
        if not self.restoreDockWidget(dock):  # else it is back where the restored layout had it
            neighbours = [d for d in self.docks.values()
                          if self.dockWidgetArea(d) == area and not d.isFloating() and not d.isHidden()]
            self.addDockWidget(area, dock)
            if tabify and neighbours:
                self.tabifyDockWidget(neighbours[-1], dock)
        self.docks[name] = dock
        self.menus["view"].insertAction(self._panels_end, dock.toggleViewAction())

    def _bring_heatmap_forward(self, ref) -> None:
        """A tensor was picked (in the tree, a checkpoint, the run's output): show it where it is drawn."""
        dock = self.docks.get("heatmapDock")
        if ref is not None and dock is not None:
            dock.show()
            dock.raise_()

    # -- menus ----------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        files = self.files.actions
        m = self.menus["file"] = bar.addMenu("&File")
        m.addActions([files["new"], files["open"]])
        m.addMenu(self.files.recent_menu)
        m.addMenu(self.files.examples_menu)
        m.addAction(files["import_model"])
        m.addSeparator()
        m.addActions([files["save"], files["save_as"], files["revert"]])
        m.addSeparator()
        m.addAction(files["trust"])
        m.addSeparator()
        m.addAction(files["quit"])

        m = self.menus["edit"] = bar.addMenu("&Edit")
        undo = self.controller.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        undo.setIcon(qta.icon("mdi6.undo"))
        redo = self.controller.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.setIcon(qta.icon("mdi6.redo"))
        self.undo_action, self.redo_action = undo, redo
        # While a run holds the network, undo/redo would freeze the window until it ends: disable them.
        stack = self.controller.undo_stack
        for signal in (stack.canUndoChanged, stack.canRedoChanged, self.controller.busy_changed):
            signal.connect(self._sync_undo_actions)
        m.addActions([undo, redo])
        m.addSeparator()
        self._add_canvas_actions(m, EDIT_ACTIONS)

        m = self.menus["view"] = bar.addMenu("&View")
        self.perspectives.fill_menu(m.addMenu(qta.icon("mdi6.view-dashboard-outline"), "&Perspective"))
        m.addSeparator()
        self._panels_end = m.addSeparator()
        self._add_canvas_actions(m, VIEW_ACTIONS)

        m = self.menus["help"] = bar.addMenu("&Help")
        about = QAction(qta.icon("mdi6.information-outline"), "&About NetStudio", self)
        about.triggered.connect(self.show_about)
        m.addAction(about)
        guide.install(self)

    def _add_canvas_actions(self, menu, names) -> None:
        for name in names:
            if name is None:
                menu.addSeparator()
            elif name in self.canvas.actions:
                menu.addAction(self.canvas.actions[name])

    def show_about(self) -> None:
        from importlib.metadata import PackageNotFoundError, version
        try:
            number = version("netstudio")
        except PackageNotFoundError:
            number = "development"
        QMessageBox.about(self, "About NetStudio",
                          f"<h3>NetStudio {number}</h3><p>Build and inspect neural networks visually, "
                          f"on PyTorch.</p><p>Every block is a real <code>torch.nn</code> module; the network "
                          f"you draw is the network that runs.</p>")

    # -- reacting to the project ---------------------------------------------------------------
    def _update_title(self, *_) -> None:
        self.setWindowTitle(f"{self.files.display_name()}[*] — NetStudio")
        self.setWindowModified(self.controller.modified)
        path = self.controller.path
        if path is not None:
            text, tip = path.name, str(path)
        elif self.files.example is not None:
            text, tip = f"example: {self.files.example.name}", str(self.files.example)
        else:
            text, tip = "not saved yet", ""
        self.status.file_label.setText(text)
        self.status.file_label.setToolTip(tip)

    def _on_project_shown(self) -> None:
        self._update_title()
        if self.canvas.current_path != ():
            self.canvas.open_definition(())

    def show_problem(self, diag: Diagnostic) -> None:
        """Open the definition that holds the problem's node, and select that node."""
        project = self.controller.document.project
        if diag.definition not in project.definitions:
            return
        path = diag.path if diag.path else project.first_instance_path(diag.definition)
        if path is None:
            return  # a definition nothing uses: there is no instance to open
        if diag.node_id is not None and diag.node_id in project.definitions[diag.definition].nodes:
            self.canvas.show_node(diag.definition, diag.node_id, path)  # opens, selects, centres
        elif self.canvas.current_path != path:
            self.canvas.open_definition(path)

    # -- window state ------------------------------------------------------------------------
    def restore_layout(self) -> None:
        """Put the window where it was when it last closed, and its docks as its perspective had them."""
        geometry = settings().value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self.perspectives.restore()

    def save_layout(self) -> None:
        settings().setValue("window/geometry", self.saveGeometry())
        self.perspectives.save()

    def closeEvent(self, event: QCloseEvent) -> None:
        trainer = getattr(self.docks["runsDock"].widget(), "trainer", None) if "runsDock" in self.docks else None
        if trainer is not None and trainer.running:
            if not prompts.ask_stop_training(self):
                event.ignore()
                return
            trainer.stop_now()
        if not self.files.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self.files.autosaver.close()
        event.accept()

    # -- dropping project files (the canvas ignores them, so they reach the window) ------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if project_files(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if project_files(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = project_files(event)
        if paths:
            event.acceptProposedAction()
            # Not inside the drop: opening may ask questions, and the drag source waits for us.
            QTimer.singleShot(0, lambda: self.files.open_path(paths[0]))
