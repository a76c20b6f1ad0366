"""The block palette: every catalog block, grouped by category, with a search box.

Dragging a block starts a real ``QDrag`` carrying ``BLOCK_MIME`` (the type
name), which the canvas accepts as a drop; activating one (double-click or
Enter) asks for it at the centre of the view instead, through ``block_activated``.
"""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import QMimeData, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from netstudio.catalog import CATALOG, CATEGORIES

from ..document.mime import BLOCK_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
# Open when the app starts; the other groups (all of torch.nn: 150 blocks) open on a click or a search.
OPEN_AT_START = frozenset({"Inputs and outputs", "Layers", "Convolution", "Activations", "Tensor operations",
                           "Containers", "Custom code"})


class BlockTree(QTreeWidget):
    """Categories as top-level rows, blocks beneath them; only blocks can be dragged."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("paletteTree")
        self.setHeaderHidden(True)
        self.setIconSize(QSize(18, 18))
        self.setUniformRowHeights(True)
        self.setIndentation(12)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._fill()

    def _fill(self) -> None:
        for category in CATEGORIES:
            group = QTreeWidgetItem(self, [category])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            specs = [spec for spec in CATALOG.values() if spec.category == category]
            group.setToolTip(0, f"{len(specs)} block{'s' if len(specs) != 1 else ''}")
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.type_name])
                item.setIcon(0, qta.icon(spec.icon))
                item.setToolTip(0, spec.description)
                item.setStatusTip(0, spec.description)
                item.setData(0, TYPE_ROLE, spec.type_name)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
            group.setExpanded(category in OPEN_AT_START)

    def block_items(self) -> list[QTreeWidgetItem]:
        return [self.topLevelItem(i).child(j) for i in range(self.topLevelItemCount())
                for j in range(self.topLevelItem(i).childCount())]

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        return next((it for it in self.block_items() if it.data(0, TYPE_ROLE) == type_name), None)

    def startDrag(self, supported_actions) -> None:
        item = self.currentItem()
        type_name = item.data(0, TYPE_ROLE) if item is not None else None
        if not type_name:
            return
        mime = QMimeData()
        mime.setData(BLOCK_MIME, type_name.encode("utf-8"))
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(item.icon(0).pixmap(QSize(32, 32)))
        drag.setHotSpot(QPoint(16, 16))
        drag.exec(Qt.DropAction.CopyAction)


class BlockPalette(QWidget):
    """Search box over the tree; ``block_activated(type_name)`` on double-click or Enter."""

    block_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search blocks")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(qta.icon("mdi6.magnify"), QLineEdit.ActionPosition.LeadingPosition)
        self.tree = BlockTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self._opened: dict[str, bool] | None = None   # which groups were open before a search
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._on_activated)

    def filter(self, text: str) -> None:
        """Show the blocks whose name or description contains ``text`` (any case)."""
        needle = text.strip().lower()
        groups = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        if needle and self._opened is None:   # a search opens the groups it finds; clearing it puts them back
            self._opened = {g.text(0): g.isExpanded() for g in groups}
        for group in groups:
            shown = 0
            for j in range(group.childCount()):
                item = group.child(j)
                match = not needle or needle in item.text(0).lower() or needle in item.toolTip(0).lower()
                item.setHidden(not match)
                shown += match
            group.setHidden(shown == 0)
            if needle:
                group.setExpanded(shown > 0)
        if not needle and self._opened is not None:
            for group in groups:
                group.setExpanded(self._opened.get(group.text(0), False))
            self._opened = None

    def visible_blocks(self) -> list[str]:
        return [it.data(0, TYPE_ROLE) for it in self.tree.block_items()
                if not it.isHidden() and not it.parent().isHidden()]

    def best_match(self) -> str | None:
        """The visible block Enter adds: the name equal to the search text, else the first name that
        starts with it, else the first name containing it, else the first block shown."""
        visible = self.visible_blocks()
        needle = self.search.text().strip().lower()

        def rank(name: str) -> int:
            low = name.lower()
            return 0 if low == needle else 1 if low.startswith(needle) else 2 if needle in low else 3
        return min(visible, key=rank) if visible else None   # min keeps the tree order among equals

    def _activate_first(self) -> None:
        best = self.best_match()
        if best:
            self.block_activated.emit(best)

    def _on_activated(self, item: QTreeWidgetItem) -> None:
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self.block_activated.emit(type_name)
