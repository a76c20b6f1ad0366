"""Tensors written as Python source (``torch.tensor([...]).reshape(20, 20)``) that rebuild them exactly.

float32 values are written in their shortest form that reads back to the
same float32 (``0.4962566``), other floats as Python's exact ``repr``;
every literal is evaluated once more and compared bit for bit, and falls back
to the longer exact form when the short one does not round-trip.
"""

from __future__ import annotations

import math

import numpy as np
import torch

#: Constants up to this many elements are written into model.py; larger ones go to a side file.
MAX_LITERAL_ELEMENTS = 4096

_PER_LINE = 100  # characters of numbers per line


def dtype_source(dtype: torch.dtype) -> str:
    return "torch." + str(dtype).removeprefix("torch.")


def can_be_literal(tensor: torch.Tensor) -> bool:
    """Small enough for model.py (whether it round-trips is checked by ``tensor_literal``)."""
    return tensor.numel() <= MAX_LITERAL_ELEMENTS and not tensor.dtype.is_complex


def tensor_literal(tensor: torch.Tensor, indent: str = "") -> str:
    """Source text that evaluates (with ``torch`` and ``math`` in scope) to a tensor equal to ``tensor``."""
    t = tensor.detach().cpu()
    for short in (True, False):
        text = _render(t, indent, short)
        if _round_trips(text, t):
            return text
    raise ValueError(f"a {t.dtype} tensor cannot be written as a literal")


def _render(t: torch.Tensor, indent: str, short: bool) -> str:
    dtype = dtype_source(t.dtype)
    if t.numel() == 0:
        return f"torch.zeros({tuple(t.shape)!r}, dtype={dtype})"
    values = [_number(v, t.dtype, short) for v in t.reshape(-1).tolist()]
    if t.dim() == 0:
        return f"torch.tensor({values[0]}, dtype={dtype})"
    lines, line = [], ""
    for v in values:
        if line and len(line) + len(v) + 2 > _PER_LINE:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {v}" if line else v
    lines.append(line)
    reshape = "" if t.dim() == 1 else f".reshape({', '.join(str(s) for s in t.shape)})"
    if len(lines) == 1:
        return f"torch.tensor([{lines[0]}], dtype={dtype}){reshape}"
    inner = "\n".join(f"{indent}    {ln}" for ln in lines)
    return f"torch.tensor([\n{inner}\n{indent}], dtype={dtype}){reshape}"


def _number(v, dtype: torch.dtype, short: bool) -> str:
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "math.nan"
    if math.isinf(v):
        return "math.inf" if v > 0 else "-math.inf"
    if short and dtype == torch.float32:
        return str(np.float32(v))
    return repr(float(v))


def _round_trips(text: str, t: torch.Tensor) -> bool:
    try:
        back = eval(text, {"torch": torch, "math": math})  # noqa: S307 - text we generated
    except Exception:
        return False
    if back.dtype != t.dtype or back.shape != t.shape:
        return False
    if t.dtype.is_floating_point:
        same_nan = torch.isnan(back) == torch.isnan(t)
        return bool(same_nan.all()) and torch.equal(back.nan_to_num(0.0), t.nan_to_num(0.0)) and \
            torch.equal(torch.signbit(back), torch.signbit(t))
    return torch.equal(back, t)
