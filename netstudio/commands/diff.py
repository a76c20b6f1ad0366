"""``netstudio diff A B [--json]``: the relative change of every tensor between two checkpoints.

One line per tensor present in both with the same shape, largest relative
change ``‖B − A‖ / ‖A‖`` first, then the tensors found on one side only or
with different shapes.  ``--json`` prints the same as one object; an
infinite change (of an all-zero tensor) is the string ``"inf"``.  Exit 0
when both files could be read, 2 with one sentence otherwise.
"""

from __future__ import annotations

import json
import math


def run(args) -> int:
    from ..training.diff import diff_checkpoints
    result = diff_checkpoints(args.a, args.b)
    if args.json:
        print(json.dumps(_as_json(result), indent=1, allow_nan=False))
        return 0
    rows = [(f"{c.relative:.4e}", _name(c.name), _shape(c.shape)) for c in result.changes]
    if rows:
        widths = [max(len(r[i]) for r in [("relative", "tensor", ""), *rows]) for i in range(2)]
        print(f"{'relative':>{widths[0]}}  tensor")
        for rel, name, shape in rows:
            print(f"{rel:>{widths[0]}}  {name.ljust(widths[1])}  {shape}")
    for e in result.only_a:
        print(f"only in A: {_name(e.name)} {_shape(e.shape)}")
    for e in result.only_b:
        print(f"only in B: {_name(e.name)} {_shape(e.shape)}")
    for name, sa, sb in result.reshaped:
        print(f"shape differs: {_name(name)} {_shape(sa)} in A, {_shape(sb)} in B")
    for name, why in result.skipped:
        print(f"not compared: {_name(name)}: {why}")
    return 0


def _as_json(result) -> dict:
    return {
        "changed": [{"name": c.name, "shape": list(c.shape), "relative_change": _number(c.relative),
                     "norm_a": c.norm, "norm_delta": c.delta} for c in result.changes],
        "only_in_a": [{"name": e.name, "shape": list(e.shape)} for e in result.only_a],
        "only_in_b": [{"name": e.name, "shape": list(e.shape)} for e in result.only_b],
        "shape_differs": [{"name": n, "a": list(sa), "b": list(sb)} for n, sa, sb in result.reshaped],
        "not_compared": [{"name": n, "reason": why} for n, why in result.skipped],
    }


def _number(value: float) -> float | str:
    return value if math.isfinite(value) else "inf"


def _name(name: str) -> str:
    """Names come from the file: control characters are shown escaped, so a name cannot rewrite the terminal."""
    return name if name.isprintable() else ascii(name)[1:-1]


def _shape(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
