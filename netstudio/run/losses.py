"""The losses a run trains with (``netstudio train --loss`` and the Run panel's dataset training), each
checking its target once, on the first batch, in one sentence.

``mse`` is the in-app objective (:class:`netstudio.run.objectives.Objective`);
``cross_entropy`` takes class indices (integer ``y`` shaped like the output
without its class dimension, dim 1) or class probabilities (float ``y``
shaped like the output).  :func:`check_class_range` says which index is out
of range before torch would fail on it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from netstudio.errors import RunError
from netstudio.run.objectives import Objective

LOSSES = ("mse", "cross_entropy")
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_function(name: str) -> Loss:
    return _mse if name == "mse" else _cross_entropy


def check_target(name: str, output: object, target: torch.Tensor) -> None:
    """Raise :class:`RunError` when ``target`` cannot be compared with ``output`` under loss ``name``."""
    if not isinstance(output, torch.Tensor):
        raise RunError(f"The network's output is a {type(output).__name__}, not a single tensor.")
    if name == "mse":
        Objective("mse", target)(output)
        return
    if output.dim() < 2:
        raise RunError(f"cross_entropy needs an output of shape (batch, classes, ...), not {tuple(output.shape)}.")
    if target.is_floating_point():
        if target.shape != output.shape:
            raise RunError(f"Class probabilities 'y' of shape {tuple(target.shape)} do not match the output's "
                           f"{tuple(output.shape)}.")
        return
    if target.dtype in (torch.bool, torch.complex64, torch.complex128):
        raise RunError(f"cross_entropy needs integer class indices in 'y', not {target.dtype}.")
    expected = (output.shape[0],) + tuple(output.shape[2:])
    if tuple(target.shape) != expected:
        raise RunError(f"Class indices 'y' of shape {tuple(target.shape)} do not fit the output "
                       f"{tuple(output.shape)}; expected {expected}.")


def check_class_range(target: torch.Tensor, classes: int, samples: torch.Tensor | None = None) -> None:
    """Raise :class:`RunError` when integer class indices ``target`` (of the data's ``samples``, by
    default 0, 1, ...) hold one outside ``0 .. classes - 1``; float targets (probabilities) pass."""
    if target.is_floating_point() or target.numel() == 0:
        return
    bad = (target < 0) | (target >= classes)
    if bool(bad.any()):
        where = int(bad.reshape(len(target), -1).any(dim=1).nonzero()[0, 0]) if target.dim() else 0
        value = int(target[where].reshape(-1)[bad[where].reshape(-1)][0]) if target.dim() else int(target)
        sample = int(samples[where]) if samples is not None else where
        raise RunError(f"Class index {value} of sample {sample} in 'y' is out of range: the network "
                       f"has {classes} classes (0 to {classes - 1}).")


def _mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(output, target.to(output.dtype))


def _cross_entropy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(output, target if target.is_floating_point() else target.long())
