"""A short training run on a synthetic task or a dataset file, with live progress and cancellation.

A task (:class:`~netstudio.run.synthetic.SyntheticTask`,
:class:`~netstudio.run.dataset.DatasetTask`) says which samples each step
uses, draws them, and computes the loss; the batch is moved to the network's
device, floating-point inputs in its dtype.  The run never leaves the model
half-updated: a step whose loss or gradients are not finite is not applied,
and the model's train/eval mode is restored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from netstudio.errors import RunError
from netstudio.run.cancel import CancelToken
from netstudio.run.dataset import as_input, float_dtype
from netstudio.run.objectives import forward

OptimizerName = Literal["sgd", "adam"]
Progress = Callable[[int, float], None]


class Task(Protocol):
    def __len__(self) -> int: ...

    def indices(self, step: int, batch_size: int, generator: torch.Generator) -> torch.Tensor: ...

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def loss(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...


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
    task: Task,
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
    device, dtype = _device_of(model), float_dtype(model)
    n = len(task)
    g = torch.Generator().manual_seed(seed)

    def drawn(indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = task.batch(indices)
        return as_input(x, dtype).to(device), y.to(device)

    losses: list[float] = []
    was_training = model.training
    try:
        if any(isinstance(p, UninitializedParameter) for p in model.parameters()):
            # Lazy layers infer their sizes before the optimizer sees them; eval mode leaves statistics alone.
            model.eval()
            with torch.no_grad():
                forward(model, drawn(torch.arange(min(batch_size, n)))[0])
        params = list(model.parameters())
        opt = _make_optimizer(optimizer, params, lr)
        model.train()
        for step in range(1, steps + 1):
            if cancel is not None and cancel.cancelled:
                return TrainResult(tuple(losses), step - 1, True)
            x, y = drawn(task.indices(step, batch_size, g))
            opt.zero_grad(set_to_none=True)
            loss = task.loss(forward(model, x), y)
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
