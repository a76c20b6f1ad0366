"""Vertical placement inside each column, keeping the order crossing reduction chose.

Each sweep pulls every item toward the weighted mean of its neighbours in the
previous column, then finds the closest placement that keeps the minimum gaps:
an isotonic regression, solved exactly in linear time by pooling adjacent
violators.  The last sweep runs left to right, so a branch follows its source
in a straight row, and a long edge, whose dummies have one neighbour each side,
runs straight wherever the blocks beside it leave room.
"""

from __future__ import annotations

from .layout_graph import LayeredGraph

ITERATIONS = 4


def assign_rows(g: LayeredGraph, layers: list[list[int]], half: list[float], margin: float) -> list[float]:
    """y of every item; ``half`` is each item's half height, ``margin`` the free space between two items."""
    y = [0.0] * len(g.layer)
    for row in layers:
        _place(row, [0.0] * len(row), [1.0] * len(row), half, margin, y)
    downward, upward = (g.up, layers[1:]), (g.down, layers[-2::-1])
    for side, rows in [downward, upward] * ITERATIONS + [downward]:
        for row in rows:
            if len(row) == 1:                          # most columns of a chain: nothing to keep apart
                near = side[row[0]]
                if near:
                    y[row[0]] = sum(y[n] for n, _, _ in near) / len(near)
                continue
            targets, weights = [], []
            for item in row:
                near = side[item]
                targets.append(sum(y[n] for n, _, _ in near) / len(near) if near else y[item])
                weights.append(len(near) or 1e-3)      # an unconnected item yields to the others
            _place(row, targets, weights, half, margin, y)
    return y


def _place(row: list[int], targets: list[float], weights: list[float], half: list[float], margin: float,
           y: list[float]) -> None:
    """Least-squares positions near ``targets``, in order, each at least its gap below the previous."""
    offsets, acc = [], 0.0
    for k, item in enumerate(row):
        if k:
            acc += half[row[k - 1]] + half[item] + margin
        offsets.append(acc)
    blocks: list[list[float]] = []          # [weight, weighted sum, count]
    for t, w, off in zip(targets, weights, offsets):
        blocks.append([w, w * (t - off), 1])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][0] >= blocks[-1][1] / blocks[-1][0]:
            w2, s2, c2 = blocks.pop()
            blocks[-1][0] += w2
            blocks[-1][1] += s2
            blocks[-1][2] += c2
    k = 0
    for w, s, c in blocks:
        level = s / w
        for _ in range(c):
            y[row[k]] = level + offsets[k]
            k += 1
