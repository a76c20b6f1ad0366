"""Which parts of a definition's structural check an edit makes stale.

The checks of one node (its block and values, its name, its inputs and outputs)
read only that node, the node it is tied to and the edges touching it; the check
of one edge reads only its two nodes.  So after an edit only the nodes and edges
that changed, and their neighbours, are checked again; the rest keep what the
checker of the previous version found.  What a node's check reads outside the
definition (the definitions it uses, the code, the trust) is the incremental
checker's to compare: when that changed, there is no previous checker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph.definition import Definition
from ..graph.edge import Edge
from ..graph.node import Node
from ..graph.topology import Topology
from .diagnostics import Diagnostic

NOTHING = ((), (), ())   # what most nodes' checks find

@dataclass
class Parts:
    """What each node's and each edge's checks found."""

    nodes: dict[str, tuple] = field(default_factory=dict)   # node -> (its block's, its name's, its ports')
    edges: dict[str, list[Diagnostic] | tuple[()]] = field(default_factory=dict)

    def assemble(self, d: Definition, head, names, duplicates, cycles) -> list[Diagnostic]:
        """Everything in the order a whole check finds it (nodes, names, edges, ports)."""
        flagged = [i for i, parts in self.nodes.items() if parts is not NOTHING]
        if flagged:
            rank = {i: k for k, i in enumerate(d.nodes)}
            flagged.sort(key=rank.__getitem__)
        edges = [i for i, found in self.edges.items() if found]
        if edges:
            rank = {i: k for k, i in enumerate(d.edges)}
            edges.sort(key=rank.__getitem__)

        def part(k):
            return [diag for i in flagged for diag in self.nodes[i][k]]
        return [*head, *part(0), *names, *part(1), *duplicates,
                *(diag for i in edges for diag in self.edges[i]), *part(2), *cycles]


def same_wiring(old: Definition, d: Definition) -> bool:
    """The same nodes (by id, in order) joined by the very same edges: a Sequential's chain, and so the
    names its unnamed children take from it, are unchanged (an edit of values, a move)."""
    return list(old.nodes) == list(d.nodes) and len(old.edges) == len(d.edges) and \
        all(old.edges.get(i) is e for i, e in d.edges.items())


def stale_parts(previous, d: Definition, topo: Topology, parts: Parts,
                wired: bool) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges of ``d`` to check (all without a ``previous`` checker of the same kind of
    definition); ``parts`` takes over what ``previous`` found for the others.  ``wired``: whether ``d``
    and the previous version have the same wiring (``same_wiring``)."""
    old = previous.d if previous is not None else None
    if old is None or (old.name, old.kind, old.class_name, old.arguments) != \
            (d.name, d.kind, d.class_name, d.arguments) or (d.kind == "sequential" and not wired):
        return list(d.nodes.values()), list(d.edges.values())   # a Sequential's names follow its chain
    parts.nodes, parts.edges, previous.parts = previous.parts.nodes, previous.parts.edges, None
    changed = {i for i, n in d.nodes.items() if old.nodes.get(i) is not n}
    changed.update(i for i in old.nodes if i not in d.nodes)
    new_edges = [e for i, e in d.edges.items() if old.edges.get(i) is not e]
    gone_edges = [e for i, e in old.edges.items() if d.edges.get(i) is not e]
    nodes = set(changed)
    for e in (*new_edges, *gone_edges):
        nodes.update((e.src, e.dst))
    if changed:
        nodes.update(n.id for n in d.nodes.values() if n.tied_to in changed)
    edges = {e.id: e for e in new_edges}
    for i in changed:
        edges.update((e.id, e) for e in (*topo.incoming.get(i, ()), *topo.outgoing.get(i, ())))
    edges.update((e.id, e) for e in d.edges.values() if e.src not in d.nodes or e.dst not in d.nodes)
    for i in [i for i in nodes if i not in d.nodes]:
        parts.nodes.pop(i, None)
    for e in gone_edges:
        parts.edges.pop(e.id, None)
    return [d.nodes[i] for i in nodes if i in d.nodes], list(edges.values())
