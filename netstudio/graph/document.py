"""The document: the one API through which every edit of a project goes.

Each method changes the project, then emits the matching events.  Undo in the
app is built from these same calls (and ``snapshot``/``restore`` for composite
edits), so loading, scripting, undo and redo all draw through one path.  The
document checks structure (nodes and ports exist); everything else, such as a
shape mismatch or a bad value, is allowed and reported as a diagnostic.  It keeps
indexes of the project (``index.py``) through every edit, so that no edit scans it:
a 10,000-block graph edits as fast as a small one.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ..catalog import get_block
from ..catalog.block_spec import Role
from ..errors import EditError, as_sentence
from .arguments import MAX_ARGUMENTS, argument_name_problem, references
from .definition import KINDS, Definition
from .edge import Edge, Point
from .argument_edits import remove_argument, rename_argument, use_argument
from .edge_bends import drop_bends_of, replace_bends
from .events import DocumentEvents
from .grouping import group_nodes, ungroup_node
from .index import GraphIndex, used_definition
from .json_values import json_value_problem, text_problem
from .names import NameKind, make_valid_name, name_problem, node_name_kind
from .node import Node
from .ports import input_ports, output_ports
from .project import Project


@dataclass(frozen=True)
class RemovedNode:
    """What ``remove_node`` took away, so ``restore_node`` can put it back."""

    definition: str
    node: Node
    edges: tuple[Edge, ...]
    tied_from: tuple[str, ...]  # nodes that were tied to it
    index: int                  # its place in the definition's node order (= state_dict order)


class Document:
    def __init__(self, project: Project | None = None):
        self.events = DocumentEvents()
        self._project = project if project is not None else new_project()
        self._depth = 0
        self._dirty = False
        self.graph_generation = 0   # bumped by every edit that changes what the project compiles to
        self._reindex()

    # -- access ------------------------------------------------------------------
    @property
    def project(self) -> Project:
        return self._project

    def definition(self, name: str) -> Definition:
        try:
            return self._project.definitions[name]
        except KeyError:
            raise EditError(f"There is no block definition named {name!r}.") from None

    def node(self, definition: str, node_id: str) -> Node:
        d = self.definition(definition)
        try:
            return d.nodes[node_id]
        except KeyError:
            raise EditError(f"There is no node {node_id!r} in {definition!r}.") from None

    def find_node(self, node_id: str) -> tuple[Definition | None, Node | None]:
        """(definition, node) holding ``node_id``, or (None, None)."""
        where = self._index.where.get(node_id)
        return (None, None) if where is None else (self._project.definitions[where],
                                                   self._project.definitions[where].nodes[node_id])

    def incoming(self, definition: str, node_id: str) -> list[Edge]:
        """The edges into a node, from the index (no scan of the definition's edges)."""
        self.definition(definition)
        return list(self._index.definitions[definition].incoming.get(node_id, {}).values())

    def outgoing(self, definition: str, node_id: str) -> list[Edge]:
        self.definition(definition)
        return list(self._index.definitions[definition].outgoing.get(node_id, {}).values())

    def uses_of(self, definition: str) -> list[tuple[str, str]]:
        """(definition name, node id) of every container node that uses ``definition``."""
        return self._index.uses_of(definition)

    # -- batching ------------------------------------------------------------------
    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group several calls into one edit: ``changed`` fires once at the end."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._dirty:
                self._dirty = False
                self.events.changed.emit()

    def _touched(self, graph: bool = True) -> None:
        """An edit happened; ``graph`` says it changes what the project compiles to (a move,
        an initializer setting or the description do not), which bumps ``graph_generation``."""
        if graph:
            self.graph_generation += 1
        if self._depth == 0:
            self.events.changed.emit()
        else:
            self._dirty = True

    # -- ids and names ---------------------------------------------------------------
    def _reindex(self) -> None:
        self._index = GraphIndex(self._project)
        self._counters = {"n": 1, "e": 1}
        for d in self._project.definitions.values():
            for ident in (*d.nodes, *d.edges):
                self._bump_counter(ident)

    def _fresh(self, prefix: str) -> str:
        n = self._counters[prefix]
        self._counters[prefix] = n + 1
        return f"{prefix}{n}"

    def unique_name(self, definition: str, base: str, role: Role | None = None) -> str:
        """A free name for a node of ``definition`` that passes the name rule, close to ``base``."""
        d = self.definition(definition)
        kind, names = node_name_kind(d.kind, role), self._index.definitions[definition].names
        if base and base not in names and name_problem(base, kind) is None:
            return base
        return self._index.fresh_name(definition, make_valid_name(base, kind),
                                      lambda name: name not in names and name_problem(name, kind) is None)

    def unique_definition_name(self, base: str) -> str:
        return make_valid_name(base, NameKind.DEFINITION, self._project.definitions, fallback="Block")

    def name_problem(self, definition: str, node_id: str, name: str) -> str | None:
        """Why ``node_id`` cannot be called ``name`` (the rule, or another node has it), as a sentence."""
        d = self.definition(definition)
        node = self.node(definition, node_id)
        spec = get_block(node.type)
        problem = name_problem(name, node_name_kind(d.kind, spec.role if spec else None))
        if problem is None and name and self._index.definitions[definition].names.get(name, 0) > (node.name == name):
            problem = f"another block in {d.name} is already named {name!r}"
        return as_sentence(problem) if problem else None

    # -- nodes ----------------------------------------------------------------------
    def add_node(self, definition: str, type: str, name: str | None = None,
                 params: dict[str, Any] | None = None, position: tuple[float, float] = (0.0, 0.0),
                 node_id: str | None = None, index: int | None = None) -> Node:
        """Add a block; a missing name is made unique from the type (unnamed in a Sequential)."""
        d = self.definition(definition)
        spec = get_block(type)
        role = spec.role if spec else None
        if name is None:
            auto_index = d.kind == "sequential" and spec is not None and role not in (Role.INPUT, Role.OUTPUT)
            name = "" if auto_index else self.unique_name(definition, _default_name(type), role)
        else:
            problem = name_problem(name, node_name_kind(d.kind, role))
            if problem:
                raise EditError(as_sentence(problem))
        _require_storable("The hyperparameters", params or {})
        _require_finite(position)
        node = Node(id=node_id or self._fresh("n"), type=type, name=name,
                    params=copy.deepcopy(params or {}), position=(float(position[0]), float(position[1])))
        return self.insert_node(definition, node, index)

    def insert_node(self, definition: str, node: Node, index: int | None = None) -> Node:
        """Insert a complete node; ``index`` places it in the node order, which is the state_dict order."""
        d = self.definition(definition)
        if node.id in self._index.where:
            raise EditError(f"A node with id {node.id!r} already exists.")
        if index is None or index >= len(d.nodes):
            d.nodes[node.id] = node
        else:
            items = list(d.nodes.items())
            items.insert(max(index, 0), (node.id, node))
            d.nodes = dict(items)
        self._index.add_node(definition, node)
        self._bump_counter(node.id)
        self.events.node_added.emit(definition, node.id)
        self._touched()
        return node

    def remove_node(self, definition: str, node_id: str) -> RemovedNode:
        """Remove a node with its edges; ties pointing at it are undone."""
        d = self.definition(definition)
        node = self.node(definition, node_id)
        with self.batch():
            edges = tuple(self._index.edges_of(definition, node_id))
            for e in edges:
                self.disconnect(definition, e.id)
            tied_from = tuple(self._index.definitions[definition].tied_from.get(node_id, ()))
            for other in tied_from:
                self.untie(definition, other)
            index = len(d.nodes) - 1 if next(reversed(d.nodes)) == node_id else list(d.nodes).index(node_id)
            del d.nodes[node_id]
            self._index.remove_node(definition, node)
            self.events.node_removed.emit(definition, node_id)
            self._touched()
        return RemovedNode(definition, node, edges, tied_from, index)

    def restore_node(self, removed: RemovedNode) -> None:
        with self.batch():
            self.insert_node(removed.definition, removed.node, removed.index)
            for e in removed.edges:
                self.restore_edge(removed.definition, e)
            for other in removed.tied_from:
                self.tie(removed.definition, other, removed.node.id)

    def rename(self, definition: str, node_id: str, name: str) -> None:
        """Rename a node; a name that fails the name rule or is taken is refused (``EditError``)."""
        node = self.node(definition, node_id)
        if node.name == name:
            return
        problem = self.name_problem(definition, node_id, name)
        if problem:
            raise EditError(problem)
        old = node.name
        node.name = name
        self._index.remove_name(definition, old)
        self._index.add_name(definition, name)
        d = self.definition(definition)
        with self.batch():
            self.events.node_changed.emit(definition, node_id, "name")
            self._touched()
            # Renaming an Input/Output renames a port of every container that uses this definition.
            if node.type in ("Input", "Output"):
                self._rename_container_port(d.name, node.type, old, name)

    def _rename_container_port(self, definition: str, role: str, old: str, new: str) -> None:
        for parent_name, container_id in self.uses_of(definition):
            edges = self.incoming(parent_name, container_id) + self.outgoing(parent_name, container_id)
            for e in edges:
                if role == "Input" and e.dst == container_id and e.dst_port == old:
                    self.disconnect(parent_name, e.id)
                    self.restore_edge(parent_name, Edge(e.id, e.src, e.src_port, e.dst, new))
                elif role == "Output" and e.src == container_id and e.src_port == old:
                    self.disconnect(parent_name, e.id)
                    self.restore_edge(parent_name, Edge(e.id, e.src, new, e.dst, e.dst_port))

    def set_param(self, definition: str, node_id: str, key: str, value: Any) -> None:
        """Set one hyperparameter (validity is a diagnostic, not an error here)."""
        node = self.node(definition, node_id)
        _require_storable(f"The value of {key!r}", {key: value})
        if key in node.params and node.params[key] == value and type(node.params[key]) is type(value):
            return
        used = used_definition(node)
        node.params[key] = copy.deepcopy(value)
        self._index.set_use(definition, node, used, used_definition(node))
        self.events.node_changed.emit(definition, node_id, "params")
        self._touched()

    def reset_param(self, definition: str, node_id: str, key: str) -> None:
        """Forget a hyperparameter's value, so its default applies."""
        node = self.node(definition, node_id)
        if key in node.params:
            used = used_definition(node)
            del node.params[key]
            self._index.set_use(definition, node, used, used_definition(node))
            self.events.node_changed.emit(definition, node_id, "params")
            self._touched()

    def move(self, definition: str, node_id: str, position: tuple[float, float]) -> dict[str, tuple[Point, ...]]:
        """Move a block; the bends of its edges no longer fit and are dropped (returned, for undo)."""
        node = self.node(definition, node_id)
        _require_finite(position)
        pos = (float(position[0]), float(position[1]))
        if node.position == pos:
            return {}
        node.position = pos
        dropped = drop_bends_of(self._project.definitions[definition], self._index.definitions[definition], node_id)
        self.events.node_changed.emit(definition, node_id, "position")
        for edge_id in dropped:
            self.events.edge_changed.emit(definition, edge_id)
        self._touched(graph=False)
        return dropped

    def set_bends(self, definition: str, bends: dict[str, Any]) -> dict[str, tuple[Point, ...]]:
        """Set the bend points of edges (``{edge id: [(x, y), ...]}``, empty to drop them); all are
        checked first (``EditError``).  Returns the old bends of the edges that changed, for undo."""
        d = self.definition(definition)
        old = replace_bends(d, self._index.definitions[definition], bends)
        for edge_id in old:
            self.events.edge_changed.emit(definition, edge_id)
        if old:
            self._touched(graph=False)
        return old

    def set_init(self, definition: str, node_id: str, leaf: str, setting: dict[str, Any] | None) -> None:
        """Set (or clear, with None) the initializer of one of a node's parameters."""
        node = self.node(definition, node_id)
        _require_storable("The initializer setting", {leaf: setting})
        if setting is not None and not isinstance(setting, dict):
            raise EditError("An initializer setting must be an object of named values.")
        if node.init.get(leaf) == setting:
            return
        if setting is None:
            node.init.pop(leaf, None)
        else:
            node.init[leaf] = copy.deepcopy(setting)
        self.events.node_changed.emit(definition, node_id, "init")
        self._touched(graph=False)

    # -- edges ----------------------------------------------------------------------
    def connect(self, definition: str, src: str, src_port: str, dst: str, dst_port: str,
                edge_id: str | None = None) -> Edge:
        s, t = self.node(definition, src), self.node(definition, dst)
        if src_port not in output_ports(self._project, s):
            raise EditError(f"{s.name or s.type} has no output named {src_port!r}.")
        if dst_port not in input_ports(self._project, t):
            raise EditError(f"{t.name or t.type} has no input named {dst_port!r}.")
        for e in self._index.definitions[definition].outgoing.get(src, {}).values():
            if (e.src_port, e.dst, e.dst_port) == (src_port, dst, dst_port):
                raise EditError("These two ports are already connected.")
        return self.restore_edge(definition, Edge(edge_id or self._fresh("e"), src, src_port, dst, dst_port))

    def restore_edge(self, definition: str, edge: Edge) -> Edge:
        """Put back an edge exactly as it was (undo), even if one of its ports no longer exists:
        that is then a diagnostic on the node, as it would be in a file."""
        d = self.definition(definition)
        self.node(definition, edge.src), self.node(definition, edge.dst)
        if edge.id in d.edges:
            raise EditError(f"An edge with id {edge.id!r} already exists.")
        d.edges[edge.id] = edge
        self._index.add_edge(definition, edge)
        self._bump_counter(edge.id)
        self.events.edge_added.emit(definition, edge.id)
        self._touched()
        return edge

    def disconnect(self, definition: str, edge_id: str) -> Edge:
        d = self.definition(definition)
        try:
            edge = d.edges.pop(edge_id)
        except KeyError:
            raise EditError(f"There is no edge {edge_id!r} in {definition!r}.") from None
        self._index.remove_edge(definition, edge)
        self.events.edge_removed.emit(definition, edge_id)
        self._touched()
        return edge

    # -- ties -----------------------------------------------------------------------
    def tie(self, definition: str, node_id: str, target_id: str) -> None:
        """Make ``node_id`` use ``target_id``'s module: one set of parameters, two uses."""
        node, target = self.node(definition, node_id), self.node(definition, target_id)
        root = target
        seen = {node_id}
        while root.tied_to is not None:
            if root.id in seen:
                break
            seen.add(root.id)
            root = self.node(definition, root.tied_to)
        if root.id == node_id:
            raise EditError("A node cannot share parameters with itself.")
        if node.tied_to == root.id:
            return
        self._index.set_tie(definition, node_id, node.tied_to, root.id)
        node.tied_to = root.id
        self.events.node_changed.emit(definition, node_id, "tie")
        self._touched()

    def untie(self, definition: str, node_id: str) -> None:
        node = self.node(definition, node_id)
        if node.tied_to is None:
            return
        self._index.set_tie(definition, node_id, node.tied_to, None)
        node.tied_to = None
        self.events.node_changed.emit(definition, node_id, "tie")
        self._touched()

    def ties(self) -> list[tuple[str, str, str]]:
        """Every tie as (definition, node id, the node id whose module it uses)."""
        return [(d.name, n.id, n.tied_to) for d in self._project.definitions.values()
                for n in d.nodes.values() if n.tied_to is not None]

    # -- definitions ------------------------------------------------------------------
    def add_definition(self, name: str, kind: str = "graph", class_name: str = "",
                       with_io: bool = True) -> Definition:
        if kind not in KINDS:
            raise EditError(f"A definition's kind must be 'sequential' or 'graph', not {kind!r}.")
        if name in self._project.definitions:
            raise EditError(f"A block definition named {name!r} already exists.")
        problem = name_problem(name, NameKind.DEFINITION) or (
            None if not class_name or (kind == "sequential" and class_name == "Sequential")
            else name_problem(class_name, NameKind.CLASS))
        if problem:
            raise EditError(as_sentence(problem))
        d = Definition(name=name, kind=kind, class_name=class_name)
        self._project.definitions[name] = d
        self._index.add_definition(d)
        self.events.definition_added.emit(name)
        if with_io:
            self.add_node(name, "Input", "X", params={"shape": None}, position=(0.0, 0.0))
            out = self.add_node(name, "Output", "output", position=(400.0, 0.0))
            if kind == "sequential":
                self.connect(name, d.inputs[0].id, "out", out.id, "in")
        self._touched()
        return d

    def remove_definition(self, name: str) -> Definition:
        if name == self._project.root:
            raise EditError("The top-level definition cannot be removed.")
        if self.uses_of(name):
            raise EditError(f"{name!r} is still used by {len(self.uses_of(name))} node(s).")
        d = self._project.definitions.pop(name, None)
        if d is None:
            raise EditError(f"There is no block definition named {name!r}.")
        self._index.remove_definition(d)
        self.events.definition_removed.emit(name)
        self._touched()
        return d

    # -- constructor arguments (graph/arguments.py, edits in graph/argument_edits.py) ------------
    def set_argument(self, definition: str, name: str, default: Any) -> None:
        """Declare a constructor argument of a definition, or change its default."""
        d = self.definition(definition)
        problem = argument_name_problem(name)
        if problem:
            raise EditError(as_sentence(problem))
        if next(references(default), None) is not None:
            raise EditError("An argument's default must be a value, not a reference to an argument.")
        if name not in d.arguments and len(d.arguments) >= MAX_ARGUMENTS:
            raise EditError(f"A block can have at most {MAX_ARGUMENTS} arguments.")
        _require_storable(f"The default of {name!r}", {name: default})
        if name in d.arguments and d.arguments[name] == default and type(d.arguments[name]) is type(default):
            return
        self.replace_arguments(definition, {**d.arguments, name: copy.deepcopy(default)})

    def replace_arguments(self, definition: str, arguments: dict[str, Any]) -> None:
        """The primitive under the argument edits: the definition's arguments become ``arguments``
        (already checked by the caller), in that order."""
        self.definition(definition).arguments = dict(arguments)
        self.events.definition_changed.emit(definition)
        self._touched()

    def remove_argument(self, definition: str, name: str) -> None:
        """Undeclare an argument: the hyperparameters that used it keep its default as their value, and
        the uses of the definition stop passing it (their values are lost, as the argument is)."""
        with self.batch():
            remove_argument(self, definition, name)

    def rename_argument(self, definition: str, old: str, new: str) -> None:
        """Rename an argument everywhere: its references inside the definition and what its uses pass."""
        with self.batch():
            rename_argument(self, definition, old, new)

    def use_argument(self, definition: str, node_id: str, key: str, name: str, item: int | None = None) -> None:
        """Make a hyperparameter take the value of an argument of its definition (``c2[0]``)."""
        use_argument(self, definition, node_id, key, name, item)

    # -- code blocks -------------------------------------------------------------------
    def set_code(self, class_name: str, source: str) -> None:
        problem = name_problem(class_name, NameKind.CLASS) or \
            (text_problem(source) if isinstance(source, str) else "the source must be text")
        if problem:
            raise EditError(as_sentence(problem))
        if self._project.code.get(class_name) == source:
            return
        self._project.code[class_name] = source
        self.events.code_changed.emit(class_name)
        self._touched()

    def remove_code(self, class_name: str) -> None:
        if self._project.code.pop(class_name, None) is not None:
            self.events.code_changed.emit(class_name)
            self._touched()

    # -- settings ---------------------------------------------------------------------
    def set_setting(self, key: str, value: Any) -> None:
        """Project-level settings: ``seed``, ``name``, ``description``, ``trusted``, ``initializers``, ``edits``."""
        if key not in _SETTINGS:
            raise EditError(f"{key!r} is not a project setting.")
        if not _SETTINGS[key](value):
            raise EditError(f"{value!r:.60} is not a valid value for the project's {key}.")
        _require_storable(f"The project's {key}", value)
        if getattr(self._project, key) == value:
            return
        setattr(self._project, key, copy.deepcopy(value))
        self.events.settings_changed.emit(key)
        self._touched(graph=key in ("seed", "trusted"))

    # -- grouping ---------------------------------------------------------------------
    def group(self, definition: str, node_ids: Iterable[str], name: str | None = None) -> Node:
        """Move ``node_ids`` into a new Block definition and put one node using it in their place."""
        with self.batch():
            return group_nodes(self, definition, list(node_ids), name)

    def ungroup(self, definition: str, node_id: str) -> list[str]:
        """Replace a container node by a copy of its definition's nodes; returns the new ids."""
        with self.batch():
            return ungroup_node(self, definition, node_id)

    # -- whole-project state --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The project as a dict, for undoing composite edits with ``restore``."""
        return {"project": self._project.to_dict(), "trusted": self._project.trusted}

    def restore(self, state: dict[str, Any]) -> None:
        self.replace(Project.from_dict(state["project"], trusted=state["trusted"]))

    def replace(self, project: Project) -> None:
        """Swap in another project (open, revert, restore): views rebuild on ``reset``."""
        self._project = project
        self._reindex()
        self.events.reset.emit()
        self._touched()

    def _bump_counter(self, ident: str) -> None:
        m = re.match(r"^([a-z]+)(\d+)$", ident)
        if m and m.group(1) in self._counters:
            self._counters[m.group(1)] = max(self._counters[m.group(1)], int(m.group(2)) + 1)


_SETTINGS = {
    "seed": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 63),
    "name": lambda v: isinstance(v, str),
    "description": lambda v: isinstance(v, str),
    "trusted": lambda v: isinstance(v, bool),
    "initializers": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "edits": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
}




def _require_storable(what: str, value: Any) -> None:
    problem = json_value_problem(value)
    if problem:
        raise EditError(f"{what} cannot be stored: {problem}.")


def _require_finite(position: tuple[float, float]) -> None:
    try:
        ok = len(position) == 2 and all(math.isfinite(float(c)) for c in position)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise EditError("A block's position must be two finite numbers.")


def _default_name(type_name: str) -> str:
    return {"Input": "X", "Output": "output"}.get(type_name, type_name.lower())


def new_project(name: str = "untitled", kind: str = "sequential") -> Project:
    """An empty project whose root definition holds an Input and an Output."""
    doc = Document(Project(name=name, definitions={}))
    doc.add_definition("main", kind=kind, class_name="Sequential" if kind == "sequential" else "Net")
    root = doc.project.root_definition
    doc.set_param("main", root.inputs[0].id, "shape", [2, 20])
    return doc.project
