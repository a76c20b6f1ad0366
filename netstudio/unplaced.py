"""Stored tensors that do not fit the network: never dropped without the user's word.

A project file can carry tensors the graph no longer has (a layer removed in
another tool) or has at another shape.  Importing them with ``strict=False``
used to throw them away, and the next save destroyed them.  Now each one is
kept with the reason it did not fit, shown in the Problems list, written back
by every save (``unplaced.safetensors`` in the archive), and placed into the
network as soon as a tensor of that name and shape exists again.  Only the
user's Discard removes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from .catalog import format_shape
from .files.weights_import import ImportReport
from .graph.names import display_name


@dataclass(frozen=True)
class UnplacedTensor:
    tensor: torch.Tensor
    reason: str     # a sentence fragment: "the network has no tensor of that name"

    def describe(self, name: str) -> str:
        return (f"the stored tensor {display_name(name)!r} {format_shape(self.tensor.shape)} does not fit: "
                f"{self.reason}; it stays in the file until you discard it")


def unplaced_after_import(report: ImportReport, state: Mapping[str, torch.Tensor]) -> dict[str, UnplacedTensor]:
    """The tensors of ``state`` that an import left out, with why."""
    out = {name: UnplacedTensor(state[name], "the network has no tensor of that name")
           for name in report.unexpected if name in state}
    for m in report.mismatched:
        if m.name in state:
            out[m.name] = UnplacedTensor(state[m.name], f"the network's is {format_shape(m.expected)}")
    return out


def place(module: nn.Module, unplaced: Mapping[str, UnplacedTensor], tensors: Mapping[str, torch.Tensor],
          fresh: set[str]) -> dict[str, UnplacedTensor]:
    """Copy into ``module`` each unplaced tensor whose name now exists at its shape and dtype, where the
    network holds no value of its own yet (``fresh``: names that kept nothing from before).
    Returns those still unplaced, with reasons brought up to date."""
    remaining: dict[str, UnplacedTensor] = {}
    with torch.no_grad():
        for name, item in unplaced.items():
            target = tensors.get(name)
            if target is None:
                remaining[name] = UnplacedTensor(item.tensor, "the network has no tensor of that name")
            elif is_lazy(target) or target.shape != item.tensor.shape:
                shape = "not sized yet" if is_lazy(target) else format_shape(target.shape)
                remaining[name] = UnplacedTensor(item.tensor, f"the network's is {shape}")
            elif name in fresh:
                target.copy_(item.tensor.to(dtype=target.dtype, device=target.device))
            else:
                remaining[name] = item
    return remaining
