"""A traced call as a Function block: the allow-list's key and the call's arguments as JSON.

Tensors (and Python numbers computed from them, such as ``x.size(0)``) become
ports; everything else is written into the call.  ``x.shape[i]`` is read as
``x.size(i)``.  A call the allow-list does not hold is :class:`Unsupported`.
"""

from __future__ import annotations

import builtins
import operator
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch

from ..catalog import DTYPES
from ..catalog.call_json import call_problem, output_ports
from ..catalog.function_table import FUNCTIONS, lookup
from ..catalog.functions import TYPE_NAME
from .errors import Unsupported
from .op_block import OpBlock
from .values import Port

_DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


@dataclass(frozen=True)
class ShapeOf:
    """``x.shape``: only its items are used, each one a ``size`` call."""

    tensor: Port


@cache
def _keys_by_function() -> dict[Any, str]:
    return {e.fn: e.key for e in FUNCTIONS.values() if e.method is None}


def describe_target(op: str, target: Any) -> str:
    if op == "call_method":
        return f"Tensor.{target}"
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__name__", repr(target))
    prefix = {"_operator": "operator", "torch.nn.functional": "F"}.get(
        module, "torch" if module == "torch" or module.startswith(("torch.", "torch._")) else module)
    return f"{prefix}.{name}"


def function_block(op: str, target: Any, args: tuple, kwargs: dict):
    """The OpBlock for a Function node making this call; raises Unsupported."""
    if op == "call_function" and target is builtins.getattr and len(args) == 2 and isinstance(args[0], Port):
        if args[1] == "shape":
            return ShapeOf(args[0])
        raise Unsupported(f"its forward reads the tensor attribute {args[1]!r}")
    if op == "call_method" and target == "size" and len(args) == 1 and not kwargs and isinstance(args[0], Port):
        return ShapeOf(args[0])   # x.size(): only its items are used
    if op == "call_function" and target is operator.getitem and isinstance(args[0], ShapeOf):
        if not isinstance(args[1], int):
            raise Unsupported("its forward slices a tensor's shape")
        op, target, args = "call_method", "size", (args[0].tensor, args[1])
    key = lookup(f"Tensor.{target}").key if op == "call_method" and lookup(f"Tensor.{target}") else \
        _keys_by_function().get(target) if op == "call_function" else None
    if key is None:
        raise Unsupported(f"it calls {describe_target(op, target)}, which no block can do")
    ports: dict[Port, str] = {}
    entry = FUNCTIONS[key]
    kwargs = {k: v for k, v in kwargs.items() if _DEFAULT_KEYWORDS.get(k, _ANY) is not v}
    encoded = [_encode(a, ports, entry.name_at(i) if i < 16 else None, key) for i, a in enumerate(args)]
    call = {"args": encoded, "kwargs": {k: _encode(v, ports, k, key) for k, v in kwargs.items()}}
    params = {"function": key, "call": call}
    problem = call_problem(params)
    if problem:
        raise Unsupported(f"its call of {key} cannot be a block: {problem}")
    outputs = output_ports(params)
    paths = {(): outputs[0]} if len(outputs) == 1 else {(i,): name for i, name in enumerate(outputs)}
    return OpBlock(TYPE_NAME, params, [(name, port) for port, name in ports.items()], paths)


# Keywords torch.fx writes at their default value (F.max_pool2d's dispatch passes return_indices=False):
# leaving them out calls the same function the same way.
_DEFAULT_KEYWORDS = {"return_indices": False}
_ANY = object()


def _encode(value: Any, ports: dict[Port, str], name: str | None, key: str) -> Any:
    if isinstance(value, Port):
        if value not in ports:
            wanted = name if name and name not in ("self", "a", "b") else "x"
            taken = set(ports.values())
            fresh = wanted if wanted not in taken else next(f"{wanted}{i}" for i in range(1, 1000)
                                                           if f"{wanted}{i}" not in taken)
            ports[value] = fresh
        return {"port": ports[value]}
    if isinstance(value, ShapeOf):
        raise Unsupported("its forward passes a whole tensor shape")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.dtype):
        if value not in _DTYPE_NAMES:
            raise Unsupported(f"its call of {key} uses the dtype {value}")
        return _DTYPE_NAMES[value]
    if isinstance(value, slice):
        return {"slice": [_encode(v, ports, None, key) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, tuple) and key == "operator.getitem" and name == "b":
        return {"tuple": [_encode(v, ports, None, key) for v in value]}
    if isinstance(value, (list, tuple, torch.Size)):
        return [_encode(v, ports, None, key) for v in value]
    raise Unsupported(f"its call of {key} passes a {type(value).__name__}")
