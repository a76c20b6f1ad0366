"""How tensor views write numbers: exact enough to tell weights apart, short enough to read.

The heatmap's hover readout and its statistics pane say numbers the same way,
through ``number`` and ``format_value``; the Run panel shows outputs with
``tensor_text`` and ``output_summary``.
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
    if value.is_quantized:
        value = value.dequantize()   # what a quantized value stands for, a float32
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


def tensor_text(t: torch.Tensor) -> str:
    """A tensor's values as numpy prints them: 4 decimals, long ones shortened with ``...``."""
    values = t.detach().to("cpu")
    if values.is_floating_point():
        values = values.float()
    return np.array2string(values.numpy(), precision=4, suppress_small=True, threshold=400, edgeitems=4,
                           max_line_width=100)


def output_summary(t: torch.Tensor) -> str:
    """``Output: shape (2, 1) · float32 · cpu``."""
    dtype = str(t.dtype).removeprefix("torch.")
    return f"Output: shape {tuple(t.shape)} · {dtype} · {t.device}"
