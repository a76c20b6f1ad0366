"""The module class a compiled graph block becomes: an fx GraphModule that prints
like a hand-written module (``MLP(\n  (hidden): Linear(...)\n)``)."""

from __future__ import annotations

from torch import nn
from torch.fx import GraphModule


class BlockModule(GraphModule):
    """A graph block whose forward is generated Python code (see ``.code``)."""

    def recompile(self):
        """As GraphModule's, but calls go straight to ``nn.Module.__call__``: fx's wrapper prints the
        generated code to stderr when a forward raises, and NetStudio reports errors in one sentence."""
        result = super().recompile()
        type(self).__call__ = nn.Module.__call__
        return result

    def __str__(self) -> str:
        return nn.Module.__repr__(self)

    __repr__ = __str__
