"""How tensor views write numbers: exact enough to tell weights apart, short enough to read.

The heatmap's hover readout and its statistics pane say numbers the same way,
through these two functions.
"""

from __future__ import annotations

import numpy as np
import torch


def number(value: float | None) -> str:
    """Short but exact enough to tell weights apart: 6 significant digits ("—" for no value)."""
    if value is None:
        return "—"
    return f"{value:.6g}"


def format_value(value: torch.Tensor) -> str:
    """The exact value of a 0-d tensor, as briefly as it round-trips in its own dtype."""
    dtype = value.dtype
    if dtype == torch.float32 or dtype == torch.bfloat16:
        return str(np.float32(value.float().item()))
    if dtype == torch.float16:
        return str(np.float16(value.item()))
    if dtype == torch.float64:
        return repr(value.item())
    if dtype.is_floating_point:  # float8 and friends
        return str(np.float32(value.float().item()))
    return str(value.item())
