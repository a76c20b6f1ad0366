"""Layer assignment: which column each node goes in.

Longest path from the sources, so every edge points right; a cycle (an invalid
graph, still drawn) is broken by reversing the edges that point back in a
depth-first order.  Sources that are not Inputs (a Parameter, a Constant) move
next to their first consumer rather than dragging a long edge across the graph,
and Outputs line up in the last column, as people expect.
"""

from __future__ import annotations

from dataclasses import dataclass

from .definition import Definition
from .edge import Edge
from .topology import topology


@dataclass(frozen=True)
class Link:
    """One drawable edge, oriented left to right: ``reversed`` when it really points back."""

    edge: Edge
    lo: str          # node in the lower layer
    hi: str          # node in the higher layer
    reversed: bool


def assign_layers(d: Definition) -> tuple[dict[str, int], list[Link]]:
    topo = topology(d)
    order = topo.order + _depth_first(topo.cyclic, topo.outgoing, list(d.nodes))
    rank = {node_id: k for k, node_id in enumerate(order)}
    links, preds, succs = [], {i: [] for i in order}, {i: [] for i in order}
    for e in d.edges.values():
        if e.src not in rank or e.dst not in rank or e.src == e.dst:
            continue
        back = rank[e.src] > rank[e.dst]
        lo, hi = (e.dst, e.src) if back else (e.src, e.dst)
        links.append(Link(e, lo, hi, back))
        preds[hi].append(lo)
        succs[lo].append(hi)
    layer: dict[str, int] = {}
    for node_id in order:
        layer[node_id] = max((layer[p] + 1 for p in preds[node_id]), default=0)
    for node_id in order:
        if not preds[node_id] and succs[node_id] and d.nodes[node_id].type != "Input":
            layer[node_id] = min(layer[s] for s in succs[node_id]) - 1
    last = max(layer.values(), default=0)
    for node in d.outputs:
        if not succs[node.id]:
            layer[node.id] = last
    return layer, links


def _depth_first(nodes: set[str], outgoing: dict[str, list[Edge]], tie_order: list[str]) -> list[str]:
    """Reverse postorder of ``nodes``: only the edges closing a cycle point backwards in it."""
    post: list[str] = []
    seen: set[str] = set()
    for root in tie_order:
        if root not in nodes or root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(outgoing[root]))]
        while stack:
            node_id, edges = stack[-1]
            for e in edges:
                if e.dst in nodes and e.dst not in seen:
                    seen.add(e.dst)
                    stack.append((e.dst, iter(outgoing[e.dst])))
                    break
            else:
                post.append(node_id)
                stack.pop()
    post.reverse()
    return post
