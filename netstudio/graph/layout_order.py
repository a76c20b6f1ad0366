"""Crossing reduction: the order of the items in each layer.

A depth-first start (a branch stays together), then alternating down and up
barycentre sweeps, each followed by transposition of adjacent items while that
removes crossings; the order with the fewest crossings seen is kept.  Every
step costs about O(E log E), and sweeping stops once a down and an up sweep gain nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from .layout_graph import LayeredGraph

SWEEPS = 8
TRANSPOSE_PASSES = 4


def order_layers(g: LayeredGraph) -> list[list[int]]:
    layers = _depth_first(g)
    pos = _positions(layers, len(g.layer))
    best, best_count = [list(r) for r in layers], count_crossings(g, layers, pos)
    stale = 0
    for sweep in range(SWEEPS):
        if best_count == 0 or stale == 2:          # a down and an up sweep found nothing better
            break
        downward = sweep % 2 == 0
        for lay in (range(1, len(layers)) if downward else range(len(layers) - 2, -1, -1)):
            _sort_by_barycentre(layers[lay], g.up if downward else g.down, pos)
        _transpose(g, layers, pos)
        count = count_crossings(g, layers, pos)
        stale += 1
        if count < best_count:
            best, best_count, stale = [list(r) for r in layers], count, 0
    return best


def count_crossings(g: LayeredGraph, layers: list[list[int]], pos: list[int]) -> int:
    """Crossings between consecutive layers, ports included (edges sharing a port do not cross)."""
    total = 0
    for row in layers[:-1]:
        segments = sorted((pos[a] + a_off, pos[b] + b_off) for a in row for b, b_off, a_off in g.down[a])
        total += _inversions([s[1] for s in segments])
    return total


def _inversions(values: list[float]) -> int:
    """Pairs i < j with values[i] > values[j], by a Fenwick tree over their ranks."""
    ranks = {v: k + 1 for k, v in enumerate(sorted(set(values)))}
    tree = [0] * (len(ranks) + 1)
    count = 0
    for seen, v in enumerate(values):
        r = ranks[v]
        not_greater, k = 0, r
        while k:
            not_greater += tree[k]
            k -= k & -k
        count += seen - not_greater
        k = r
        while k < len(tree):
            tree[k] += 1
            k += k & -k
    return count


def _depth_first(g: LayeredGraph) -> list[list[int]]:
    layers: list[list[int]] = [[] for _ in range(max(g.layer, default=-1) + 1)]
    seen = [False] * len(g.layer)
    roots = [i for i in range(g.real) if not g.up[i]] + list(range(g.real))
    for root in roots:
        if seen[root]:
            continue
        seen[root] = True
        stack = [root]
        while stack:
            item = stack.pop()
            layers[g.layer[item]].append(item)
            children = sorted(g.down[item], key=lambda entry: entry[2])
            for child, _, _ in reversed(children):
                if not seen[child]:
                    seen[child] = True
                    stack.append(child)
    return layers


def _positions(layers: list[list[int]], size: int) -> list[int]:
    pos = [0] * size
    for row in layers:
        for k, item in enumerate(row):
            pos[item] = k
    return pos


def _sort_by_barycentre(row: list[int], side: list[list[tuple[int, float, float]]], pos: list[int]) -> None:
    def key(item: int) -> float:
        near = side[item]
        return sum(pos[n] + n_off for n, n_off, _ in near) / len(near) if near else pos[item]
    row.sort(key=key)
    for k, item in enumerate(row):
        pos[item] = k


def _transpose(g: LayeredGraph, layers: list[list[int]], pos: list[int]) -> None:
    """Swap neighbours in a layer while that lowers the crossings with both adjacent layers."""
    for _ in range(TRANSPOSE_PASSES):
        improved = False
        for row in layers:
            for k in range(len(row) - 1):
                u, v = row[k], row[k + 1]
                keep, swap = _pair(g.up, u, v, pos)
                keep_down, swap_down = _pair(g.down, u, v, pos)
                if swap + swap_down < keep + keep_down:
                    row[k], row[k + 1] = v, u
                    pos[u], pos[v] = k + 1, k
                    improved = True
        if not improved:
            return


def _pair(side: list[list[tuple[int, float, float]]], u: int, v: int, pos: list[int]) -> tuple[int, int]:
    """Crossings between u's and v's edges on one side: (u above v, v above u)."""
    a = [pos[n] + off for n, off, _ in side[u]]
    b = sorted(pos[n] + off for n, off, _ in side[v])
    if not a or not b:
        return 0, 0
    above = sum(bisect_left(b, x) for x in a)
    below = sum(len(b) - bisect_right(b, x) for x in a)
    return above, below
