"""Bend points of the edges that do not simply join two neighbouring columns.

A long edge runs straight through the slot its dummy holds in each column it
crosses, and bends only in the empty gaps between columns.  An edge cut by a
band break leaves its band on the right, drops into a lane between the two
bands, runs back left and enters the next band from the left; the lanes nest
so that wrapped edges do not cross one another.
"""

from __future__ import annotations

from .layout_graph import LayeredGraph

Point = tuple[float, float]


def edge_bends(g: LayeredGraph, xy: list[Point], breaks: dict[int, tuple[list[tuple[int, int]], float]],
               block_width: float, column_gap: float, lane_margin: float, lane_gap: float) -> dict[str, list[Point]]:
    """Edge id -> points between its two ports, from source to target.

    ``breaks`` maps a band's first layer to the segments (item, item) entering it from the band
    above, top first, and the bottom of that band.
    """
    lanes: dict[tuple[int, int], list[Point]] = {}
    for segments, bottom in breaks.values():
        m = len(segments)
        for i, (a, b) in enumerate(segments):
            step = column_gap * (m - i) / (m + 1)              # the top edge turns outermost
            right = xy[a][0] + block_width / 2 + step
            left = xy[b][0] - block_width / 2 - column_gap + step
            lane = bottom + lane_margin + (m - 1 - i) * lane_gap
            lanes[(a, b)] = [(right, xy[a][1]), (right, lane), (left, lane), (left, xy[b][1])]
    bends: dict[str, list[Point]] = {}
    for link, chain in g.chains:
        points: list[Point] = []
        for k, item in enumerate(chain):
            if k:
                points += lanes.get((chain[k - 1], item), [])
            if g.is_dummy(item):
                x, y = xy[item]
                points += [(x - block_width / 2, y), (x + block_width / 2, y)]
        if points:
            bends[link.edge.id] = points[::-1] if link.reversed else points
    return bends
