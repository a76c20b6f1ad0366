"""``netstudio inspect FILE``: the tensors of a checkpoint with their statistics."""

from __future__ import annotations

import json


def run(args) -> int:
    from ..files.checkpoint import open_checkpoint
    from ..tensors.stats import tensor_stats
    ckpt = open_checkpoint(args.file)
    tensors, values, stats_of = [], [], {}
    for entry in ckpt.entries:
        if not entry.is_tensor:
            values.append({"name": entry.name, "value": _json_value(entry.value)})
            continue
        if entry.alias_of is None or entry.alias_of not in stats_of:
            stats_of[entry.name] = tensor_stats(entry.load(), bins=1)
        stats = stats_of.get(entry.alias_of) or stats_of[entry.name]
        tensors.append({"name": entry.name, "shape": list(entry.shape), "dtype": entry.dtype, "numel": entry.numel,
                        "nbytes": entry.nbytes, "alias_of": entry.alias_of, "min": stats.min, "max": stats.max,
                        "mean": stats.mean, "std": stats.std, "nans": stats.nans, "infs": stats.infs})
    totals = {"tensors": len(tensors), "numel": ckpt.numel, "nbytes": ckpt.nbytes}
    if args.json:
        print(json.dumps({"file": str(ckpt.path), "format": ckpt.kind, "tensors": tensors, "values": values,
                          "metadata": ckpt.metadata, "totals": totals}, indent=1, allow_nan=False))
        return 0
    print(f"{ckpt.path.name} ({ckpt.kind})")
    header = ("Name", "Shape", "Dtype", "Min", "Max", "Mean", "Std", "NaN", "Inf", "")
    rows = [(t["name"], "(" + ", ".join(str(s) for s in t["shape"]) + ("," if len(t["shape"]) == 1 else "") + ")",
             t["dtype"], *(_number(t[k]) for k in ("min", "max", "mean", "std")), str(t["nans"]), str(t["infs"]),
             f"same tensor as {t['alias_of']}" if t["alias_of"] else "") for t in tensors]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {3, 4, 5, 6, 7, 8}
    for row in [header, *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
    for v in values:
        print(f"{v['name']} = {json.dumps(v['value'])}")
    print(f"Total: {len(tensors)} tensor{'s' if len(tensors) != 1 else ''}, {totals['numel']:,} elements, "
          f"{_size(totals['nbytes'])}" + (" (shared tensors counted once)" if any(t["alias_of"] for t in tensors)
                                          else ""))
    return 0


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _size(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{nbytes:,} bytes" if unit == "bytes" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} TB"  # pragma: no cover - unreachable


def _json_value(value):
    """A checkpoint's non-tensor value as JSON: numbers, text, lists and objects as such, else its repr."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)
