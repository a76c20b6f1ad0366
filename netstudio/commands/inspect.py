"""``netstudio inspect FILE``: the tensors of a checkpoint with their statistics.

Each tensor is listed with its shape, dtype and the statistics of its finite
values (:mod:`netstudio.tensors.stats`); the last column says what is unusual:
``same tensor as X``, ``expanded view of 1 stored value`` (statistics are of
the stored values, counts scaled by the repetition), ``sparse COO tensor with
5 stored values``, ``meta tensor: a shape and dtype, no values``.  Tensors are
never materialised: an expanded view of 2**40 elements is read once per stored
value.

``--json`` prints the same as one JSON object (``tensors``, ``values``,
``metadata``, ``totals``; each tensor also has ``layout``, ``stored`` and
``note``).  JSON has no infinity or NaN, so non-finite numbers, in statistics
and in plain values alike, are written as the strings ``"inf"``, ``"-inf"``
and ``"nan"``.
"""

from __future__ import annotations

import json
import math


def run(args) -> int:
    from ..errors import NetStudioError
    from ..files.checkpoint import open_checkpoint
    from ..files.value_text import json_value
    from ..tensors.stats import tensor_stats
    ckpt = open_checkpoint(args.file)
    tensors, values, stats_of = [], [], {}
    for entry in ckpt.entries:
        if not entry.is_tensor:
            values.append({"name": entry.name, "value": json_value(entry.value)})
            continue
        note = entry.note
        if entry.alias_of is None or entry.alias_of not in stats_of:
            try:
                stats_of[entry.name] = tensor_stats(entry.load(), bins=1)
            except NetStudioError as err:  # no values to describe (meta, raw bits): say why instead
                stats_of[entry.name] = None
                note = note or str(err).rstrip(".")
        stats = stats_of.get(entry.alias_of) if entry.alias_of in stats_of else stats_of[entry.name]
        if stats is not None and not stats.exact:
            note += "; statistics of the values it spans"
        fields = {k: _number(getattr(stats, k)) if stats else None for k in ("min", "max", "mean", "std")}
        tensors.append({"name": entry.name, "shape": list(entry.shape), "dtype": entry.dtype, "numel": entry.numel,
                        "nbytes": entry.nbytes, "alias_of": entry.alias_of, **fields,
                        "nans": stats.nans if stats else None, "infs": stats.infs if stats else None,
                        "layout": entry.layout, "stored": entry.stored, "note": note})
    totals = {"tensors": len(tensors), "numel": ckpt.numel, "nbytes": ckpt.nbytes}
    if args.json:
        print(json.dumps({"file": str(ckpt.path), "format": ckpt.kind, "tensors": tensors, "values": values,
                          "metadata": ckpt.metadata, "totals": totals}, indent=1, allow_nan=False))
        return 0
    _print_table(ckpt, tensors, values, totals)
    return 0


def _print_table(ckpt, tensors: list[dict], values: list[dict], totals: dict) -> None:
    print(f"{ckpt.path.name} ({ckpt.kind})")
    header = ("Name", "Shape", "Dtype", "Min", "Max", "Mean", "Std", "NaN", "Inf", "")
    rows = [(t["name"], "(" + ", ".join(str(s) for s in t["shape"]) + ("," if len(t["shape"]) == 1 else "") + ")",
             t["dtype"], *(_cell(t[k]) for k in ("min", "max", "mean", "std", "nans", "infs")),
             f"same tensor as {t['alias_of']}" if t["alias_of"] else t["note"]) for t in tensors]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {3, 4, 5, 6, 7, 8}
    for row in [header, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
    for v in values:
        print(f"{v['name']} = {json.dumps(v['value'])}")
    stored = any(t["stored"] is not None for t in tensors)
    print(f"Total: {len(tensors)} tensor{'s' if len(tensors) != 1 else ''}, {totals['numel']:,} elements, "
          f"{_size(totals['nbytes'])}" + (" (shared tensors counted once)" if any(t["alias_of"] for t in tensors)
                                          else "") + (" (stored values only)" if stored else ""))


def _number(value: float | None) -> float | str | None:
    """A statistic for JSON: non-finite floats become "inf", "-inf" or "nan"."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _cell(value: float | int | str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) or isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def _size(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{nbytes:,} bytes" if unit == "bytes" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} TB"  # pragma: no cover - unreachable
