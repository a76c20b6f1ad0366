"""What an initializer would draw, without changing anything: a scratch tensor of the
target's shape from a fixed generator, and the numbers the preview shows about it."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.nn.parameter import UninitializedParameter

from netstudio.init import SCHEMES, ResolvedParam

PREVIEW_SEED = 0


def preview_values(scheme_name: str, args: dict, target: ResolvedParam, seed: int = PREVIEW_SEED) -> torch.Tensor:
    """What ``scheme_name`` would draw for ``target``: a scratch tensor of its shape, on the CPU."""
    scheme = SCHEMES[scheme_name]
    values = scheme.validate(args)
    generator = torch.Generator().manual_seed(seed)
    tensor = target.tensor
    if scheme.needs_module:  # reset_parameters on a scratch copy of the owning module
        owner = copy.deepcopy(target.module).to("cpu")
        scratch = owner._parameters[target.leaf]
        scheme.apply(scratch, generator, owner=owner, name=f"'{target.name}'", **values)
        return scratch.detach().clone()
    dtype = tensor.dtype if tensor.dtype.is_floating_point else torch.float32
    scratch = torch.empty(tuple(tensor.shape), dtype=dtype)
    scheme.apply(scratch, generator, name=f"'{target.name}'", **values)
    return scratch


def histogram(*tensors: torch.Tensor, bins: int = 40) -> tuple[np.ndarray, list[np.ndarray]]:
    """Shared bin edges and one count array per tensor (finite values only)."""
    arrays = [t.detach().to("cpu", torch.float64).reshape(-1).numpy() for t in tensors]
    arrays = [a[np.isfinite(a)] for a in arrays]
    joined = np.concatenate(arrays) if arrays else np.zeros(0)
    lo, hi = (float(joined.min()), float(joined.max())) if joined.size else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return edges, [np.histogram(a, bins=edges)[0] for a in arrays]


def describe(t: torch.Tensor) -> str:
    """min, max, mean, std and zeros in one line."""
    x = t.detach().to("cpu", torch.float64).reshape(-1)
    if x.numel() == 0:
        return "empty"
    zeros = int((x == 0).sum())
    return (f"min {x.min().item():.4g} · max {x.max().item():.4g} · mean {x.mean().item():.4g} · "
            f"std {x.std(unbiased=False).item():.4g} · zeros {zeros}/{x.numel()}")


def shape_text(t: torch.Tensor) -> str:
    """``(8, 4)``, or "not created yet" for a deferred parameter."""
    if isinstance(t, UninitializedParameter):
        return "not created yet"
    return str(tuple(t.shape))
