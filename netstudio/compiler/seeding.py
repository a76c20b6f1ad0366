"""Reproducible weights: the project seed decides every initial value.

Eager modules are built under a seeded RNG.  Lazy modules materialise at their
first forward, when the global RNG could be anywhere; a pre-hook that runs right
after torch's own materialising hook re-initialises them from a seed derived
from the project seed and the node's place, so the first output already uses
the reproducible weights.
"""

from __future__ import annotations

import zlib

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import is_lazy


def derived_seed(project_seed: int | None, *parts: str) -> int:
    return zlib.crc32("/".join((str(project_seed), *parts)).encode())


def seed_on_materialize(module: nn.Module, seed: int) -> None:
    """Re-run ``reset_parameters`` under ``seed`` once the lazy ``module`` has its shapes."""
    if not isinstance(module, LazyModuleMixin):
        return

    def reseed(mod: nn.Module, args) -> None:
        if any(is_lazy(p) for p in mod.parameters(recurse=False)):
            return
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            mod.reset_parameters()
        handle.remove()

    handle = module.register_forward_pre_hook(reseed)
