"""Tiny modules for tensor operations that torch.nn has no module for.

A Sequential needs a module at every position, so ``AddScalar`` and friends
exist for that case; inside graph blocks the same operations compile to plain
function calls instead.  The classes import only torch, so the exporter can
copy their source into a plain-PyTorch ``model.py``.
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


OP_MODULES = (AddScalar, MulScalar, Sum, Mean)
__all__ = ["AddScalar", "MulScalar", "Sum", "Mean", "OP_MODULES", "torch"]
