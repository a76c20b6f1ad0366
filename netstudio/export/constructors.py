"""Constructor calls (``nn.Linear(in_features=20, out_features=256, bias=True)``) for built modules.

A call is derived from the *materialized* module, so a LazyLinear that has
seen its input is written as the ``nn.Linear`` it became.  Two derivations are
tried in turn: the class name around its ``extra_repr()`` (what ``print(net)``
shows), then keyword arguments read from the instance's attributes by the
names of the constructor's parameters (for classes whose ``extra_repr`` leaves
something out, like ``AvgPool2d``'s ``ceil_mode``).  A candidate is accepted
only if evaluating it builds a module of the same class, printing the same,
with the same plain attributes and the same parameter and buffer names,
shapes and dtypes; it is built on the meta device, so checking costs no
memory.
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
from collections import OrderedDict
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..catalog.op_modules import OP_MODULES


class NotExpressible(Exception):
    """No constructor call rebuilds the module; the message is a sentence fragment."""


def base_namespace() -> dict[str, Any]:
    """The names model.py has in scope, for evaluating candidate calls."""
    ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "math": math, "operator": operator,
                          "OrderedDict": OrderedDict}
    ns.update({cls.__name__: cls for cls in OP_MODULES})
    return ns


def class_source_name(module: nn.Module) -> str | None:
    """How model.py names the module's class: ``nn.Linear``, ``AddScalar``; None when it cannot."""
    cls = type(module)
    if getattr(nn, cls.__name__, None) is cls:
        return f"nn.{cls.__name__}"
    if cls in OP_MODULES:
        return cls.__name__
    return None


def constructor_call(module: nn.Module, namespace: dict[str, Any]) -> str:
    """A call that rebuilds ``module``'s configuration (not its values); raises NotExpressible."""
    prefix = class_source_name(module)
    if prefix is None:
        raise NotExpressible(f"{type(module).__qualname__} is not a class of torch.nn")
    candidates = [f"{prefix}({module.extra_repr()})", _call_from_signature(module, prefix)]
    for source in dict.fromkeys(c for c in candidates if c is not None):
        if rebuilds(source, module, namespace):
            return source
    raise NotExpressible(f"no call of {prefix} rebuilds {module!r}")


def rebuilds(source: str, module: nn.Module, namespace: dict[str, Any], strict: bool = True) -> bool:
    """Whether evaluating ``source`` builds a module configured like ``module``.

    ``strict`` also compares ``repr`` and the plain attributes; code blocks are
    compared without it, since user classes may print or store anything.
    """
    try:
        built = build(source, namespace)
    except Exception:
        return False
    return describe(built, strict) == describe(module, strict, like=built)


def build(source: str, namespace: dict[str, Any]) -> Any:
    """Evaluate ``source`` on the meta device (no memory), else on the CPU with the RNG left alone."""
    try:
        with torch.device("meta"):
            return eval(source, namespace)  # noqa: S307 - source we generated from the project
    except Exception:
        with torch.random.fork_rng(devices=[]):
            return eval(source, namespace)  # noqa: S307


def describe(module: nn.Module, strict: bool = True, like: nn.Module | None = None) -> tuple:
    """Everything a constructor decides about a module tree, values of tensors excepted.

    With ``like`` (a module a constructor built), only the plain attributes ``like`` has are described:
    one a model set on its own afterwards (torchvision's ``fc.stddev``, read only by its init) is no
    setting a constructor makes, and computes nothing.
    """
    def tensors(table: dict) -> list:
        return [(k, None if v is None else (tuple(v.shape), v.dtype)) for k, v in table.items()]

    own = (type(module).__name__, tensors(module._parameters), tensors(module._buffers),
           sorted(module._non_persistent_buffers_set))
    if strict:
        own += (type(module), repr(module), plain_attributes(module, like))
    return own + ([(name, None if child is None else
                    describe(child, strict, None if like is None else like._modules.get(name)))
                   for name, child in module._modules.items()],)


def plain_attributes(module: nn.Module, like: nn.Module | None = None) -> dict[str, str]:
    """The public attributes holding literal values (``in_features``, ``eps``), by repr; with ``like``,
    only those ``like`` also has."""
    return {k: repr(v) for k, v in vars(module).items()
            if not k.startswith("_") and k != "training" and is_literal(v) and (like is None or k in vars(like))}


def is_literal(value: Any) -> bool:
    """Whether ``repr(value)`` is Python source for an equal value (numbers, strings, tuples...)."""
    if isinstance(value, (bool, int, str, type(None))):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (tuple, list)):
        return all(is_literal(v) for v in value)
    return False


def _call_from_signature(module: nn.Module, prefix: str) -> str | None:
    """``prefix(name=value, ...)`` from attributes named like the constructor's parameters."""
    try:
        params = list(inspect.signature(type(module).__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    parts = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("device", "dtype") or p.name.startswith("_"):
            continue
        required = p.default is p.empty
        if not hasattr(module, p.name):
            if required:
                return None
            continue
        value = getattr(module, p.name)
        if isinstance(p.default, bool) and (value is None or isinstance(value, torch.Tensor)):
            value = value is not None  # bias=True creates a tensor named bias, bias=False leaves None
        if not is_literal(value):
            if required:
                return None
            continue
        if not required and _same_value(value, p.default):
            continue
        parts.append(f"{p.name}={value!r}")
    return f"{prefix}({', '.join(parts)})"


def _same_value(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and ast.literal_eval(repr(a)) == b
    except (ValueError, SyntaxError):
        return False
