"""The proper layered graph the layout works on: every edge longer than one layer
is cut by dummy items, one per layer it crosses, so a long edge takes a slot of
its own in each column it passes and is routed between blocks, never behind one.

Items are integers (real nodes first, then dummies) for speed on large graphs.
Each adjacency entry carries a port offset in [0, 0.5), so that edges into
``in0``..``in3`` of a Concat are ordered like its ports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .layout_layers import Link


@dataclass
class LayeredGraph:
    ids: list[str]                                   # real node ids; items >= len(ids) are dummies
    layer: list[int]                                 # per item
    # (neighbour in the layer above or below, port offset at the neighbour, port offset at this item)
    up: list[list[tuple[int, float, float]]] = field(default_factory=list)
    down: list[list[tuple[int, float, float]]] = field(default_factory=list)
    chains: list[tuple[Link, list[int]]] = field(default_factory=list)  # each edge's items, low layer first

    @property
    def real(self) -> int:
        return len(self.ids)

    def is_dummy(self, item: int) -> bool:
        return item >= len(self.ids)


def build(node_ids: list[str], layer: dict[str, int], links: list[Link]) -> LayeredGraph:
    index = {node_id: k for k, node_id in enumerate(node_ids)}
    g = LayeredGraph(list(node_ids), [layer[i] for i in node_ids])
    g.up = [[] for _ in node_ids]
    g.down = [[] for _ in node_ids]
    out_offset = _port_offsets(links, lambda ln: (ln.lo, _lo_port(ln)))
    in_offset = _port_offsets(links, lambda ln: (ln.hi, _hi_port(ln)))
    for ln in links:
        lo, hi = index[ln.lo], index[ln.hi]
        chain = [lo]
        for lay in range(g.layer[lo] + 1, g.layer[hi]):
            chain.append(len(g.layer))
            g.layer.append(lay)
            g.up.append([])
            g.down.append([])
        chain.append(hi)
        lo_off = out_offset[(ln.lo, _lo_port(ln))]
        hi_off = in_offset[(ln.hi, _hi_port(ln))]
        for k in range(len(chain) - 1):
            a, b = chain[k], chain[k + 1]
            a_off = lo_off if k == 0 else 0.0
            b_off = hi_off if k == len(chain) - 2 else 0.0
            g.down[a].append((b, b_off, a_off))
            g.up[b].append((a, a_off, b_off))
        g.chains.append((ln, chain))
    return g


def _lo_port(ln: Link) -> str:
    return ln.edge.dst_port if ln.reversed else ln.edge.src_port


def _hi_port(ln: Link) -> str:
    return ln.edge.src_port if ln.reversed else ln.edge.dst_port


def _port_offsets(links: list[Link], end) -> dict[tuple[str, str], float]:
    """Each (node, port) used by ``links`` -> its rank among that node's ports, scaled into [0, 0.5)."""
    ports: dict[str, set[str]] = {}
    for ln in links:
        node_id, port = end(ln)
        ports.setdefault(node_id, set()).add(port)
    out = {}
    for node_id, names in ports.items():
        for rank, port in enumerate(sorted(names, key=_natural)):
            out[(node_id, port)] = 0.5 * rank / len(names)
    return out


def _natural(name: str) -> tuple:
    """``in2`` before ``in10``: the catalog numbers its variadic ports."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name))
