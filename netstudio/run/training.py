"""A short training run on a synthetic task, with live progress and cancellation.

The run never leaves the model half-updated: a step whose loss or gradients
are not finite is not applied, and the model's train/eval mode is restored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from netstudio.errors import RunError
from netstudio.run.cancel import CancelToken
from netstudio.run.objectives import forward
from netstudio.run.synthetic import SyntheticTask

OptimizerName = Literal["sgd", "adam"]
Progress = Callable[[int, float], None]


@dataclass(frozen=True)
class TrainResult:
    """The loss of every completed step; ``error`` says why a run stopped early, if it did."""

    losses: tuple[float, ...]
    steps_done: int
    cancelled: bool
    error: str | None = None


def _check(optimizer: str, lr: float, steps: int, batch_size: int) -> None:
    if optimizer not in ("sgd", "adam"):
        raise RunError(f"Unknown optimizer '{optimizer}'; use sgd or adam.")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise RunError(f"The learning rate must be a positive number, not {lr!r}.")
    for name, value in (("number of steps", steps), ("batch size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RunError(f"The {name} must be a whole number of at least 1, not {value!r}.")


def _make_optimizer(name: OptimizerName, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr) if name == "sgd" else torch.optim.Adam(params, lr=lr)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _not_finite(loss: torch.Tensor, params: list[nn.Parameter]) -> str | None:
    if not torch.isfinite(loss):
        return "the loss"
    if any(p.grad is not None and not torch.isfinite(p.grad).all() for p in params):
        return "a gradient"
    return None


def train(
    model: nn.Module,
    task: SyntheticTask,
    optimizer: OptimizerName = "sgd",
    lr: float = 0.01,
    steps: int = 100,
    batch_size: int = 32,
    seed: int = 0,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
) -> TrainResult:
    """Run up to ``steps`` optimizer steps on random mini-batches (``seed`` fixes their order).

    ``progress(step, loss)`` is called after each step (1-based) from the
    training thread; ``cancel`` may be set from any thread and stops the run
    before the next step.
    """
    _check(optimizer, lr, steps, batch_size)
    if not any(True for _ in model.parameters()):
        raise RunError("The network has no parameters to train.")
    device = _device_of(model)
    features, targets = task.features.to(device), task.targets.to(device)
    n = len(features)
    g = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    was_training = model.training
    try:
        if any(isinstance(p, UninitializedParameter) for p in model.parameters()):
            # Lazy layers infer their sizes before the optimizer sees them; eval mode leaves statistics alone.
            model.eval()
            with torch.no_grad():
                forward(model, features[: min(batch_size, n)])
        params = list(model.parameters())
        opt = _make_optimizer(optimizer, params, lr)
        model.train()
        for step in range(1, steps + 1):
            if cancel is not None and cancel.cancelled:
                return TrainResult(tuple(losses), step - 1, True)
            batch = torch.randperm(n, generator=g)[: min(batch_size, n)].to(device)
            opt.zero_grad(set_to_none=True)
            loss = task.loss(forward(model, features[batch]), targets[batch])
            if torch.isfinite(loss):
                loss.backward()
            bad = _not_finite(loss, params)
            if bad is not None:
                opt.zero_grad(set_to_none=True)
                return TrainResult(
                    tuple(losses),
                    step - 1,
                    False,
                    f"Training stopped at step {step} because {bad} became infinite or NaN; "
                    "try a smaller learning rate.",
                )
            opt.step()
            losses.append(loss.item())
            if progress is not None:
                progress(step, losses[-1])
        return TrainResult(tuple(losses), steps, False)
    finally:
        model.train(was_training)
