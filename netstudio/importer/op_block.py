"""What one traced call becomes: a block, its hyperparameters, and what feeds each input port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .values import Port


@dataclass
class OpBlock:
    """A block for one call: its type, hyperparameters, and the value feeding each input port, which
    may be another block's output (a call that takes more than one block: a Concat of many tensors)."""

    type: str
    params: dict[str, Any]
    inputs: list[tuple[str, Port | OpBlock]] = field(default_factory=list)
    outputs: dict[tuple[int, ...], str] = field(default_factory=lambda: {(): "out"})
