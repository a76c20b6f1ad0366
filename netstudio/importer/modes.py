"""Eval mode for a while, and afterwards every module's own mode back (``train(mode)`` would set them all alike).

The import traces and checks a model in eval mode, but the model is the user's:
a submodule they froze in eval mode inside a training model stays so.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    modes = [(m, m.training) for module in modules for m in module.modules()]
    for module in modules:
        module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training
