"""ONNX activations, arithmetic, comparisons and reductions, as torch.nn modules or allow-listed calls.

Activations are their torch.nn modules (Relu is ``nn.ReLU``); arithmetic is the
Python operator or torch function the Function block's allow-list holds
(``x + y`` is the Add block; a one-value constant becomes a number, see
``Builder.binary``).
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import torch
from torch import nn

from ..catalog import DTYPES
from .onnx_build import Builder, Const, Tensor, Value
from .onnx_file import Node, onnx_dtype
from .onnx_layers import built, hint

_ALLOWED_DTYPES = frozenset(DTYPES.values())


def _binary(fn: Callable):
    def convert(b: Builder, n: Node) -> list[Value]:
        return [b.binary(fn, b.tensor_input(n, 0), b.tensor_input(n, 1))]
    return convert


def divide(b: Builder, n: Node) -> list[Value]:
    x, y = b.tensor_input(n, 0), b.tensor_input(n, 1)
    floating = (x.meta if isinstance(x, Tensor) else x.value).is_floating_point()
    if floating:
        return [b.binary(operator.truediv, x, y)]
    return [b.binary(torch.div, x, y, rounding_mode="trunc")]   # ONNX divides integers towards zero


def _unary(fn: Callable):
    def convert(b: Builder, n: Node) -> list[Value]:
        return [b.call(fn, b.tensor_input(n, 0))]
    return convert


def reciprocal(b: Builder, n: Node) -> list[Value]:
    return [b.call(operator.truediv, 1.0, b.tensor_input(n, 0))]


def power(b: Builder, n: Node) -> list[Value]:
    x, y = b.tensor_input(n, 0), b.tensor_input(n, 1)
    y = y.value.reshape(()).item() if isinstance(y, Const) and y.value.numel() == 1 and isinstance(x, Tensor) \
        and y.value.dim() <= len(x.shape) else y
    return [b.call(torch.pow, x, y)]


def variadic_sum(b: Builder, n: Node, mean: bool = False) -> list[Value]:
    values = [b.tensor_input(n, i) for i in range(len(n.inputs))]
    if not values:
        b.fail("has no inputs")
    total = values[0]
    for v in values[1:]:
        total = b.binary(operator.add, total, v)
    return [b.binary(operator.truediv, total, float(len(values))) if mean and len(values) > 1 else total]


def _module(make: Callable[[Builder, Node], nn.Module], fallback: str):
    def convert(b: Builder, n: Node) -> list[Value]:
        x = b.tensor_input(n, 0)
        return [b.module(hint(b, n), fallback, make(b, n), x)]
    return convert


def _plain(cls: type, **fixed: Any) -> Callable[[Builder, Node], nn.Module]:
    return lambda b, n: built(b, cls, {}, **fixed)


def _hard_sigmoid(b: Builder, n: Node) -> nn.Module:
    if abs(n.attr("alpha", float, 0.2) - 1 / 6) > 1e-6 or abs(n.attr("beta", float, 0.5) - 0.5) > 1e-6:
        b.fail("is a hard sigmoid other than torch's (alpha 1/6, beta 0.5)")
    return built(b, nn.Hardsigmoid, {})


def _selu(b: Builder, n: Node) -> nn.Module:
    if abs(n.attr("alpha", float, 1.67326319217681884765625) - 1.6732632423543772) > 1e-6 \
            or abs(n.attr("gamma", float, 1.05070102214813232421875) - 1.0507009873554805) > 1e-6:
        b.fail("is a SELU with constants other than torch's")
    return built(b, nn.SELU, {})


def _gelu(b: Builder, n: Node) -> nn.Module:
    approximate = n.attr("approximate", str, "none")
    if approximate not in ("none", "tanh"):
        b.fail(f"has an approximation {approximate[:40]!r} ONNX does not define")
    return built(b, nn.GELU, {}, approximate=approximate)


def softmax(cls: type):
    """Softmax and LogSoftmax: along ``axis`` from operator set 13; before, over the dimensions from
    ``axis`` on, which is one reshape, the softmax along the last dimension, and a reshape back."""
    def convert(b: Builder, n: Node) -> list[Value]:
        x = b.tensor_input(n, 0)
        rank = len(x.shape)
        axis = n.attr("axis", int, -1 if b.opset >= 13 else 1)
        if not -max(rank, 1) <= axis < max(rank, 1):
            b.fail(f"works along axis {axis} of a tensor of {rank} dimensions")
        if b.opset >= 13 or axis % max(rank, 1) == rank - 1:
            dim = axis if b.opset >= 13 else -1
            return [b.module(hint(b, n), cls.__name__.lower(), built(b, cls, {}, dim=dim), x)]
        axis %= rank
        flat = b.call(torch.reshape, x, [math.prod(x.shape[:axis]), -1])
        out = b.module(hint(b, n), cls.__name__.lower(), built(b, cls, {}, dim=-1), flat)
        return [b.call(torch.reshape, out, list(x.shape))]
    return convert


def clip(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    if b.opset < 11:
        low, high = n.attr("min", float), n.attr("max", float)
    else:
        low, high = b.scalar(n, 1, "minimum"), b.scalar(n, 2, "maximum")
    if low is not None and high is not None:
        module = built(b, nn.ReLU6, {}) if (low, high) == (0, 6) else \
            built(b, nn.Hardtanh, {}, min_val=float(low), max_val=float(high))
    elif low == 0 and high is None:
        module = built(b, nn.ReLU, {})
    else:
        b.fail("clips on one side only, which no block does")
    return [b.module(hint(b, n), "clip", module, x)]


def dropout(b: Builder, n: Node) -> list[Value | None]:
    x = b.tensor_input(n, 0)
    p = n.attr("ratio", float, 0.5) if b.opset < 12 else b.scalar(n, 1, "ratio", 0.5)
    if b.opset >= 12 and b.scalar(n, 2, "training mode", 0):
        b.fail("drops values while the model runs, which NetStudio cannot import")
    if not 0 <= p <= 1:
        b.fail(f"has a ratio of {p}")
    return [b.module(hint(b, n), "dropout", built(b, nn.Dropout, {}, p=float(p)), x), None]


def cast(b: Builder, n: Node) -> list[Value]:
    x, to = b.tensor_input(n, 0), onnx_dtype(n.attr("to", int, 0))
    if to == (x.value if isinstance(x, Const) else x.meta).dtype:
        return [x]
    if isinstance(x, Const):
        b.reserve(x.shape, torch.empty((), dtype=to).element_size())
        return [Const(x.value.to(to), n.outputs[0] if n.outputs else "constant")]
    if to not in _ALLOWED_DTYPES:
        b.fail(f"converts to {to}, which blocks cannot hold")
    return [b.call("to", x, to, method=True)]


def _axes(b: Builder, n: Node, rank: int, input_from: int) -> list[int] | None:
    axes = n.attr("axes", (int,)) if b.opset < input_from else b.ints(n, 1, "axes")
    if axes is None:
        return None
    size = max(rank, 1)
    if any(not -size <= a < size for a in axes) or len({a % size for a in axes}) != len(axes):
        b.fail(f"has axes {list(axes)} for a tensor of {rank} dimensions")
    return [a % max(rank, 1) for a in axes]


def reduce(fn: Callable, input_from: int):
    """ReduceMean and ReduceSum: ``axes`` is an attribute before operator set ``input_from``, an input after."""
    def convert(b: Builder, n: Node) -> list[Value]:
        x = b.tensor_input(n, 0)
        axes = _axes(b, n, len(x.shape), input_from)
        if not axes:
            if n.attr("noop_with_empty_axes", int, 0):
                return [x]
            axes = list(range(len(x.shape)))
        return [b.call(fn, x, axes, bool(n.attr("keepdims", int, 1)))]
    return convert


def reduce_max(b: Builder, n: Node) -> list[Value]:
    x = b.tensor_input(n, 0)
    axes = _axes(b, n, len(x.shape), 18)
    if not axes or len(axes) != 1:
        b.fail("takes the maximum over more than one axis, which no block does")
    return [b.call(torch.max, x, axes[0], bool(n.attr("keepdims", int, 1)))[0]]


def argmax(b: Builder, n: Node) -> list[Value]:
    if n.attr("select_last_index", int, 0):
        b.fail("picks the last of equal maxima, which torch.argmax does not")
    return [b.call(torch.argmax, b.tensor_input(n, 0), n.attr("axis", int, 0), bool(n.attr("keepdims", int, 1)))]


def where(b: Builder, n: Node) -> list[Value]:
    return [b.call(torch.where, b.tensor_input(n, 0), b.tensor_input(n, 1), b.tensor_input(n, 2))]


def einsum(b: Builder, n: Node) -> list[Value]:
    equation = n.attr("equation", str, "")
    if not equation or len(equation) > 200 or not all(c.isascii() and (c.isalpha() or c in ",.->  ") for c in equation):
        b.fail("has an equation that is not a plain einsum equation")
    return [b.call(torch.einsum, equation, *[b.tensor_input(n, i) for i in range(len(n.inputs))])]


ELEMENTWISE = {
    "Add": _binary(operator.add), "Sub": _binary(operator.sub), "Mul": _binary(operator.mul), "Div": divide,
    "Pow": power, "Neg": _unary(operator.neg), "Exp": _unary(torch.exp), "Log": _unary(torch.log),
    "Sqrt": _unary(torch.sqrt), "Abs": _unary(torch.abs), "Reciprocal": reciprocal,
    "Sum": variadic_sum, "Mean": lambda b, n: variadic_sum(b, n, mean=True),
    "Equal": _binary(torch.eq), "Less": _binary(torch.lt), "LessOrEqual": _binary(torch.le),
    "Greater": _binary(torch.gt), "GreaterOrEqual": _binary(torch.ge), "Where": where,
    "Relu": _module(_plain(nn.ReLU), "relu"), "Sigmoid": _module(_plain(nn.Sigmoid), "sigmoid"),
    "Tanh": _module(_plain(nn.Tanh), "tanh"), "Softplus": _module(_plain(nn.Softplus), "softplus"),
    "Softsign": _module(_plain(nn.Softsign), "softsign"), "Mish": _module(_plain(nn.Mish), "mish"),
    "HardSwish": _module(_plain(nn.Hardswish), "hardswish"),
    "HardSigmoid": _module(_hard_sigmoid, "hardsigmoid"), "Selu": _module(_selu, "selu"),
    "Elu": _module(lambda b, n: built(b, nn.ELU, {}, alpha=n.attr("alpha", float, 1.0)), "elu"),
    "Celu": _module(lambda b, n: built(b, nn.CELU, {}, alpha=n.attr("alpha", float, 1.0)), "celu"),
    "LeakyRelu": _module(lambda b, n: built(b, nn.LeakyReLU, {}, negative_slope=n.attr("alpha", float, 0.01)),
                         "leaky_relu"),
    "Gelu": _module(_gelu, "gelu"),
    "Softmax": softmax(nn.Softmax), "LogSoftmax": softmax(nn.LogSoftmax),
    "Clip": clip, "Dropout": dropout, "Cast": cast,
    "ReduceMean": reduce(torch.mean, 18), "ReduceSum": reduce(torch.sum, 13), "ReduceMax": reduce_max,
    "ArgMax": argmax, "Einsum": einsum,
}
