"""A reference to one tensor the user picked: in the live network, or in a checkpoint file.

The parameter tree and the checkpoint inspector emit these through
``DocumentController.tensor_selected``; the heatmap shows whatever is picked,
re-reading the value on demand so live training updates show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class TensorRef:
    name: str                                            # dotted state_dict name
    source: str                                          # "network", or the checkpoint's file name
    value: Callable[[], torch.Tensor | None]             # the current value (None if gone or deferred)
    grad: Callable[[], torch.Tensor | None] | None = None  # its .grad, for network parameters

    @property
    def live(self) -> bool:
        return self.source == "network"
