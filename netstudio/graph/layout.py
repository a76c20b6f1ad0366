"""Automatic layered layout: sources on the left, each node one layer right of its
furthest predecessor, layers spread vertically and ordered to limit crossings."""

from __future__ import annotations

from .topology import topology
from .definition import Definition

LAYER_GAP = 270.0
ROW_GAP = 120.0


def layered_positions(d: Definition) -> dict[str, tuple[float, float]]:
    """Positions for every node of ``d`` (nodes on a cycle go in a last column)."""
    topo = topology(d)
    layer: dict[str, int] = {}
    for node_id in topo.order:
        preds = [layer[e.src] for e in topo.incoming[node_id] if e.src in layer]
        layer[node_id] = max(preds) + 1 if preds else 0
    # Outputs line up in the last column, as people expect.
    last = max(layer.values(), default=0)
    for node in d.outputs:
        if node.id in layer:
            layer[node.id] = last
    extra = last + 1
    for node_id in d.nodes:
        layer.setdefault(node_id, extra)
    columns: dict[int, list[str]] = {}
    for node_id in d.nodes:
        columns.setdefault(layer[node_id], []).append(node_id)
    # Order each column by the mean row of its predecessors (one barycentre sweep).
    row: dict[str, float] = {}
    for col in sorted(columns):
        ids = columns[col]
        original = {i: k for k, i in enumerate(ids)}

        def key(i: str) -> float:
            preds = [row[e.src] for e in topo.incoming[i] if e.src in row]
            return sum(preds) / len(preds) if preds else float(original[i])
        ids.sort(key=key)
        for r, node_id in enumerate(ids):
            row[node_id] = float(r)
    positions = {}
    for col, ids in columns.items():
        offset = (len(ids) - 1) / 2.0
        for r, node_id in enumerate(ids):
            positions[node_id] = (col * LAYER_GAP, (r - offset) * ROW_GAP)
    return positions
