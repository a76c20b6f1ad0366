"""The checkpoint inspector: look inside a .pt, .pth or .safetensors file without a network.

File → Inspect Checkpoint… lists the file's entries by dotted prefix
(``model.0.weight``) with shape, dtype and size.  Nothing is loaded up front:
safetensors are listed from their header, PyTorch zip files are memory-mapped,
and each tensor is read when it is selected, then shown in the heatmap.  A file
that cannot be read, would run pickled code, or declares more than it holds,
is refused with one sentence and the inspector keeps what it showed.

Odd tensors are listed by what they store: an expanded view of 2**40
elements over one value says "1 stored" and its tooltip says why; sparse,
quantized, meta and nested tensors say what they are.  The heatmap gets a
bounded stand-in (``layout.display_tensor``: repeated dimensions narrowed to
one, small sparse tensors made dense), never the full expansion; plain values
are shown through ``value_text``, which never builds more than it shows.

Dialogs go through module functions (``choose_checkpoint_path`` here,
``save_tensors.show_error``), so tests replace them.
"""

from __future__ import annotations

from pathlib import Path

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QFileDialog, QHeaderView, QLabel, QMenu, QToolButton,
                               QTreeWidget, QTreeWidgetItem, QWidget)

from netstudio.errors import NetStudioError
from netstudio.files.checkpoint import Checkpoint, Entry, TreeNode, open_checkpoint
from netstudio.files.value_text import value_text
from netstudio.tensors.layout import display_tensor

from ..document.controller import DocumentController
from . import save_tensors
from .panel import Panel, file_menu_action, header_over, install_panel
from .param_tree_model import human_bytes, shape_text
from .tensor_ref import TensorRef

FILE_FILTER = "Checkpoints (*.safetensors *.pt *.pth);;All files (*)"
NAME_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Name", "Shape", "Dtype", "Elements", "Size")


def choose_checkpoint_path(parent: QWidget | None) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Inspect Checkpoint", "", FILE_FILTER)
    return path or None


class CheckpointInspector(Panel):
    """A file's tensors in a tree (objectName ``checkpointInspector``); selecting one shows it in the heatmap."""

    OBJECT_NAME = "checkpointInspector"

    def __init__(self, controller: DocumentController, parent: QWidget | None = None):
        super().__init__(controller, parent)
        self.checkpoint: Checkpoint | None = None
        self._nodes: dict[int, TreeNode] = {}   # id(item) -> its TreeNode, until its children are made

        self.open_action = QAction(qta.icon("mdi6.file-search-outline"), "Inspect Checkpoint…", self)
        self.open_action.setToolTip("Open a .pt, .pth or .safetensors file to look at its tensors")
        self.open_action.triggered.connect(self.inspect)
        self.save_action = QAction(qta.icon("mdi6.content-save-outline"), "Save Selected Tensors…", self)
        self.save_action.setToolTip("Save the selected tensors to a .safetensors or .pt file")
        self.save_action.triggered.connect(self.save_selected)
        self.save_action.setEnabled(False)
        open_button, save_button = QToolButton(self), QToolButton(self)
        open_button.setDefaultAction(self.open_action)
        save_button.setDefaultAction(self.save_action)
        self.file_label = QLabel("<span style='color:#777'>No file open</span>", self)
        self.file_label.setObjectName("checkpointFile")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("checkpointTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setColumnWidth(0, 220)
        self.tree.setColumnWidth(1, 100)
        self.tree.setColumnWidth(2, 70)
        self.tree.setColumnWidth(3, 90)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.itemExpanded.connect(self._fill)
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemSelectionChanged.connect(
            lambda: self.save_action.setEnabled(bool(self.tree.selectedItems())))
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

        header_over(self, [open_button, self.file_label, save_button], self.tree, grow=self.file_label)

    # -- opening ---------------------------------------------------------------------------
    def inspect(self) -> bool:
        """Ask for a file and open it; False when cancelled or refused."""
        path = choose_checkpoint_path(self)
        return self.open_file(path) if path else False

    def open_file(self, path: str | Path) -> bool:
        """List ``path``'s entries; on failure say why in one sentence and keep what was shown."""
        path = Path(path)
        try:
            checkpoint = open_checkpoint(path)
        except NetStudioError as err:
            save_tensors.show_error(self, str(err))
            return False
        except Exception as err:  # anything else from a hostile file is still just "cannot read"
            reason = str(err).splitlines()[0].rstrip(".") if str(err) else type(err).__name__
            save_tensors.show_error(self, f"'{path.name}' cannot be read: {reason}.")
            return False
        self.checkpoint = checkpoint
        self.tree.clear()
        self._nodes.clear()
        root = checkpoint.tree()
        for node in root.children.values():
            self.tree.addTopLevelItem(self._item(node))
        tensors = len(checkpoint.tensors())
        self.file_label.setText(f"<b>{path.name}</b> <span style='color:#777'>· {tensors:,} tensors, "
                                f"{checkpoint.numel:,} elements, {human_bytes(checkpoint.nbytes)}</span>")
        self.file_label.setToolTip(str(path))
        if self.tree.topLevelItemCount() == 1:
            self.tree.expandItem(self.tree.topLevelItem(0))
        return True

    def _item(self, node: TreeNode) -> QTreeWidgetItem:
        entry = node.entry
        item = QTreeWidgetItem([node.name, "", "", "", ""])
        item.setData(0, NAME_ROLE, node.path)
        if entry is not None and entry.is_tensor:
            item.setText(1, shape_text(entry.shape))
            item.setText(2, (entry.dtype or "") + ("" if entry.layout == "strided" else f" · {entry.layout}"))
            item.setText(3, f"{entry.numel:,}" + (f" ({entry.stored:,} stored)" if entry.stored is not None else ""))
            item.setText(4, human_bytes(entry.nbytes))
            item.setIcon(0, qta.icon("mdi6.matrix", color="#1a73e8"))
            tip = entry.name + (f" (the same data as {entry.alias_of})" if entry.alias_of else "")
            tip += f": {entry.note}" if entry.note else ""
            for col in range(len(COLUMNS)):
                item.setToolTip(col, tip)
            if entry.alias_of:
                item.setText(4, f"= {entry.alias_of}")
        elif entry is not None:
            item.setText(1, value_text(entry.value, 40))
            item.setText(2, type(entry.value).__name__)
            item.setIcon(0, qta.icon("mdi6.information-outline", color="#777"))
            item.setToolTip(1, value_text(entry.value, 500))
        else:
            item.setText(3, f"{node.numel:,}")
            item.setText(4, human_bytes(node.nbytes))
            item.setIcon(0, qta.icon("mdi6.folder-outline", color="#5f6b7a"))
        for col in (3, 4):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if node.children:
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self._nodes[id(item)] = node
        return item

    def _fill(self, item: QTreeWidgetItem) -> None:
        """Make an item's children when it is first expanded."""
        node = self._nodes.pop(id(item), None)
        if node is not None:
            item.addChildren([self._item(child) for child in node.children.values()])

    def item_for(self, name: str) -> QTreeWidgetItem | None:
        """The item of entry or prefix ``name``, making (not expanding) the items on the way."""
        items = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while items:
            for item in items:
                path = item.data(0, NAME_ROLE)
                if path == name:
                    return item
                if name.startswith(path + "."):
                    self._fill(item)
                    items = [item.child(i) for i in range(item.childCount())]
                    break
            else:
                return None
        return None

    def names(self) -> list[str]:
        """Every entry name in the file, in file order."""
        return [e.name for e in self.checkpoint.entries] if self.checkpoint is not None else []

    # -- selection -------------------------------------------------------------------------------
    def entry(self, name: str) -> Entry | None:
        if self.checkpoint is None:
            return None
        try:
            return self.checkpoint[name]
        except KeyError:
            return None

    def select(self, names: list[str]) -> None:
        """Select entries by name, the first becoming current (as clicks would)."""
        self.tree.clearSelection()
        for i, name in enumerate(names):
            item = self.item_for(name)
            if item is None:
                continue
            parent = item.parent()
            while parent is not None:
                parent.setExpanded(True)
                parent = parent.parent()
            if i == 0:
                self.tree.setCurrentItem(item)
            item.setSelected(True)

    def _on_current(self, item: QTreeWidgetItem | None, *_) -> None:
        if item is None or self.checkpoint is None:
            return
        entry = self.entry(item.data(0, NAME_ROLE))
        if entry is not None and entry.is_tensor:
            self.controller.tensor_selected.emit(
                TensorRef(entry.name, self.checkpoint.path.name, value=lambda: display_tensor(entry.load())))

    def selected_entries(self) -> list[Entry]:
        """The selected tensors; a prefix row stands for every tensor under it."""
        if self.checkpoint is None:
            return []
        prefixes = [item.data(0, NAME_ROLE) for item in self.tree.selectedItems()]
        out: dict[str, Entry] = {}
        for entry in self.checkpoint.tensors():
            if any(entry.name == p or entry.name.startswith(p + ".") for p in prefixes):
                out[entry.name] = entry
        return list(out.values())

    def save_selected(self) -> None:
        entries = self.selected_entries()
        try:
            tensors = {e.name: e.load() for e in entries}
        except NetStudioError as err:
            save_tensors.show_error(self, str(err))
            return
        stem = self.checkpoint.path.stem if self.checkpoint is not None else "tensors"
        save_tensors.save_selected(self, tensors, f"{stem}-selected.safetensors")

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction(self.save_action)
        menu.addAction(self.open_action)
        menu.popup(self.tree.viewport().mapToGlobal(pos))


def install(window) -> QDockWidget:
    """Dock an inspector in ``window`` (hidden until used) and put "Inspect Checkpoint…" in the File menu."""
    dock = install_panel(window, CheckpointInspector, Qt.DockWidgetArea.BottomDockWidgetArea, "Checkpoint",
                         "checkpointInspectorDock")
    panel = dock.widget()
    dock.hide()

    dock.inspect_action = file_menu_action(
        window, dock, "mdi6.file-search-outline", "Inspect &Checkpoint…", "inspectCheckpointAction",
        "Look inside a .pt, .pth or .safetensors file", panel.inspect)
    return dock
