"""Indexes of a project that let the document edit a 10,000-block graph in constant time.

The document keeps one ``GraphIndex`` next to its project and updates it in each
primitive edit, so no edit scans the project: which definition holds a node id,
each node's incoming and outgoing edges, the container nodes using each
definition, the nodes tied to each node, and how many nodes carry each name.
``GraphIndex(project)`` builds it from scratch (open, restore); the tests compare
the kept index with a rebuild after random edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .definition import Definition
from .edge import Edge
from .node import Node
from .project import Project

CONTAINERS = ("Block", "Sequential")


@dataclass
class DefinitionIndex:
    """Adjacency, names and ties of one definition.  Edge dicts keep the definition's edge order."""

    incoming: dict[str, dict[str, Edge]] = field(default_factory=dict)
    outgoing: dict[str, dict[str, Edge]] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)               # name -> how many nodes carry it
    tied_from: dict[str, dict[str, None]] = field(default_factory=dict)  # target id -> nodes tied to it
    edge_order: dict[str, int] = field(default_factory=dict)          # edge id -> rank in ``edges``

    def comparable(self) -> tuple:
        """What must equal a rebuild (empty entries and ranks aside, which are bookkeeping)."""
        def clean(m):
            return {k: dict(v) for k, v in m.items() if v}
        return (clean(self.incoming), clean(self.outgoing), {k: v for k, v in self.names.items() if v},
                {k: set(v) for k, v in self.tied_from.items() if v})


class GraphIndex:
    def __init__(self, project: Project):
        self.where: dict[str, str] = {}                        # node id -> definition name
        self.uses: dict[str, dict[tuple[str, str], None]] = {}  # definition -> (parent, container id)
        self.definitions: dict[str, DefinitionIndex] = {}
        self._rank = 0
        self._hints: dict[tuple[str, str], int] = {}           # (definition, base) -> first maybe-free suffix
        for d in project.definitions.values():
            self.add_definition(d)

    def add_definition(self, d: Definition) -> None:
        self.definitions[d.name] = DefinitionIndex()
        for node in d.nodes.values():
            self.add_node(d.name, node)
        for edge in d.edges.values():
            self.add_edge(d.name, edge)

    def remove_definition(self, d: Definition) -> None:
        for node in d.nodes.values():
            self.remove_node(d.name, node)
        del self.definitions[d.name]
        name = d.name
        self._hints = {k: v for k, v in self._hints.items() if k[0] != name}

    # -- nodes ------------------------------------------------------------------------
    def add_node(self, definition: str, node: Node) -> None:
        self.where[node.id] = definition
        self.add_name(definition, node.name)
        self.set_use(definition, node, None, used_definition(node))
        self.set_tie(definition, node.id, None, node.tied_to)

    def remove_node(self, definition: str, node: Node) -> None:
        del self.where[node.id]
        self.remove_name(definition, node.name)
        self.set_use(definition, node, used_definition(node), None)
        self.set_tie(definition, node.id, node.tied_to, None)
        di = self.definitions[definition]
        di.incoming.pop(node.id, None), di.outgoing.pop(node.id, None)

    def add_name(self, definition: str, name: str) -> None:
        names = self.definitions[definition].names
        names[name] = names.get(name, 0) + 1

    def remove_name(self, definition: str, name: str) -> None:
        names = self.definitions[definition].names
        names[name] -= 1
        if not names[name]:
            del names[name]
            base, _, suffix = name.rpartition("_")
            hint = self._hints.get((definition, base))
            if suffix.isdigit() and hint is not None and int(suffix) < hint:
                self._hints[(definition, base)] = int(suffix)

    def fresh_name(self, definition: str, base: str, free) -> str:
        """``base``, else ``base_2``, ``base_3``...: the first that ``free`` accepts; suffixes known taken
        are skipped, so naming a thousandth ``linear`` does not try the 999 before it."""
        if free(base):
            return base
        i = max(2, self._hints.get((definition, base), 2))
        while not free(f"{base}_{i}"):
            i += 1
        self._hints[(definition, base)] = i
        return f"{base}_{i}"

    def set_use(self, definition: str, node: Node, old: str | None, new: str | None) -> None:
        """A container node of ``definition`` stopped using ``old`` and now uses ``new``."""
        if old is not None:
            self.uses[old].pop((definition, node.id), None)
        if new is not None:
            self.uses.setdefault(new, {})[(definition, node.id)] = None

    def set_tie(self, definition: str, node_id: str, old: str | None, new: str | None) -> None:
        tied_from = self.definitions[definition].tied_from
        if old is not None:
            tied_from[old].pop(node_id, None)
        if new is not None:
            tied_from.setdefault(new, {})[node_id] = None

    # -- edges ------------------------------------------------------------------------
    def add_edge(self, definition: str, edge: Edge) -> None:
        di = self.definitions[definition]
        di.outgoing.setdefault(edge.src, {})[edge.id] = edge
        di.incoming.setdefault(edge.dst, {})[edge.id] = edge
        self._rank += 1
        di.edge_order[edge.id] = self._rank

    def remove_edge(self, definition: str, edge: Edge) -> None:
        di = self.definitions[definition]
        di.outgoing[edge.src].pop(edge.id, None)
        di.incoming[edge.dst].pop(edge.id, None)
        del di.edge_order[edge.id]

    def edges_of(self, definition: str, node_id: str) -> list[Edge]:
        """The edges touching a node, in the definition's edge order."""
        di = self.definitions[definition]
        edges = {**di.incoming.get(node_id, {}), **di.outgoing.get(node_id, {})}
        return sorted(edges.values(), key=lambda e: di.edge_order[e.id])

    # -- queries ----------------------------------------------------------------------
    def uses_of(self, definition: str) -> list[tuple[str, str]]:
        return list(self.uses.get(definition, ()))

    def comparable(self) -> tuple:
        return (dict(self.where), {k: set(v) for k, v in self.uses.items() if v},
                {k: di.comparable() for k, di in self.definitions.items()})


def used_definition(node: Node) -> str | None:
    """The definition a container node uses (None for other nodes, or a container naming nothing)."""
    return node.text_param("definition") if node.type in CONTAINERS else None
