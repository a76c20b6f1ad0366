"""The parameter tree: every module, parameter and buffer of the live network.

It follows the session: a rebuild (a graph edit) re-reads the tree, keeping
expanded and selected rows by name; a run that materializes lazy layers or
moves the network updates the rows in place.  A big graph's network is built
on a worker thread (``session.network_now``, ``controller.build_soon``): until
its first build is in, the panel says it is being built; after an edit, the rows
show the network as last built until the rebuild is in.  Selection is linked with the
canvas both ways through the controller (``node_places`` maps nodes to module
paths), and a parameter row emits ``controller.tensor_selected`` so the
heatmap shows it.
"""

from __future__ import annotations

import html

import qtawesome as qta
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QHeaderView, QLabel, QLineEdit, QMenu, QStackedWidget,
                               QToolButton, QTreeView, QWidget)
from torch.nn.parameter import is_lazy

from netstudio.gc_pause import gc_paused
from netstudio.graph.module_paths import NodePlace, node_places
from netstudio.params.tree import ModuleEntry, TensorEntry
from netstudio.session import NetworkSession, tensors_of

from ..document.controller import DocumentController
from . import save_tensors
from .panel import Panel, header_over, install_panel
from .param_tree_model import (COLUMNS, ELEMENTS, FILTER_ROLE, INITIALIZER, NAME, NAME_ROLE, SHAPE, SHARED,
                               ParamTreeModel, initializer_names)
from .tensor_ref import TensorRef

RETRY_MS = 200  # when a run holds the network, look again this much later


def live_value(session: NetworkSession, name: str):
    """The live tensor named ``name`` in the session's network, None if gone or still deferred
    (a big graph's network as last built, while its rebuild is under way)."""
    module = session.network_now()
    if module is None:
        return None
    tensor = tensors_of(module).get(name)
    return None if tensor is None or is_lazy(tensor) else tensor


def live_grad(session: NetworkSession, name: str):
    tensor = live_value(session, name)
    grad = getattr(tensor, "grad", None)
    return grad if grad is not None else session.gradients.get(name)


def network_ref(session: NetworkSession, name: str) -> TensorRef:
    """A reference that reads the tensor from the network each time it is asked."""
    return TensorRef(name, "network", value=lambda: live_value(session, name), grad=lambda: live_grad(session, name))


class _Filter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setFilterRole(FILTER_ROLE)
        self.setFilterKeyColumn(NAME)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)


class ParamTreePanel(Panel):
    """Filter box, tree (objectName ``parameterTree``) and, for a network that cannot be built, its error."""

    OBJECT_NAME = "parameterTreePanel"

    def __init__(self, controller: DocumentController, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.model = ParamTreeModel(self)
        self.proxy = _Filter(self)
        self.proxy.setSourceModel(self.model)
        self._places: list[NodePlace] | None = None
        self._inits: dict[str, str] | None = None   # initializer by parameter, until the graph or network changes
        self._refreshing = False
        self._syncing = False
        self._pending_restore: tuple[set[str], set[str], str | None] | None = None

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("parameterFilter")
        self.filter_edit.setPlaceholderText("Filter by name")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.addAction(qta.icon("mdi6.magnify", color="#777"), QLineEdit.ActionPosition.LeadingPosition)
        self.filter_edit.textChanged.connect(self.set_filter)
        self.save_action = QAction(qta.icon("mdi6.content-save-outline"), "Save Selected Tensors…", self)
        self.save_action.setToolTip("Save the selected parameters and buffers to a .safetensors or .pt file")
        self.save_action.triggered.connect(self.save_selected)
        save_button = QToolButton(self)
        save_button.setDefaultAction(self.save_action)

        self.view = QTreeView(self)
        self.view.setObjectName("parameterTree")
        self.view.setModel(self.proxy)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in ((NAME, 190), (SHAPE, 90), (ELEMENTS, 90), (INITIALIZER, 120), (SHARED, 90)):
            self.view.setColumnWidth(column, width)
        for column in range(len(COLUMNS)):
            if column not in (NAME, SHAPE, ELEMENTS, INITIALIZER, SHARED):
                self.view.setColumnWidth(column, 70)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("parameterTreeError")
        self.error_label.setWordWrap(True)
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.error_label.setMargin(12)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.building_label = QLabel(self)
        self.building_label.setObjectName("parameterTreeBuilding")
        self.building_label.setWordWrap(True)
        self.building_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.building_label.setMargin(12)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.error_label)
        self.stack.addWidget(self.building_label)

        header_over(self, [self.filter_edit, save_button], self.stack, grow=self.filter_edit)

        self._retry = QTimer(self, singleShot=True, interval=RETRY_MS)
        self._retry.timeout.connect(self.refresh)
        self._soon = QTimer(self, singleShot=True, interval=50)  # coalesces bursts of events into one refresh
        self._soon.timeout.connect(self.refresh)
        events = self.session.events
        self.follow([events.rebuilt], self.rebuild)
        self.follow((events.weights_changed, events.device_changed, events.ran), lambda *_: self._soon.start())
        self.follow((controller.document.events.changed, controller.document.events.reset), self._on_document_changed)
        self.model.modelAboutToBeReset.connect(self._remember_view)
        self.model.modelReset.connect(self._restore_view)
        self.view.selectionModel().selectionChanged.connect(self._on_rows_selected)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        controller.selection_changed.connect(self._on_canvas_selection)
        controller.project_opened.connect(self._on_project_opened)
        self.rebuild()

    # -- following the session ------------------------------------------------------------
    def rebuild(self) -> None:
        """Re-read the whole tree (a new network); rows keep their expansion and selection by name."""
        self._places = self._inits = None
        if not self._refreshing:   # else the refresh under way builds the network and reads the new one
            self.refresh(reset=True)

    def refresh(self, reset: bool = False) -> None:
        """Re-read the tree; rows update in place when the structure is unchanged."""
        if self.session.pending:
            self._wait_for_build()
            return
        with gc_paused():   # the rows of a network of 10,000 blocks: objects that stay, no garbage
            self._refresh(reset)

    def _refresh(self, reset: bool) -> None:
        lock = self.session.lock
        if not lock.acquire(blocking=False):
            self._retry.start()  # a run holds the network; never wait for it in the GUI thread
            return
        error = None
        self._refreshing = True
        try:
            module = self.session.ensure_built()
            tree = self.session.tree()
            if self._inits is None:   # a walk of the graph: not again for each training step
                self._inits = initializer_names(self.controller.document.project, module) if module is not None else {}
            inits = self._inits
        except Exception as err:  # the session reports build errors itself; anything else still reads well
            tree, error = None, str(err)
        finally:
            self._refreshing = False
            lock.release()
        if tree is None:
            error = self.session.error or error or ""
            self.error_label.setText(f"<b>{html.escape(error, quote=False)}</b><br><span style='color:#777'>"
                                     f"The parameters show again once the network builds.</span>")
            self.stack.setCurrentWidget(self.error_label)
            self.model.set_tree(None)
            return
        self.stack.setCurrentWidget(self.view)
        if reset:
            self.model.set_tree(tree, inits)
        else:
            self.model.update_tree(tree, inits)
        if not self.view.isExpanded(self.proxy.index(0, 0)):
            self.view.expand(self.proxy.index(0, 0))

    def _wait_for_build(self) -> None:
        """A big graph's network is out of date and built on a worker thread; ``rebuilt`` brings it here.
        Until the first one is in, say so; later, the rows show the network as last built meanwhile."""
        if self.session.network_now() is None:   # the first time, this asks the controller to build it
            self.model.set_tree(None)   # another project's rows, or none
            count = sum(len(d.nodes) for d in self.controller.document.project.definitions.values())
            self.building_label.setText(f"<b>Building the network…</b><br><span style='color:#777'>{count:,} "
                                        f"nodes: the parameters show as soon as it is built.</span>")
            self.stack.setCurrentWidget(self.building_label)

    def _on_document_changed(self, *_) -> None:
        self._places = self._inits = None  # names, nesting or initializer settings may have changed
        self._soon.start()   # initializer settings live in the document

    def _on_project_opened(self) -> None:
        """Another project: rows of the same name are other tensors, so nothing stays selected."""
        self._pending_restore = None
        self._syncing = True
        try:
            self.view.selectionModel().clear()
        finally:
            self._syncing = False

    def _remember_view(self) -> None:
        expanded, selected = set(), set()
        stack = [QModelIndex()]
        while stack:
            parent = stack.pop()
            for row in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(row, 0, parent)
                if self.view.isExpanded(index):
                    expanded.add(index.data(NAME_ROLE))
                    stack.append(index)
        for index in self.view.selectionModel().selectedRows():
            selected.add(index.data(NAME_ROLE))
        current = self.view.currentIndex()
        self._pending_restore = (expanded, selected, current.data(NAME_ROLE) if current.isValid() else None)

    def _restore_view(self) -> None:
        if self._pending_restore is None:
            return
        expanded, selected, current = self._pending_restore
        self._pending_restore = None
        self._syncing = True
        try:
            for name in sorted(expanded, key=lambda n: n.count(".") if n else -1):
                index = self._proxy_index(name)
                if index.isValid():
                    self.view.expand(index)
            selection = QItemSelection()
            for name in selected:
                index = self._proxy_index(name)
                if index.isValid():
                    selection.select(index, index.siblingAtColumn(len(COLUMNS) - 1))
            model = self.view.selectionModel()
            if current is not None and self._proxy_index(current).isValid():
                model.setCurrentIndex(self._proxy_index(current), QItemSelectionModel.SelectionFlag.NoUpdate)
            model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._syncing = False

    # -- filter -------------------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)  # comes back here through textChanged
            return
        self.proxy.setFilterFixedString(text.strip())
        if text.strip():
            self.view.expandAll()

    # -- rows ---------------------------------------------------------------------------------
    def _proxy_index(self, name: str) -> QModelIndex:
        return self.proxy.mapFromSource(self.model.index_of(name))

    def index_of(self, name: str) -> QModelIndex:
        """The view's index of the row named ``name`` (invalid when filtered out or absent)."""
        return self._proxy_index(name)

    def visible_names(self) -> list[str]:
        """Names of every row the filter lets through, depth first (tests, and Save)."""
        out, stack = [], [QModelIndex()]
        while stack:
            parent = stack.pop()
            rows = [self.proxy.index(r, 0, parent) for r in range(self.proxy.rowCount(parent))]
            for index in reversed(rows):
                stack.append(index)
            if parent.isValid():
                out.append(parent.data(NAME_ROLE))
        return out

    def selected_names(self) -> list[str]:
        return [index.data(NAME_ROLE) for index in self.view.selectionModel().selectedRows()]

    def select_names(self, names: list[str]) -> None:
        """Select these rows (as a click would: the canvas and heatmap follow)."""
        model = self.view.selectionModel()
        selection = QItemSelection()
        first = QModelIndex()
        for name in names:
            index = self._proxy_index(name)
            if index.isValid():
                first = first if first.isValid() else index
                selection.select(index, index.siblingAtColumn(len(COLUMNS) - 1))
        model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if first.isValid():
            if model.currentIndex() == first:
                self._on_current(first)  # no currentChanged for the row that is current already
            else:
                model.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)

    def places(self) -> list[NodePlace]:
        if self._places is None:
            self._places = node_places(self.controller.document.project)
        return self._places

    def _module_of(self, name: str, entry) -> str | None:
        if isinstance(entry, ModuleEntry):
            return entry.name if entry.name else None
        return name.rpartition(".")[0]

    def _on_rows_selected(self, *_) -> None:
        """A row click selects its node (the owning module's node, for a tensor) on the canvas."""
        if self._syncing:
            return
        paths = []
        for index in self.view.selectionModel().selectedRows():
            path = self._module_of(index.data(NAME_ROLE), self.model.entry(self.proxy.mapToSource(index)))
            if path is not None and path not in paths:
                paths.append(path)
        if not paths:
            return
        by_path: dict[str, list[NodePlace]] = {}
        for place in self.places():
            by_path.setdefault(place.module_path, []).append(place)
        chosen = [p for path in paths for p in by_path.get(path, [])[:1]]
        if not chosen:
            return
        definition = chosen[0].definition
        ids = list(dict.fromkeys(p.node_id for p in chosen if p.definition == definition))
        self._syncing = True
        try:
            self.controller.select(definition, ids)
        finally:
            self._syncing = False

    def _on_current(self, current: QModelIndex, *_) -> None:
        if self._syncing or not current.isValid():
            return
        entry = self.model.entry(self.proxy.mapToSource(current))
        if isinstance(entry, TensorEntry):
            self.controller.tensor_selected.emit(network_ref(self.session, entry.name))

    def _on_canvas_selection(self, definition: str, ids: list) -> None:
        """Canvas → tree: select the module rows of the selected nodes (every instance)."""
        if self._syncing:
            return
        wanted = set(ids)
        paths = [p.module_path for p in self.places() if p.definition == definition and p.node_id in wanted]
        self._syncing = True
        try:
            selection = QItemSelection()
            first = QModelIndex()
            for path in paths:
                index = self._proxy_index(path)
                if not index.isValid():
                    continue
                first = first if first.isValid() else index
                parent = index.parent()
                while parent.isValid():
                    self.view.expand(parent)
                    parent = parent.parent()
                selection.select(index, index.siblingAtColumn(len(COLUMNS) - 1))
            self.view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            if first.isValid():
                self.view.scrollTo(first)
        finally:
            self._syncing = False

    # -- saving ---------------------------------------------------------------------------------
    def selected_tensors(self) -> dict[str, object]:
        """Name -> live tensor for the selected rows (a module row stands for every tensor below it);
        a tied tensor is saved under each of its names, which the file stores once."""
        tree = self.model.tree
        if tree is None:
            return {}
        entries: dict[str, TensorEntry] = {}
        for name in self.selected_names():
            entry = tree.find(name) if name else tree.root
            if isinstance(entry, TensorEntry):
                entries[entry.name] = entry
            elif isinstance(entry, ModuleEntry):
                prefix = entry.name + "." if entry.name else ""
                for t in tree.entries():
                    if t.name.startswith(prefix) or any(a.startswith(prefix) for a in t.aliases):
                        entries[t.name] = t
        module = self.session.network_now()   # the network the rows show
        if module is None:
            return {}
        live = tensors_of(module)
        out = {}
        for entry in entries.values():
            tensor = live.get(entry.name)
            if tensor is None or is_lazy(tensor):
                continue
            copy = tensor.detach().clone()  # one copy per tensor, so its names stay tied in the file
            for name in (entry.name, *entry.aliases):
                out[name] = copy
        return out

    def save_selected(self) -> None:
        lock = self.session.lock
        if not lock.acquire(blocking=False):
            save_tensors.show_error(self, "The network is busy with a run; save the tensors when it has finished.")
            return
        try:
            tensors = self.selected_tensors()
        finally:
            lock.release()
        if not tensors and self.selected_names():
            save_tensors.show_error(self, "The selected tensors are deferred: run the network once to give them "
                                          "their shapes, then save them.")
            return
        save_tensors.save_selected(self, tensors, "parameters.safetensors")

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction(self.save_action)
        expand = menu.addAction("Expand All")
        expand.triggered.connect(self.view.expandAll)
        collapse = menu.addAction("Collapse All")
        collapse.triggered.connect(self.view.collapseAll)
        menu.popup(self.view.viewport().mapToGlobal(pos))


def install(window) -> QDockWidget:
    """Dock a parameter tree in ``window`` (right side) and return the dock."""
    return install_panel(window, ParamTreePanel, Qt.DockWidgetArea.RightDockWidgetArea, "Parameters",
                         "parameterTreeDock")
