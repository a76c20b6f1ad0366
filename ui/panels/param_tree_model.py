"""The item model behind the parameter tree.

``ParamTreeModel`` wraps a :class:`netstudio.params.tree.ParamTree`: one root
row (the whole network, with totals that count shared tensors once), then
modules, each listing its own parameters and buffers before its submodules.
Child rows are created only when Qt first asks for them, so a network with
thousands of tensors opens instantly.  ``update_tree`` takes a newer tree: when
only shapes, devices or initializers changed (a lazy layer materialized, the
network moved) the rows are updated in place with ``dataChanged``, so
expansion and selection survive; otherwise the model is reset.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon
from torch import nn

from netstudio.compiler.initialize import recorded_assignments
from netstudio.graph import Project
from netstudio.init.assignments import InitAssignment
from netstudio.init.scopes import resolve
from netstudio.params.tree import ModuleEntry, ParamTree, TensorEntry

COLUMNS = ("Name", "Shape", "Dtype", "Device", "Elements", "Size", "Initializer", "Shared with")
(NAME, SHAPE, DTYPE, DEVICE, ELEMENTS, SIZE, INITIALIZER, SHARED) = range(len(COLUMNS))

NAME_ROLE = Qt.ItemDataRole.UserRole + 1     # full dotted name ("" for the root row)
KIND_ROLE = Qt.ItemDataRole.UserRole + 2     # "network", "module", "parameter" or "buffer"
FILTER_ROLE = Qt.ItemDataRole.UserRole + 3   # the text the filter box matches: every name of the row
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 4    # the TensorEntry or ModuleEntry

_DIM = QColor(128, 128, 128)
_ICONS: dict[str, QIcon] = {}


def human_bytes(n: int) -> str:
    """``1536`` -> ``1.5 KB`` (powers of 1024, as file managers show sizes)."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def shape_text(shape: tuple[int, ...]) -> str:
    """``(8, 20)``, ``(8,)`` or ``()`` for a scalar, as Python writes a shape."""
    return str(tuple(shape))


def describe_assignment(assignment: InitAssignment) -> str:
    """``normal(mean=0, std=0.01)``: the scheme and its arguments, as the tree shows them."""
    args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in assignment.args.items())
    return f"{assignment.scheme}({args})" if args else assignment.scheme


def initializer_names(project: Project, module: nn.Module) -> dict[str, str]:
    """Parameter name -> the initializer that last applies to it (node settings, then project
    assignments, in the order the compiler replays them); parameters not listed keep "default"."""
    out: dict[str, str] = {}
    try:
        assignments = recorded_assignments(project)
    except Exception:  # a malformed setting is the Problems panel's business, not the tree's
        return out
    for assignment in assignments:
        try:
            targets = resolve(module, assignment.scope)
        except Exception:
            continue
        text = describe_assignment(assignment)
        for target in targets:
            out[target.name] = text
    return out


def _icon(kind: str) -> QIcon:
    if kind not in _ICONS:
        import qtawesome as qta
        name, color = {"network": ("mdi6.graph-outline", "#5f6b7a"), "module": ("mdi6.cube-outline", "#5f6b7a"),
                       "parameter": ("mdi6.matrix", "#1a73e8"), "buffer": ("mdi6.database-outline", "#8e6c00")}[kind]
        _ICONS[kind] = qta.icon(name, color=color)
    return _ICONS[kind]


def _signature(entry: ModuleEntry) -> tuple:
    """What decides the rows: names, kinds and sharing, not shapes or devices."""
    return (entry.name, entry.aliases, tuple((t.name, t.kind, t.aliases) for t in entry.tensors),
            tuple(_signature(c) for c in entry.children))


def _deferred_modules(tree: ParamTree) -> tuple[bool, set[str]]:
    """Whether any tensor is deferred, and the modules with a deferred tensor below them (by any of its
    names): one walk of the tree, so that no row walks it again."""
    found: set[str] = set()
    anywhere = False
    for t in tree.entries():
        if t.deferred:
            anywhere = True
            for name in (t.name, *t.aliases):
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return anywhere, found


class _Node:
    """One row; its children are made on first request."""

    __slots__ = ("parent", "row", "entry", "_children")

    def __init__(self, parent: _Node | None, row: int, entry: ModuleEntry | TensorEntry):
        self.parent, self.row, self.entry = parent, row, entry
        self._children: list[_Node] | None = None

    @property
    def is_module(self) -> bool:
        return isinstance(self.entry, ModuleEntry)

    @property
    def name(self) -> str:
        return self.entry.name

    def child_count(self) -> int:
        if not self.is_module:
            return 0
        return len(self.entry.tensors) + len(self.entry.children)

    @property
    def children(self) -> list[_Node]:
        if self._children is None:
            entries = list(self.entry.tensors) + list(self.entry.children) if self.is_module else []
            self._children = [_Node(self, i, e) for i, e in enumerate(entries)]
        return self._children

    def made_children(self) -> list[_Node]:
        return self._children or []


class ParamTreeModel(QAbstractItemModel):
    """Rows: the network, its modules, their parameters and buffers (see the module docstring)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._tree: ParamTree | None = None
        self._root: _Node | None = None
        self._inits: dict[str, str] = {}
        self._deferred: tuple[bool, set[str]] | None = None   # _deferred_modules, once asked

    # -- content -------------------------------------------------------------------------
    @property
    def tree(self) -> ParamTree | None:
        return self._tree

    def set_tree(self, tree: ParamTree | None, initializers: dict[str, str] | None = None) -> None:
        """Show ``tree`` from scratch (a reset: views lose expansion unless they restore it)."""
        self.beginResetModel()
        self._tree = tree
        self._inits = dict(initializers or {})
        self._deferred = None
        self._root = _Node(None, 0, tree.root) if tree is not None else None
        self.endResetModel()

    def update_tree(self, tree: ParamTree | None, initializers: dict[str, str] | None = None) -> bool:
        """Take a newer tree; in place (returns True) when the rows are the same, else a reset."""
        if (tree is None or self._tree is None
                or _signature(tree.root) != _signature(self._tree.root)):
            self.set_tree(tree, initializers)
            return False
        old_inits, self._inits = self._inits, dict(initializers or {})
        self._tree, self._deferred = tree, None
        stack = [self._root]
        last = self.columnCount() - 1
        while stack:
            node = stack.pop()
            fresh = tree.find(node.name) if node.name else tree.root
            if fresh is not None and type(fresh) is type(node.entry):
                changed = fresh != node.entry or old_inits.get(node.name) != self._inits.get(node.name)
                node.entry = fresh
                if changed:
                    index = self.createIndex(node.row, 0, node)
                    self.dataChanged.emit(index, index.siblingAtColumn(last))
            stack.extend(node.made_children())
        return True

    def index_of(self, name: str) -> QModelIndex:
        """The index of the row named ``name`` (a module path or a tensor's first name; "" is the
        network), creating rows on the way; invalid if there is none."""
        node = self._root
        if node is None:
            return QModelIndex()
        while node.name != name:
            for child in node.children:
                if child.name == name or (child.is_module and name.startswith(child.name + ".")):
                    node = child
                    break
            else:
                return QModelIndex()
        return self.createIndex(node.row, 0, node)

    def entry(self, index: QModelIndex) -> ModuleEntry | TensorEntry | None:
        node = self._node(index)
        return node.entry if node is not None else None

    # -- QAbstractItemModel ------------------------------------------------------------------
    def _node(self, index: QModelIndex | QPersistentModelIndex) -> _Node | None:
        return index.internalPointer() if index.isValid() else None

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if self._root is None or not (0 <= column < len(COLUMNS)):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, self._root) if row == 0 else QModelIndex()
        children = self._node(parent).children
        return self.createIndex(row, column, children[row]) if 0 <= row < len(children) else QModelIndex()

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # noqa: A003 (Qt's name)
        node = self._node(index)
        if node is None or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.parent.row, 0, node.parent)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if parent.column() > 0:
            return 0
        if not parent.isValid():
            return 1 if self._root is not None else 0
        return self._node(parent).child_count()

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self._node(index)
        if node is None:
            return None
        entry, column = node.entry, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(node, column)
        if role == NAME_ROLE:
            return entry.name
        if role == KIND_ROLE:
            return self._kind(node)
        if role == ENTRY_ROLE:
            return entry
        if role == FILTER_ROLE:
            return " ".join((entry.name, *entry.aliases))
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return _icon(self._kind(node))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column in (ELEMENTS, SHAPE) and isinstance(entry, TensorEntry) and entry.deferred:
                return _DIM
            if column == INITIALIZER and self._text(node, column) == "default":
                return _DIM
        if role == Qt.ItemDataRole.FontRole and (node.parent is None or (column == SHAPE and not node.is_module
                                                                           and entry.deferred)):
            font = QFont()
            font.setBold(node.parent is None)
            font.setItalic(node.parent is not None)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (ELEMENTS, SIZE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- cell text ---------------------------------------------------------------------------
    def _kind(self, node: _Node) -> str:
        if node.parent is None:
            return "network"
        return "module" if node.is_module else node.entry.kind

    def _module_deferred(self, entry: ModuleEntry) -> bool:
        if self._deferred is None:
            self._deferred = _deferred_modules(self._tree)
        anywhere, modules = self._deferred
        return entry.name in modules if entry.name else anywhere

    def _text(self, node: _Node, column: int) -> str:
        entry = node.entry
        leaf = entry.name.rpartition(".")[2]
        if isinstance(entry, ModuleEntry):
            if column == NAME:
                return "Network" if node.parent is None else f"{leaf} ({entry.class_name})"
            if column in (ELEMENTS, SIZE) and not entry.total_numel and not self._module_deferred(entry):
                return ""  # a module without tensors (an activation)
            if column == ELEMENTS:
                deferred = self._module_deferred(entry)
                if deferred and not entry.total_numel:
                    return "deferred"
                return f"{entry.total_numel:,}" + (" + deferred" if deferred else "")
            if column == SIZE:
                return human_bytes(entry.total_bytes) if entry.total_bytes or not self._module_deferred(entry) else ""
            if column == SHARED:
                return ", ".join(entry.aliases)
            return ""
        if column == NAME:
            return leaf
        if column == SHAPE:
            return "?" if entry.deferred else shape_text(entry.shape)
        if column == DTYPE:
            return entry.dtype
        if column == DEVICE:
            return entry.device
        if column == ELEMENTS:
            return "deferred" if entry.deferred else f"{entry.numel:,}"
        if column == SIZE:
            return "" if entry.deferred else human_bytes(entry.nbytes)
        if column == INITIALIZER:
            if entry.kind != "parameter":
                return ""
            return self._inits.get(entry.name) or next(
                (self._inits[a] for a in entry.aliases if a in self._inits), "default")
        if column == SHARED:
            return ", ".join(entry.aliases)
        return ""

    def _tooltip(self, node: _Node, column: int) -> str | None:
        entry = node.entry
        if isinstance(entry, TensorEntry):
            if entry.deferred:
                return f"{entry.name} is deferred: its shape is known after the first forward run."
            if column == SIZE:
                return f"{entry.nbytes:,} bytes"
            if column == INITIALIZER and entry.kind == "parameter":
                text = self._text(node, column)
                return ("PyTorch's own initialization (no setting covers this parameter)" if text == "default"
                        else f"Initialized with {text}")
            extra = f" (also {', '.join(entry.aliases)})" if entry.aliases else ""
            kind = "parameter" if entry.kind == "parameter" else "buffer"
            return f"{entry.name}{extra}: {kind}, {entry.dtype} on {entry.device}"
        if column in (ELEMENTS, SIZE):
            return f"{entry.total_numel:,} elements, {entry.total_bytes:,} bytes (shared tensors counted once)"
        return entry.name or f"The whole network ({entry.class_name})"
