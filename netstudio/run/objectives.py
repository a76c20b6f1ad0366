"""Forward pass, objectives and backward pass, with one-sentence errors.

``forward`` records which module was running when an exception escaped, so a
shape error reads "Forward pass failed in '2': ..." rather than a traceback.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from netstudio.devices import explain_device_error
from netstudio.errors import DeviceError, NetStudioError, RunError

Inputs = torch.Tensor | tuple[torch.Tensor, ...]
ObjectiveKind = Literal["sum", "mean", "mse"]


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, without its closing punctuation."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".!")


def forward(model: nn.Module, x: Inputs) -> torch.Tensor:
    """``model(x)`` (``model(*x)`` for a tuple); failures become DeviceError or RunError."""
    running: list[str] = []
    caller = threading.get_ident()  # another thread may run the same model at the same time

    def enter(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            if threading.get_ident() == caller:
                running.append(name)

        return hook

    def leave(module: nn.Module, args: tuple, output: object) -> None:
        if threading.get_ident() == caller and running:
            running.pop()

    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(enter(name)))
        handles.append(module.register_forward_hook(leave))
    try:
        return model(*x) if isinstance(x, tuple) else model(x)
    except NetStudioError:
        raise
    except Exception as exc:
        explanation = explain_device_error(exc, model, x)
        if explanation is not None:
            raise DeviceError(explanation) from exc
        where = f" in '{running[-1]}'" if running and running[-1] else ""
        raise RunError(f"Forward pass failed{where}: {first_line(exc)}.") from exc
    finally:
        for handle in handles:
            handle.remove()


@dataclass(frozen=True)
class Objective:
    """A scalar loss of the network's output: its ``sum``, ``mean``, or ``mse`` against ``target``."""

    kind: ObjectiveKind
    target: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("sum", "mean", "mse"):
            raise RunError(f"Unknown objective '{self.kind}'; use sum, mean or mse.")
        if (self.kind == "mse") != (self.target is not None):
            raise RunError("The mse objective needs a target, and only it does.")

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise RunError(f"The network's output is a {type(output).__name__}, not a single tensor.")
        if self.kind == "sum":
            return output.sum()
        if self.kind == "mean":
            return output.mean()
        if self.target.shape != output.shape:
            raise RunError(
                f"The target has shape {tuple(self.target.shape)} but the output has shape {tuple(output.shape)}."
            )
        target = self.target.to(device=output.device, dtype=output.dtype)
        return torch.nn.functional.mse_loss(output, target)


def backward(model: nn.Module, loss: torch.Tensor) -> dict[str, torch.Tensor]:
    """Fresh gradients of ``loss``: clears old ``.grad``, back-propagates, returns copies.

    A tied parameter appears once, under its first name, with the summed gradient.
    """
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise RunError("The loss must be a single number to back-propagate from.")
    model.zero_grad(set_to_none=True)
    try:
        loss.backward()
    except RuntimeError as exc:
        raise RunError(f"Backward pass failed: {first_line(exc)}.") from exc
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
