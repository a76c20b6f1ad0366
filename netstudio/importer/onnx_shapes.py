"""ONNX operators that move values around: reshapes, transposes, slices, concatenation, constants.

Their arguments (a target shape, slice bounds, indices) must be constant: the
import knows every shape, so ``Shape`` gives a constant and the small
computations torch writes around it fold away while importing.  What remains
is one allow-listed call each (``torch.reshape``, ``torch.permute``,
``x[:, 1:3]``, ``torch.cat``...).
"""

from __future__ import annotations

import math
import operator

import torch
from torch.nn import functional as F

from .onnx_build import Builder, Const, Value
from .onnx_file import Node
from .onnx_layers import embedding

MAX_INDICES = 1024   # a list of indices written into a call


def identity(b: Builder, n: Node) -> list[Value]:
    return [b.tensor_input(n, 0)]


def constant(b: Builder, n: Node) -> list[Value]:
    out = n.outputs[0] if n.outputs else "constant"
    if len(n.attributes) != 1:
        b.fail("does not hold exactly one value")
    key = next(iter(n.attributes))
    if key == "value":
        return [Const(n.attr("value", torch.Tensor), out)]
    if key in ("value_float", "value_floats"):
        return [Const(torch.tensor(n.attr(key, float if key == "value_float" else (float,)), dtype=torch.float32), out)]
    if key in ("value_int", "value_ints"):
        return [Const(torch.tensor(n.attr(key, int if key == "value_int" else (int,)), dtype=torch.int64), out)]
    b.fail("holds text or a sparse tensor, which NetStudio cannot import")


def _rank_axis(b: Builder, axis: int, rank: int, extra: int = 0) -> int:
    if not -(rank + extra) <= axis < rank + extra:
        b.fail(f"works along axis {axis} of a tensor of {rank} dimensions")
    return axis % (rank + extra)


def reshape(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    shape = n.attr("shape", (int,)) if b.opset < 5 else b.ints(n, 1, "shape")
    if shape is None:
        b.fail("has no target shape")
    shape = list(shape)
    if not n.attr("allowzero", int, 0):   # 0 copies the input's size
        for i, size in enumerate(shape):
            if size == 0:
                if i >= len(x.shape):
                    b.fail(f"copies dimension {i} of a tensor of {len(x.shape)} dimensions")
                shape[i] = x.shape[i]
    return [b.call(torch.reshape, x, shape)]


def flatten(b: Builder, n: Node) -> list[Value]:
    """ONNX Flatten makes a matrix: the dimensions before ``axis`` in rows, the rest in columns."""
    x = b.tensor_input(n, 0)
    rank = len(x.shape)
    axis = n.attr("axis", int, 1)
    if not -rank <= axis <= rank:
        b.fail(f"flattens at axis {axis} a tensor of {rank} dimensions")
    axis = axis + rank if axis < 0 else axis
    if axis == 0:
        return [b.call(torch.unsqueeze, b.call(torch.flatten, x), 0)]
    if axis == rank:
        return [b.call(torch.unsqueeze, b.call(torch.flatten, x), -1)]
    y = b.call(torch.flatten, x, axis) if axis < rank - 1 else x
    return [b.call(torch.flatten, y, 0, axis - 1) if axis > 1 else y]


def transpose(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    rank = len(x.shape)
    perm = n.attr("perm", (int,), tuple(reversed(range(rank))))
    if sorted(p % max(rank, 1) for p in perm) != list(range(rank)):
        b.fail(f"has a permutation {list(perm)[:10]} for a tensor of {rank} dimensions")
    return [b.call(torch.permute, x, list(perm))]


def squeeze(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    rank = len(x.shape)
    axes = n.attr("axes", (int,)) if b.opset < 13 else b.ints(n, 1, "axes")
    axes = [i for i, s in enumerate(x.shape) if s == 1] if axes is None else [_rank_axis(b, a, rank) for a in axes]
    if any(x.shape[a] != 1 for a in axes):
        b.fail("squeezes a dimension whose size is not 1")
    for a in sorted(set(axes), reverse=True):
        x = b.call(torch.squeeze, x, a)
    return [x]


def unsqueeze(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    axes = n.attr("axes", (int,)) if b.opset < 13 else b.ints(n, 1, "axes")
    if not axes:
        b.fail("has no axes")
    rank = len(x.shape) + len(axes)
    for a in sorted({_rank_axis(b, a, rank) for a in axes}):
        x = b.call(torch.unsqueeze, x, a)
    return [x]


def concat(b: Builder, n: Node) -> list[Value]:
    values = [b.tensor_input(n, i) for i in range(len(n.inputs))]
    if not values:
        b.fail("has no inputs")
    return [b.call(torch.cat, values, n.attr("axis", int, 0))]


def split(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    axis = _rank_axis(b, n.attr("axis", int, 0), len(x.shape))
    size = x.shape[axis]
    sizes = n.attr("split", (int,)) if b.opset < 13 else b.ints(n, 1, "split")
    if sizes is None:
        parts = n.attr("num_outputs", int, len(n.outputs))
        if parts < 1:
            b.fail("splits into no parts")
        step = math.ceil(size / parts)
        sizes = [min(step, size - i * step) for i in range(parts)]
    if sum(sizes) != size or any(s < 0 for s in sizes) or len(sizes) != len(n.outputs):
        b.fail(f"splits a dimension of {size} into {list(sizes)[:10]}")
    return list(b.call(torch.split, x, list(sizes), axis))


def slice_(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    rank = len(x.shape)
    if b.opset < 10:
        starts, ends, axes, steps = n.attr("starts", (int,)), n.attr("ends", (int,)), n.attr("axes", (int,)), None
    else:
        starts, ends = b.ints(n, 1, "starts"), b.ints(n, 2, "ends")
        axes, steps = b.ints(n, 3, "axes"), b.ints(n, 4, "steps")
    if starts is None or ends is None or len(starts) != len(ends):
        b.fail("has no matching starts and ends")
    axes = list(range(len(starts))) if axes is None else [_rank_axis(b, a, rank) for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    if len(axes) != len(starts) or len(steps) != len(starts) or len(set(axes)) != len(axes):
        b.fail("has starts, ends, axes and steps that do not match")
    index: list = [slice(None)] * rank
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step <= 0:
            b.fail("slices backwards, which tensor indexing cannot")
        size = x.shape[axis]
        start, end = (min(max(v + size if v < 0 else v, 0), size) for v in (start, end))
        index[axis] = slice(None) if (start, end, step) == (0, size, 1) else \
            slice(start or None, None if end == size else end, None if step == 1 else step)
    while index and index[-1] == slice(None):
        index.pop()
    return [b.call(operator.getitem, x, tuple(index)) if index else x]


def gather(b: Builder, n: Node) -> list[Value]:
    data, indices = b.tensor_input(n, 0), b.tensor_input(n, 1)
    axis = _rank_axis(b, n.attr("axis", int, 0), len(data.shape))
    if isinstance(indices, Const):
        idx = indices.value
        if idx.is_floating_point() or idx.dtype == torch.bool:
            b.fail("gathers with indices that are not integers")
        if idx.dim() == 0:
            return [b.call(operator.getitem, data, (slice(None),) * axis + (int(idx),))]
        if idx.dim() == 1 and idx.numel() <= MAX_INDICES:
            return [b.call(operator.getitem, data, (slice(None),) * axis + ([int(i) for i in idx],))]
        if isinstance(data, Const):
            b.reserve(data.shape[:axis] + tuple(idx.shape) + data.shape[axis + 1:], data.value.element_size())
            return [Const(_gathered(data.value, axis, idx), n.outputs[0] if n.outputs else "constant")]
        b.fail("gathers with a constant block of indices, which no block does")
    if isinstance(data, Const) and axis == 0 and data.value.dim() == 2 and data.value.is_floating_point() \
            and not indices.meta.is_floating_point():
        return [embedding(b, n, data.value, indices)]
    b.fail("gathers with computed indices from a computed tensor, which no block does")


def _gathered(data: torch.Tensor, axis: int, idx: torch.Tensor) -> torch.Tensor:
    picked = torch.index_select(data, axis, idx.reshape(-1) % max(data.shape[axis], 1))
    return picked.reshape(data.shape[:axis] + idx.shape + data.shape[axis + 1:])


def shape(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    start, end = n.attr("start", int, 0), n.attr("end", int, None)
    return [Const(torch.tensor(list(x.shape)[start:end], dtype=torch.int64), n.outputs[0])]


def size(b: Builder, n: Node) -> list[Value]:
    return [Const(torch.tensor(math.prod(b.tensor_input(n, 0).shape), dtype=torch.int64), n.outputs[0])]


def constant_of_shape(b: Builder, n: Node) -> list[Value]:
    dims = b.ints(n, 0, "shape", required=True)
    fill = n.attr("value", torch.Tensor, torch.zeros(1))
    if fill.numel() != 1 or any(d < 0 for d in dims):
        b.fail("has a fill value that is not one number, or a negative size")
    b.reserve(tuple(dims), fill.element_size())
    return [Const(fill.reshape(()).expand(dims).clone(), n.outputs[0])]


def expand(b: Builder, n: Node) -> list[Value]:
    x, dims = b.tensor_input(n, 0), b.ints(n, 1, "shape", required=True)
    try:
        target = torch.broadcast_shapes(tuple(x.shape), tuple(dims))
    except RuntimeError:
        b.fail(f"expands a tensor of shape {tuple(x.shape)} to {tuple(dims)[:10]}")
    return [b.call("expand", x, list(target), method=True)]


def tile(b: Builder, n: Node) -> list[Value]:
    x, repeats = b.tensor_input(n, 0), b.ints(n, 1, "repeats", required=True)
    if len(repeats) != len(x.shape) or any(r < 0 for r in repeats):
        b.fail("repeats a tensor along dimensions it does not have")
    return [b.call("repeat", x, list(repeats), method=True)]


def range_(b: Builder, n: Node) -> list[Value]:
    start, limit, delta = (b.scalar(n, i, what, required=True) for i, what in enumerate(("start", "limit", "delta")))
    if delta == 0:
        b.fail("counts in steps of 0")
    if not all(math.isfinite(v) for v in (start, limit, delta)):
        b.fail("counts to infinity")
    count = max(math.ceil((limit - start) / delta), 0)
    b.reserve((count,), 8)
    dtype = b.const(n, 0, "start").dtype
    return [Const(torch.arange(count, dtype=torch.float64).mul(delta).add(start).to(dtype), n.outputs[0])]


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def pad(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    rank = len(x.shape)
    mode = n.attr("mode", str, "constant")
    if mode not in _PAD_MODES:
        b.fail(f"pads in a mode {mode[:40]!r} ONNX does not define")
    if b.opset < 11:
        pads, value = n.attr("pads", (int,)), n.attr("value", float, 0.0)
        axes = None
    else:
        pads, value = b.ints(n, 1, "pads"), b.scalar(n, 2, "padding value", 0.0)
        axes = b.ints(n, 3, "axes") if b.opset >= 18 else None
    axes = list(range(rank)) if axes is None else [_rank_axis(b, a, rank) for a in axes]
    if pads is None or len(pads) != 2 * len(axes):
        b.fail("has pads that do not match its axes")
    begins, ends = [0] * rank, [0] * rank
    for i, axis in enumerate(axes):
        begins[axis], ends[axis] = pads[i], pads[i + len(axes)]
    first = next((a for a in range(rank) if begins[a] or ends[a]), rank)
    if first == rank:
        return [x]
    torch_pads = [p for axis in reversed(range(first, rank)) for p in (begins[axis], ends[axis])]
    if mode == "constant":
        return [b.call(F.pad, x, torch_pads, "constant", value)]
    return [b.call(F.pad, x, torch_pads, _PAD_MODES[mode])]


SHAPES = {
    "Identity": identity, "Constant": constant, "Reshape": reshape, "Flatten": flatten, "Transpose": transpose,
    "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Concat": concat, "Split": split, "Slice": slice_,
    "Gather": gather, "Shape": shape, "Size": size, "ConstantOfShape": constant_of_shape, "Expand": expand,
    "Tile": tile, "Range": range_, "Pad": pad,
}
