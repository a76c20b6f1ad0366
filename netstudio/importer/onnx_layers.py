"""ONNX operators with weights, as the torch.nn modules NetStudio has blocks for.

Conv is ``nn.Conv2d`` holding the file's kernel, Gemm (and MatMul by a constant
matrix, with the Add of a bias that follows it) is ``nn.Linear``,
BatchNormalization is ``nn.BatchNorm2d`` with its running statistics, and so on:
the file's initializers become the modules' parameters and buffers, named after
the initializers (``fc.weight`` makes a module ``fc``).  A module is built on
the meta device and then given the file's tensors, so nothing random is drawn.
"""

from __future__ import annotations

import inspect
import math
import operator
import re
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .module_blocks import block_for_module
from .onnx_build import Builder, Const, Tensor, Value
from .onnx_file import Node

_OPERATOR_LIKE = re.compile(r"[A-Z][A-Za-z]*(_[0-9]+)?\Z")   # torch names nodes /fc/Gemm, /Mul_1
_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_MAX_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVG_POOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_GLOBAL_AVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
_GLOBAL_MAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}
_BATCH_NORM = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
_INSTANCE_NORM = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}


def hint(b: Builder, n: Node) -> str:
    """What to call the module: its initializers' common prefix (``fc.weight`` → ``fc``), else the node's
    name without the operator (``/features/features.0/Conv`` → ``features.0``)."""
    for name in n.inputs[1:]:
        stem, dot, leaf = name.rpartition(".")
        if dot and stem and leaf in ("weight", "bias", "running_mean", "running_var") and not stem.startswith("onnx::"):
            return stem
    parts = [p for p in n.name.split("/") if p]
    if parts and (_OPERATOR_LIKE.match(parts[-1]) or parts[-1].split("_")[0] == n.op_type):
        parts = parts[:-1]
    return parts[-1] if parts else ""


def built(b: Builder, cls: type, tensors: dict[str, torch.Tensor | None], **kwargs: Any) -> nn.Module:
    """``cls(**kwargs)`` made on the meta device, then given ``tensors`` as its parameters and buffers."""
    kwargs = {k: v for k, v in kwargs.items() if not _is_default(cls, k, v)}
    try:
        with torch.device("meta"):
            module = cls(**kwargs)
    except Exception as err:
        b.fail(f"has settings torch.nn.{cls.__name__} does not take ({str(err).splitlines()[0][:120]})")
    for name, value in tensors.items():
        if value is None:
            continue
        if value.dtype != torch.float32:   # the blocks build their layers in float32
            b.fail(f"holds its {name} as {str(value.dtype).removeprefix('torch.')}; NetStudio imports layers "
                   "whose weights are float32")
        mine = getattr(module, name)
        if tuple(mine.shape) != tuple(value.shape):
            b.fail(f"has a {name} of shape {tuple(value.shape)} where {tuple(mine.shape)} is expected")
        if name in module._parameters:
            setattr(module, name, b.weight(value))
        else:
            module._buffers[name] = b.own(value)
    for name, buffer in list(module.named_buffers()):
        if buffer.is_meta:   # BatchNorm's num_batches_tracked
            module._buffers[name] = torch.zeros(buffer.shape, dtype=buffer.dtype)
    if any(p.is_meta for p in module.parameters()):
        b.fail("lacks one of its weights")
    return module


def _is_default(cls: type, name: str, value: Any) -> bool:
    """Whether ``value`` is what ``cls`` takes when ``name`` is left out (``(1, 1)`` for a default of 1):
    such arguments are left out, as a person writing the model would."""
    try:
        default = inspect.signature(cls.__init__).parameters[name].default
    except (KeyError, TypeError, ValueError):
        return False
    if default is inspect.Parameter.empty or isinstance(default, bool) != isinstance(value, bool):
        return False
    if isinstance(value, (tuple, list)) and isinstance(default, int) and value:
        return all(type(v) is int and v == default for v in value)
    return type(value) is type(default) and value == default


def _weight(b: Builder, n: Node, index: int, what: str, optional: bool = False) -> torch.Tensor | None:
    value = b.const(n, index, what)
    if value is None and not optional:
        b.fail(f"has no {what}")
    if value is not None and not value.is_floating_point():
        b.fail(f"has a {what} of type {value.dtype}")
    return value


def _epsilon(b: Builder, n: Node) -> float:
    eps = n.attr("epsilon", float, 1e-5)
    if not 0 < eps < 1:   # also NaN
        b.fail(f"has an epsilon of {eps}")
    return eps


def _per_axis(b: Builder, n: Node, name: str, rank: int, default: int) -> tuple[int, ...]:
    values = n.attr(name, (int,), (default,) * rank)
    if len(values) != rank or any(v < 0 for v in values):
        b.fail(f"has {name} {values} for {rank} spatial dimensions")
    return values


def _pads(b: Builder, n: Node, x: Value, kernel, strides, dilations, rank: int) -> tuple[tuple, tuple]:
    """(begins, ends) of the padding, from ``pads`` or ``auto_pad``."""
    auto = n.attr("auto_pad", str, "NOTSET")
    if auto in ("NOTSET", ""):
        pads = n.attr("pads", (int,), (0,) * (2 * rank))
        if len(pads) != 2 * rank or any(p < 0 for p in pads):
            b.fail(f"has pads {pads} for {rank} spatial dimensions")
        return pads[:rank], pads[rank:]
    if auto == "VALID":
        return (0,) * rank, (0,) * rank
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        b.fail(f"has an auto_pad {auto[:40]!r} ONNX does not define")
    begins, ends = [], []
    for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations):
        total = max((math.ceil(size / max(s, 1)) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if auto == "SAME_UPPER" else large)
        ends.append(large if auto == "SAME_UPPER" else small)
    return tuple(begins), tuple(ends)


def _padded(b: Builder, x: Value, begins, ends) -> tuple[Value, tuple]:
    """A convolution's input and padding: uneven padding is an F.pad before it."""
    if tuple(begins) == tuple(ends):
        return x, tuple(begins)
    pad = [p for axis in reversed(range(len(begins))) for p in (begins[axis], ends[axis])]
    return b.call(F.pad, x, pad), (0,) * len(begins)


def _conv_parts(b: Builder, n: Node, table: dict, what: str):
    """(x, weight, bias, rank, kernel, group, strides, dilations) of a Conv or ConvTranspose node."""
    x, w, bias = b.tensor_input(n, 0), _weight(b, n, 1, "weight"), _weight(b, n, 2, "bias", optional=True)
    rank = w.dim() - 2
    if rank not in table or len(x.shape) != rank + 2:
        b.fail(f"is not a 1-, 2- or 3-d {what} of a batch")
    kernel = tuple(w.shape[2:])
    if n.attr("kernel_shape", (int,), kernel) != kernel:
        b.fail("has a kernel_shape that differs from its weight's")
    group = n.attr("group", int, 1)
    strides, dilations = _per_axis(b, n, "strides", rank, 1), _per_axis(b, n, "dilations", rank, 1)
    return x, w, bias, rank, kernel, group, strides, dilations


def conv(b: Builder, n: Node) -> list[Value]:
    x, w, bias, rank, kernel, group, strides, dilations = _conv_parts(b, n, _CONV, "convolution")
    x, padding = _padded(b, x, *_pads(b, n, x, kernel, strides, dilations, rank))
    module = built(b, _CONV[rank], {"weight": w, "bias": bias}, in_channels=w.shape[1] * group,
                   out_channels=w.shape[0], kernel_size=kernel, stride=strides, padding=padding,
                   dilation=dilations, groups=group, bias=bias is not None)
    return [b.module(hint(b, n), "conv", module, x)]


def conv_transpose(b: Builder, n: Node) -> list[Value]:
    x, w, bias, rank, kernel, group, strides, dilations = _conv_parts(b, n, _CONV_T, "transposed convolution")
    if "output_shape" in n.attributes or n.attr("auto_pad", str, "NOTSET") not in ("NOTSET", "", "VALID"):
        b.fail("sets its output shape, which NetStudio cannot import; export it with pads instead")
    begins, ends = _pads(b, n, x, kernel, strides, dilations, rank)
    if begins != ends:
        b.fail("pads its sides unevenly, which nn.ConvTranspose cannot")
    module = built(b, _CONV_T[rank], {"weight": w, "bias": bias}, in_channels=w.shape[0],
                   out_channels=w.shape[1] * group, kernel_size=kernel, stride=strides, padding=begins,
                   output_padding=_per_axis(b, n, "output_padding", rank, 0), groups=group,
                   bias=bias is not None, dilation=dilations)
    return [b.module(hint(b, n), "conv_transpose", module, x)]


def linear(b: Builder, n: Node, x: Value, weight: torch.Tensor, bias: torch.Tensor | None) -> Value:
    """``x @ weight.T + bias`` as nn.Linear (``weight`` is out × in, as torch holds it)."""
    module = built(b, nn.Linear, {"weight": weight, "bias": bias}, in_features=weight.shape[1],
                   out_features=weight.shape[0], bias=bias is not None)
    return b.module(hint(b, n), "linear", module, x)


def gemm(b: Builder, n: Node) -> list[Value]:
    """``alpha * A' @ B' + beta * C``: nn.Linear when B is constant, C (if any) its bias."""
    a, bv, c = b.tensor_input(n, 0), b.tensor_input(n, 1), b.input(n, 2)
    alpha, beta = n.attr("alpha", float, 1.0), n.attr("beta", float, 1.0)
    if len(a.shape) != 2 or len(bv.shape) != 2:
        b.fail("multiplies tensors that are not matrices")
    if n.attr("transA", int, 0):
        a = b.call(torch.transpose, a, 0, 1)
    if isinstance(bv, Const) and bv.value.is_floating_point() and isinstance(a, Tensor):
        w = bv.value if n.attr("transB", int, 0) else bv.value.t()
        w = w * alpha if alpha != 1 else w
        bias = None
        if isinstance(c, Const) and c.value.is_floating_point() and c.value.numel() == w.shape[0] \
                and c.shape in ((w.shape[0],), (1, w.shape[0])):
            bias, c = (c.value.reshape(-1) * beta if beta != 1 else c.value.reshape(-1)), None
        y = linear(b, n, a, w, bias)
    else:
        if n.attr("transB", int, 0):
            bv = b.call(torch.transpose, bv, 0, 1)
        y = b.call(torch.matmul, a, bv)
        if alpha != 1:
            y = b.binary(operator.mul, y, alpha)
    if c is not None:
        y = b.binary(operator.add, y, b.binary(operator.mul, c, beta) if beta != 1 else c)
    return [y]


def matmul(b: Builder, n: Node) -> list[Value]:
    """``A @ B``: nn.Linear without bias when B is a constant matrix."""
    a, bv = b.tensor_input(n, 0), b.tensor_input(n, 1)
    if isinstance(a, Tensor) and isinstance(bv, Const) and bv.value.dim() == 2 and bv.value.is_floating_point() \
            and len(a.shape) >= 1:
        return [linear(b, n, a, bv.value.t(), None)]
    return [b.call(torch.matmul, a, bv)]


def matmul_add(b: Builder, n: Node) -> list[Value]:
    """MatMul by a constant matrix then Add of a constant vector (what torch writes for nn.Linear on
    more than two dimensions), fused by :mod:`.onnx_patterns`."""
    x, w, bias = b.tensor_input(n, 0), _weight(b, n, 1, "weight"), _weight(b, n, 2, "bias")
    return [linear(b, n, x, w.t(), bias)]


def batch_norm(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    scale, bias = _weight(b, n, 1, "scale"), _weight(b, n, 2, "bias")
    mean, var = _weight(b, n, 3, "mean"), _weight(b, n, 4, "variance")
    if n.attr("training_mode", int, 0) or not n.attr("spatial", int, 1):
        b.fail("normalizes in training mode or per element, which NetStudio cannot import")
    if len(x.shape) not in _BATCH_NORM:
        b.fail(f"normalizes a tensor of {len(x.shape)} dimensions")
    momentum = round(1.0 - n.attr("momentum", float, 0.9), 6)
    if not 0 <= momentum <= 1:
        b.fail("has a momentum outside 0 to 1")
    module = built(b, _BATCH_NORM[len(x.shape)], {"weight": scale, "bias": bias, "running_mean": mean,
                                                  "running_var": var},
                   num_features=scale.numel(), eps=_epsilon(b, n), momentum=momentum)
    module.eval()
    return [b.module(hint(b, n), "batch_norm", module, x)]


def instance_norm(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    scale, bias = _weight(b, n, 1, "scale"), _weight(b, n, 2, "bias")
    if len(x.shape) not in _INSTANCE_NORM:
        b.fail(f"normalizes a tensor of {len(x.shape)} dimensions")
    module = built(b, _INSTANCE_NORM[len(x.shape)], {"weight": scale, "bias": bias}, num_features=scale.numel(),
                   eps=_epsilon(b, n), affine=True)
    return [b.module(hint(b, n), "instance_norm", module, x)]


def layer_norm(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    scale, bias = _weight(b, n, 1, "scale"), _weight(b, n, 2, "bias", optional=True)
    axis = n.attr("axis", int, -1)
    if not -len(x.shape) <= axis < len(x.shape):
        b.fail(f"normalizes along axis {axis} of a tensor of {len(x.shape)} dimensions")
    shape = x.shape[axis:]
    tensors = {}
    for name, value in (("weight", scale), ("bias", bias)):
        if value is not None:
            if value.numel() != math.prod(shape) or tuple(value.shape) != tuple(shape)[len(shape) - value.dim():]:
                b.fail(f"has a {name} of shape {tuple(value.shape)} for the normalized shape {tuple(shape)}")
            tensors[name] = value.reshape(shape)
    module = built(b, nn.LayerNorm, tensors, normalized_shape=list(shape), eps=_epsilon(b, n),
                   elementwise_affine=True, bias=bias is not None)
    return [b.module(hint(b, n), "layer_norm", module, x)]


def _pool_settings(b: Builder, n: Node, x: Value) -> tuple[int, tuple, tuple, tuple, tuple]:
    rank = len(x.shape) - 2
    if rank not in (1, 2, 3):
        b.fail("does not pool a batch of 1-, 2- or 3-d inputs")
    kernel = n.attr("kernel_shape", (int,))
    if kernel is None or len(kernel) != rank:
        b.fail("has no kernel_shape for its input")
    strides, dilations = _per_axis(b, n, "strides", rank, 1), _per_axis(b, n, "dilations", rank, 1)
    begins, ends = _pads(b, n, x, kernel, strides, dilations, rank)
    if begins != ends:
        b.fail("pads its sides unevenly, which torch's pooling cannot")
    return rank, kernel, strides, begins, dilations


def max_pool(b: Builder, n: Node) -> list[Value | None]:
    x = b.tensor_input(n, 0)
    rank, kernel, strides, padding, dilations = _pool_settings(b, n, x)
    module = built(b, _MAX_POOL[rank], {}, kernel_size=kernel, stride=strides, padding=padding,
                   dilation=dilations, ceil_mode=bool(n.attr("ceil_mode", int, 0)))
    return [b.module(hint(b, n), "max_pool", module, x), None]


def average_pool(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    rank, kernel, strides, padding, dilations = _pool_settings(b, n, x)
    if any(d != 1 for d in dilations):
        b.fail("dilates its window, which torch's average pooling cannot")
    ceil, include = bool(n.attr("ceil_mode", int, 0)), bool(n.attr("count_include_pad", int, 0))
    module = built(b, _AVG_POOL[rank], {}, kernel_size=kernel, stride=strides, padding=padding,
                   ceil_mode=ceil, count_include_pad=include)
    if rank == 2 and block_for_module(module) is None:   # padding left out of the mean: the functional form
        return [b.call(F.avg_pool2d, x, list(kernel), list(strides), list(padding), ceil, include)]
    return [b.module(hint(b, n), "avg_pool", module, x)]


def _global(table: dict[int, type], fallback: str):
    def convert(b: Builder, n: Node) -> list[Value]:
        x = b.tensor_input(n, 0)
        if len(x.shape) - 2 not in table:
            b.fail("does not pool a batch of 1-, 2- or 3-d inputs")
        return [b.module(hint(b, n), fallback, built(b, table[len(x.shape) - 2], {}, output_size=1), x)]
    return convert


def prelu(b: Builder, n: Node) -> list[Value]:
    x, slope = b.tensor_input(n, 0), _weight(b, n, 1, "slope")
    channels = x.shape[1] if len(x.shape) >= 2 else 1
    kept = list(slope.shape)
    while kept and kept[0] == 1 and len(kept) > len(x.shape) - 1:
        kept.pop(0)
    if slope.numel() != 1 and not (slope.numel() == channels and len(kept) == len(x.shape) - 1
                                   and kept[0] == channels):
        b.fail(f"has a slope of shape {tuple(slope.shape)}, which is neither one number nor one per channel")
    module = built(b, nn.PReLU, {"weight": slope.reshape(-1)}, num_parameters=slope.numel())
    return [b.module(hint(b, n), "prelu", module, x)]


def embedding(b: Builder, n: Node, table: torch.Tensor, ids: Value) -> Value:
    """Gather of rows of a constant matrix by computed indices: nn.Embedding."""
    module = built(b, nn.Embedding, {"weight": table}, num_embeddings=table.shape[0], embedding_dim=table.shape[1])
    return b.module(hint(b, n), "embedding", module, ids)


LAYERS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "Gemm": gemm, "MatMul": matmul,
    "BatchNormalization": batch_norm, "InstanceNormalization": instance_norm, "LayerNormalization": layer_norm,
    "MaxPool": max_pool, "AveragePool": average_pool, "PRelu": prelu,
    "GlobalAveragePool": _global(_GLOBAL_AVG, "global_avg_pool"),
    "GlobalMaxPool": _global(_GLOBAL_MAX, "global_max_pool"),
}
FUSED = {"MatMulAdd": matmul_add}
