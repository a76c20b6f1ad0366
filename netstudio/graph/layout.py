"""Automatic layered layout (Sugiyama): sources on the left, each edge pointing right.

Layers (``layout_layers``), dummy items cutting long edges (``layout_graph``),
crossing reduction (``layout_order``), rows (``layout_rows``), wrapping of long
layouts into bands (``layout_wrap``) and edge bends (``layout_routes``).  Written
here rather than taken from grandalf (GPL/EPL, alpha, about 30 s on a 10k-node
chain, no wrapping) or networkx (layers only, no crossing reduction).

The engine models a block as a ``BLOCK_WIDTH`` x ``BLOCK_HEIGHT`` box centred
on its position; a long edge's slot is ``DUMMY_HEIGHT`` tall.  Pure and
Qt-free: safe to run on a worker thread over a copy of the definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from .definition import Definition
from .layout_graph import build
from .layout_layers import assign_layers
from .layout_order import order_layers
from .layout_routes import Point, edge_bends
from .layout_rows import assign_rows
from .layout_wrap import band_starts

LAYER_GAP = 270.0           # from one column's centre to the next
ROW_GAP = 120.0             # from one block's centre to the next in a column
BLOCK_WIDTH = 180.0
BLOCK_HEIGHT = 100.0
DUMMY_HEIGHT = 10.0
LANE_MARGIN = 60.0          # from a band to the first lane of the edges wrapping under it
LANE_GAP = 20.0


@dataclass(frozen=True)
class Layout:
    positions: dict[str, Point]          # node id -> centre
    bends: dict[str, list[Point]]        # edge id -> points between its ports, source to target


def layered_positions(d: Definition) -> dict[str, Point]:
    """Positions for every node of ``d``."""
    return layered_layout(d).positions


def layered_layout(d: Definition) -> Layout:
    layer, links = assign_layers(d)
    if not layer:
        return Layout({}, {})
    g = build(list(layer), layer, links)
    layers = order_layers(g)
    half = [(DUMMY_HEIGHT if g.is_dummy(i) else BLOCK_HEIGHT) / 2 for i in range(len(g.layer))]
    y = assign_rows(g, layers, half, ROW_GAP - BLOCK_HEIGHT)
    extent = [(min(y[i] - half[i] for i in row), max(y[i] + half[i] for i in row)) for row in layers]
    crossing = [sum(len(g.down[i]) for i in row) for row in layers]
    starts = band_starts(extent, crossing, LAYER_GAP, BLOCK_WIDTH, _band_gap)
    # Bands stack downwards, each left-aligned, with room for the lanes of the edges between them.
    xy: list[Point] = [(0.0, 0.0)] * len(g.layer)
    breaks = {}
    bottom = 0.0
    for b, start in enumerate(starts):
        end = starts[b + 1] if b + 1 < len(starts) else len(layers)
        top = min(extent[k][0] for k in range(start, end))
        shift = -top if b == 0 else bottom + _band_gap(crossing[start - 1]) - top
        for k in range(start, end):
            for i in layers[k]:
                xy[i] = ((k - start) * LAYER_GAP, y[i] + shift)
        if b:
            pos = {item: n for n, item in enumerate(layers[start - 1])}
            ends = sorted((pos[a], a_off, xy[t][1], a, t) for a in layers[start - 1] for t, _, a_off in g.down[a])
            breaks[start] = ([(a, t) for *_, a, t in ends], bottom)
        bottom = max(extent[k][1] for k in range(start, end)) + shift
    bends = edge_bends(g, xy, breaks, BLOCK_WIDTH, LAYER_GAP - BLOCK_WIDTH, LANE_MARGIN, LANE_GAP)
    return Layout({node_id: xy[i] for i, node_id in enumerate(g.ids)}, bends)


def _band_gap(edges: int) -> float:
    return 2 * LANE_MARGIN + max(edges - 1, 0) * LANE_GAP
