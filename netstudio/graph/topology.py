"""Adjacency and topological order of one definition, computed once per check."""

from __future__ import annotations

from dataclasses import dataclass, field

from .definition import Definition
from .edge import Edge


@dataclass
class Topology:
    incoming: dict[str, list[Edge]] = field(default_factory=dict)
    outgoing: dict[str, list[Edge]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)   # nodes not on a cycle, sources first
    cyclic: set[str] = field(default_factory=set)    # nodes on or behind a cycle


def topology(d: Definition) -> Topology:
    t = Topology({i: [] for i in d.nodes}, {i: [] for i in d.nodes})
    for e in d.edges.values():
        if e.src in d.nodes and e.dst in d.nodes:
            t.outgoing[e.src].append(e)
            t.incoming[e.dst].append(e)
    indegree = {i: len(es) for i, es in t.incoming.items()}
    ready = [i for i in d.nodes if indegree[i] == 0]
    ready.reverse()
    while ready:
        i = ready.pop()
        t.order.append(i)
        for e in reversed(t.outgoing[i]):
            indegree[e.dst] -= 1
            if indegree[e.dst] == 0:
                ready.append(e.dst)
    t.cyclic = set(d.nodes) - set(t.order)
    return t
