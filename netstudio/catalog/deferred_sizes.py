"""Which hyperparameter of a deferred (lazy) layer is sized by which dimension of its input.

A ``Linear`` whose ``in_features`` is left empty becomes ``nn.LazyLinear``: its
first forward reads ``in_features`` from the input's last dimension.  The same
rule tells the editor what number to fill in when "auto" is unticked, and lets
two deferred layers be compared (they may share parameters only if their
inputs give them the same size).

    size_from_input("Linear", "in_features", (TensorSpec((2, 20)),))   # -> 20
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .tensor_spec import TensorSpec

# (block type, hyperparameter) -> the dimension of the first input that sizes it.
SIZED_FROM: dict[tuple[str, str], int] = {
    ("Linear", "in_features"): -1,      # (..., features)
    ("Conv2d", "in_channels"): -3,      # (C, H, W) or (N, C, H, W)
    ("BatchNorm1d", "num_features"): 1,  # (N, C) or (N, C, L)
    ("BatchNorm2d", "num_features"): 1,  # (N, C, H, W)
}

# Hyperparameters that may be left to the input, by name (whatever the block type).
INPUT_SIZED: tuple[str, ...] = tuple(dict.fromkeys(key for _, key in SIZED_FROM))


def sized_keys(block_type: str) -> tuple[str, ...]:
    """The hyperparameters of ``block_type`` that its input can size (empty for most blocks)."""
    return tuple(key for (t, key) in SIZED_FROM if t == block_type)


def size_from_input(block_type: str, key: str, inputs: Sequence[TensorSpec]) -> int | None:
    """The value ``key`` takes from the input, or None when the rule or the input is unknown."""
    dim = SIZED_FROM.get((block_type, key))
    if dim is None or not inputs or inputs[0] is None:
        return None
    shape = inputs[0].shape
    if not -len(shape) <= dim < len(shape):
        return None
    return int(shape[dim])


def effective_sizes(block_type: str, params: Mapping[str, Any],
                    inputs: Sequence[TensorSpec] | None) -> dict[str, int | None]:
    """Each input-sized hyperparameter as the module will have it: the value set, else the input's."""
    out: dict[str, int | None] = {}
    for key in sized_keys(block_type):
        value = params.get(key)
        out[key] = value if value is not None else size_from_input(block_type, key, inputs or ())
    return out
