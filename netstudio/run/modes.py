"""Train and eval mode for one run, put back afterwards.

Forward and Backward run in eval mode by default, as people inspect a trained
network: Dropout is off and BatchNorm uses its running statistics, so two
Forwards agree and nothing in the network changes.  Training runs in train
mode.  Each module's own flag is restored, not just the root's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from torch import nn

RunMode = Literal["eval", "train"]
MODES: tuple[RunMode, ...] = ("eval", "train")


@contextmanager
def running_in(module: nn.Module, mode: RunMode) -> Iterator[None]:
    """``module.train()`` or ``module.eval()`` for the block, each submodule's flag restored after."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'eval' or 'train', not {mode!r}")
    saved = [(m, m.training) for m in module.modules()]
    module.train(mode == "train")
    try:
        yield
    finally:
        for m, flag in saved:
            m.training = flag


def changes_state_in_train_mode(module: nn.Module) -> bool:
    """Whether a forward in train mode updates buffers (BatchNorm's running statistics)."""
    return any(getattr(m, "track_running_stats", False) and getattr(m, "running_mean", None) is not None
               for m in module.modules())
