"""The module class a compiled graph block becomes: an fx GraphModule that prints
like a hand-written module (``MLP(\n  (hidden): Linear(...)\n)``)."""

from __future__ import annotations

from torch import nn
from torch.fx import GraphModule


class BlockModule(GraphModule):
    """A graph block whose forward is generated Python code (see ``.code``)."""

    def __str__(self) -> str:
        return nn.Module.__repr__(self)

    __repr__ = __str__
