"""Tiny modules for tensor operations that torch.nn has no module for.

A Sequential needs a module at every position, so ``AddScalar`` and friends
exist for that case; inside graph blocks the same operations compile to plain
function calls instead.  The classes use only torch (a FunctionModule's
arguments may name ``operator`` functions), so the exporter can copy their
source into a plain-PyTorch ``model.py``.
"""

import torch
from torch import nn


class AddScalar(nn.Module):
    """x + value."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x):
        return x + self.value

    def extra_repr(self):
        return f"value={self.value}"


class MulScalar(nn.Module):
    """x * value."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x):
        return x * self.value

    def extra_repr(self):
        return f"value={self.value}"


class Sum(nn.Module):
    """Sum over ``dim`` (all elements when dim is None)."""

    def __init__(self, dim=None, keepdim: bool = False):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        return x.sum() if self.dim is None else x.sum(dim=self.dim, keepdim=self.keepdim)

    def extra_repr(self):
        return f"dim={self.dim}, keepdim={self.keepdim}"


class Mean(nn.Module):
    """Mean over ``dim`` (all elements when dim is None)."""

    def __init__(self, dim=None, keepdim: bool = False):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        return x.mean() if self.dim is None else x.mean(dim=self.dim, keepdim=self.keepdim)

    def extra_repr(self):
        return f"dim={self.dim}, keepdim={self.keepdim}"


class FunctionModule(nn.Module):
    """One function call with the input at the marked places:
    ``FunctionModule(torch.Tensor.view, (FunctionModule.Input(), 2, -1))`` computes ``x.view(2, -1)``."""

    class Input:
        """Where the module's input goes among the arguments (``attribute``: its ``.device``, say)."""

        def __init__(self, attribute=None):
            self.attribute = attribute

        def __eq__(self, other):
            return type(other) is type(self) and other.attribute == self.attribute

        def __hash__(self):
            return hash(("FunctionModule.Input", self.attribute))

        def __repr__(self):
            return "FunctionModule.Input()" if self.attribute is None else \
                f"FunctionModule.Input({self.attribute!r})"

    def __init__(self, fn, args=(), kwargs=None):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, tuple(args), dict(kwargs or {})

    def forward(self, x):
        def fill(value):
            if isinstance(value, FunctionModule.Input):
                return x if value.attribute is None else getattr(x, value.attribute)
            if isinstance(value, (tuple, list)):
                return type(value)(fill(v) for v in value)
            if isinstance(value, slice):
                return slice(fill(value.start), fill(value.stop), fill(value.step))
            return value
        return self.fn(*fill(self.args), **{k: fill(v) for k, v in self.kwargs.items()})

    def extra_repr(self):
        def source(value):
            if isinstance(value, float) and value != value:
                return "float('nan')"
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                return f"float('{value}')"
            if isinstance(value, tuple):
                inner = ", ".join(source(v) for v in value)
                return f"({inner},)" if len(value) == 1 else f"({inner})"
            if isinstance(value, list):
                return "[" + ", ".join(source(v) for v in value) + "]"
            if isinstance(value, dict):
                return "{" + ", ".join(f"{k!r}: {source(v)}" for k, v in value.items()) + "}"
            if isinstance(value, slice):
                return f"slice({source(value.start)}, {source(value.stop)}, {source(value.step)})"
            return repr(value)   # numbers, None, text, Ellipsis, torch.float32, FunctionModule.Input()

        name = getattr(self.fn, "__name__", "")
        fn = next((f"{prefix}.{name}" for prefix, space in (
            ("torch.Tensor", torch.Tensor), ("torch.nn.functional", torch.nn.functional), ("torch", torch))
            if name and getattr(space, name, None) is self.fn), repr(self.fn))
        if getattr(self.fn, "__module__", None) == "_operator":   # operator.add and friends
            fn = f"operator.{name}"
        return f"{fn}, {source(self.args)}, {source(self.kwargs)}"


OP_MODULES = (AddScalar, MulScalar, Sum, Mean, FunctionModule)
__all__ = ["AddScalar", "MulScalar", "Sum", "Mean", "FunctionModule", "OP_MODULES", "torch"]
