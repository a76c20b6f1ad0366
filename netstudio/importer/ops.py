"""Function and method calls of a traced forward, as blocks.

A call becomes one of the hand-written blocks where one says exactly the same
(``x + y`` is Add, ``torch.cat`` is Concat), else the Function block, whose
allow-list names every function NetStudio will call.  Anything else is
:class:`Unsupported`, and the module holding it falls back to a code block.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import torch
from torch.nn import functional as F

from .function_calls import function_block
from .op_block import OpBlock
from .values import Port


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _binary(tensor_block: str, scalar_block: str | None):
    def make(args: tuple, kwargs: dict) -> OpBlock | None:
        if kwargs or len(args) != 2:
            return None
        a, b = args
        if isinstance(a, Port) and isinstance(b, Port):
            return OpBlock(tensor_block, {}, [("a", a), ("b", b)])
        if scalar_block and isinstance(a, Port) and _number(b):
            return OpBlock(scalar_block, {"value": b}, [("in", a)])
        if scalar_block and isinstance(b, Port) and _number(a):
            return OpBlock(scalar_block, {"value": a}, [("in", b)])
        return None
    return make


def _unary(block: str, **fixed):
    def make(args: tuple, kwargs: dict) -> OpBlock | None:
        if len(args) != 1 or not isinstance(args[0], Port) or kwargs != {k: v for k, v in fixed.items() if k in kwargs}:
            return None
        return OpBlock(block, {}, [("in", args[0])])
    return make


def _flatten(args: tuple, kwargs: dict) -> OpBlock | None:
    names = ("input", "start_dim", "end_dim")
    bound = dict(zip(names, args)) | kwargs
    x = bound.pop("input", None)
    if not isinstance(x, Port) or set(bound) - {"start_dim", "end_dim"}:
        return None
    return OpBlock("Flatten", {"start_dim": bound.get("start_dim", 0), "end_dim": bound.get("end_dim", -1)},
                   [("in", x)])


MAX_JOINED = 16   # the most inputs a Concat takes


def _cat(args: tuple, kwargs: dict) -> OpBlock | None:
    """A Concat; more tensors than it takes are joined in groups first, which gives the same values
    (joining copies them), so DenseNet's 25 features are one Concat of two."""
    bound = dict(zip(("tensors", "dim"), args)) | kwargs
    tensors, dim = bound.pop("tensors", None), bound.pop("dim", 0)
    if bound or not isinstance(tensors, (list, tuple)) or not 2 <= len(tensors) <= MAX_JOINED ** 2 \
            or not all(isinstance(t, Port) for t in tensors) or not isinstance(dim, int):
        return None
    if len(tensors) > MAX_JOINED:
        groups = [tensors[i:i + MAX_JOINED] for i in range(0, len(tensors), MAX_JOINED)]
        tensors = [group[0] if len(group) == 1 else _cat((group, dim), {}) for group in groups]
    return OpBlock("Concat", {"inputs": len(tensors), "dim": dim}, [(f"in{i}", t) for i, t in enumerate(tensors)])


def _softmax(args: tuple, kwargs: dict) -> OpBlock | None:
    bound = dict(zip(("input", "dim"), args)) | kwargs
    x, dim = bound.pop("input", None), bound.pop("dim", None)
    if bound or not isinstance(x, Port) or not isinstance(dim, int):
        return None
    return OpBlock("Softmax", {"dim": dim}, [("in", x)])


def _reduction(block: str):
    def make(args: tuple, kwargs: dict) -> OpBlock | None:
        bound = dict(zip(("input", "dim", "keepdim"), args)) | kwargs
        x, dim, keepdim = bound.pop("input", None), bound.pop("dim", None), bound.pop("keepdim", False)
        if bound or not isinstance(x, Port) or not (dim is None or isinstance(dim, int)) or not isinstance(keepdim, bool):
            return None
        return OpBlock(block, {"dim": dim, "keepdim": keepdim}, [("in", x)])
    return make


def _gelu(args: tuple, kwargs: dict) -> OpBlock | None:
    bound = dict(zip(("input", "approximate"), args)) | kwargs
    x, approximate = bound.pop("input", None), bound.pop("approximate", "none")
    if bound or not isinstance(x, Port) or approximate not in ("none", "tanh"):
        return None
    return OpBlock("GELU", {"approximate": approximate}, [("in", x)])


_FUNCTIONS: dict[Any, Callable[[tuple, dict], OpBlock | None]] = {
    operator.add: _binary("Add", "AddScalar"), torch.add: _binary("Add", "AddScalar"),
    operator.mul: _binary("Multiply", "MulScalar"), torch.mul: _binary("Multiply", "MulScalar"),
    operator.matmul: _binary("MatMul", None), torch.matmul: _binary("MatMul", None),
    torch.cat: _cat, torch.concat: _cat, torch.flatten: _flatten,
    torch.relu: _unary("ReLU"), F.relu: _unary("ReLU", inplace=False),
    torch.sigmoid: _unary("Sigmoid"), F.sigmoid: _unary("Sigmoid"),
    torch.tanh: _unary("Tanh"), F.tanh: _unary("Tanh"),
    F.gelu: _gelu, torch.softmax: _softmax, F.softmax: _softmax,
    torch.sum: _reduction("Sum"), torch.mean: _reduction("Mean"),
}
_METHODS: dict[str, Callable[[tuple, dict], OpBlock | None]] = {
    "add": _binary("Add", "AddScalar"), "mul": _binary("Multiply", "MulScalar"), "matmul": _binary("MatMul", None),
    "flatten": _flatten, "relu": _unary("ReLU"), "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"),
    "softmax": _softmax, "sum": _reduction("Sum"), "mean": _reduction("Mean"),
}


def op_block(op: str, target: Any, args: tuple, kwargs: dict, numeric: bool = False) -> OpBlock:
    """The block for ``call_function``/``call_method`` ``target``; raises Unsupported.

    ``numeric``: an argument is a Python number computed from sizes (``h // p``), which only the
    Function block's operators take (Add and Multiply are tensor blocks)."""
    make = None if numeric else _FUNCTIONS.get(target) if op == "call_function" else _METHODS.get(target)
    block = make(args, kwargs) if make is not None else None
    if block is None:
        block = function_block(op, target, args, kwargs)
    return block
